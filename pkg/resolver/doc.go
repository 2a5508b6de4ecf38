// Package resolver follows the DNS names of servers at run time, as
// haproxy 2.6's `resolvers` sections do (configuration manual section
// 5.3): each name is asked again every `timeout resolve`; the addresses
// of the answer go to the servers of the name (one address per server of
// a backend unless `resolve-opts allow-dup-ip`); a server whose name no
// longer gives it an address goes into maintenance ("MAINT (resolution)")
// and comes back when one does. The log lines are haproxy's.
//
// Queries and answers are built and read with github.com/miekg/dns.
package resolver
