// Package sticktable is haproxy 2.6's stick tables (configuration manual
// section 3.5 "stick-table" and 7.3.3 "Fetching samples at Layer 4"): a
// table of keys (client addresses, integers, strings, binary blobs), each
// with the counters the `store` line asks for, their expiry, and the
// frequency counters behind the *_rate data (haproxy's freq_ctr: a
// sliding window over one period, the previous period weighted by the
// part of it still inside the window).
//
// The proxy engine tracks entries per connection and per stream
// (track-sc0..2, Counters), updates them as haproxy does (connections,
// sessions, HTTP requests and errors, bytes), and the sample fetches and
// converters registered here (sc_*, sc0_*, src_*, table_*, in_table) read
// them. Time comes from an injected clock, so expiry and rates are tested
// without sleeping.
package sticktable
