package haproxycfg

import (
	"net/netip"
	"time"
)

// Resolvers is a `resolvers NAME` section (configuration manual section
// 5.3.2): the name servers a server with `resolvers NAME` asks at run
// time, and how long answers and failures are trusted.
type Resolvers struct {
	Name        string
	Nameservers []Nameserver
	// ParseResolvConf is `parse-resolv-conf`: the nameserver lines of
	// /etc/resolv.conf, read at start, come after Nameservers.
	ParseResolvConf bool
	// AcceptedPayloadSize is `accepted_payload_size` (512 by default; 12 to 65535):
	// the EDNS0 UDP size announced, and the largest answer read.
	AcceptedPayloadSize int
	// Hold are the `hold` periods: how long a failure (NX, Refused,
	// Timeout, Other) keeps a server on its last address, how long a
	// valid answer is reused (Valid), how long an address missing from
	// the answers stays usable (Obsolete).
	HoldNX, HoldRefused, HoldTimeout, HoldOther, HoldValid, HoldObsolete time.Duration
	// ResolveRetries is `resolve_retries` (3): queries sent before a
	// resolution fails with a timeout.
	ResolveRetries int
	// TimeoutResolve is `timeout resolve` (1s): the time between two
	// resolutions of a name; TimeoutRetry is `timeout retry` (1s): the
	// time before a query is sent again.
	TimeoutResolve, TimeoutRetry time.Duration
	Pos                          Pos
}

// Nameserver is a `nameserver NAME ADDR[:PORT]` line (UDP; port 53 by
// default).
type Nameserver struct {
	Name string
	Addr netip.AddrPort
	Pos  Pos
}

// ServerDNS is a server's run-time resolution (section 5.2, "resolvers",
// "resolve-prefer", "resolve-opts").
type ServerDNS struct {
	// Hostname is the name on the server line ("" for an IP address or
	// a socket): what `resolvers` resolves, and the state file's fqdn.
	Hostname string
	// Resolvers names the resolvers section; "" = resolved once at start.
	Resolvers string
	// PreferIPv4 is `resolve-prefer ipv4` (haproxy prefers IPv6).
	PreferIPv4 bool
	// AllowDupIP is `resolve-opts allow-dup-ip`: several servers of the
	// backend may take the same address.
	AllowDupIP bool
	// IgnoreWeight is `resolve-opts ignore-weight`: the weights of SRV
	// records leave the server's weight alone.
	IgnoreWeight bool
}

// Resolver returns the resolvers section of that name, or nil.
func (c *Config) Resolver(name string) *Resolvers {
	for _, r := range c.Resolvers {
		if r.Name == name {
			return r
		}
	}
	return nil
}
