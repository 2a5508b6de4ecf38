// Package bgpproc runs the BGP speaker of gkeepalived's bgp block in a
// process of its own (gkeepalived-bgp) and drives it over a socketpair.
// It links no BGP code: GoBGP (pkg/bgp) lives only in the speaker binary,
// so that gkeepalived costs users without a bgp block nothing.
//
// The protocol is versioned and line-based: one JSON object a line each
// way, a request from gkeepalived answered by one response from the
// speaker with the same id, nothing unsolicited (the speaker logs to its
// stderr, which gkeepalived relays into its own log).
//
//	-> {"v":1,"id":1,"op":"configure","config":{...}}   start the sessions, announce nothing
//	<- {"v":1,"id":1}
//	-> {"v":1,"id":2,"op":"announce"}                      (or "withdraw")
//	<- {"v":1,"id":2,"status":{"announced":true,...}}
//	-> {"v":1,"id":3,"op":"status"}
//	<- {"v":1,"id":3,"status":{"announced":true,"neighbors":[...]}}
//	-> {"v":1,"id":4,"op":"stop"}                          withdraw, Cease, exit
//	<- {"v":1,"id":4}
//
// A failed request is answered with "error". A request of another version
// is refused (an error response) so that a mismatched pair of binaries
// says so instead of misbehaving. The speaker withdraws and exits when its
// parent goes away: end of file on the socket, or SIGTERM
// (PR_SET_PDEATHSIG).
package bgpproc

import (
	"net/netip"
	"time"
)

// Version is the protocol version this package speaks.
const Version = 1

// Operations.
const (
	OpConfigure = "configure"
	OpAnnounce  = "announce"
	OpWithdraw  = "withdraw"
	OpStatus    = "status"
	OpStop      = "stop"
)

// Neighbor is one BGP peer (a router).
type Neighbor struct {
	Address  netip.Addr `json:"address"`
	RemoteAS uint32     `json:"remote_as"`
	// HoldTime and Keepalive are the BGP timers proposed in OPEN (RFC 4271,
	// Section 4.2); the session uses the smaller hold time of the two sides.
	HoldTime     time.Duration `json:"hold_time"`
	Keepalive    time.Duration `json:"keepalive"`
	ConnectRetry time.Duration `json:"connect_retry"`
}

// Config is what the speaker announces and to whom.
type Config struct {
	RouterID netip.Addr `json:"router_id"`
	LocalAS  uint32     `json:"local_as"`
	// ListenPort is the TCP port for neighbors' connections; 0: do not
	// listen (the speaker connects to its neighbors itself).
	ListenPort int            `json:"listen_port,omitempty"`
	Neighbors  []Neighbor     `json:"neighbors"`
	Prefixes   []netip.Prefix `json:"prefixes"`
	// NextHop of the announced routes; unset: the session's local
	// address.
	NextHop netip.Addr `json:"next_hop,omitzero"`
}

// NeighborStatus is a session's state as the speaker sees it.
type NeighborStatus struct {
	Address netip.Addr `json:"address"`
	State   string     `json:"state"` // Idle, Connect, Active, OpenSent, OpenConfirm, Established
}

// Status is the speaker's state.
type Status struct {
	Announced bool             `json:"announced"`
	Neighbors []NeighborStatus `json:"neighbors,omitempty"`
}

// Request is one line from gkeepalived to the speaker.
type Request struct {
	V      int     `json:"v"`
	ID     uint64  `json:"id"`
	Op     string  `json:"op"`
	Config *Config `json:"config,omitempty"`
}

// Response is the speaker's answer to the request with the same ID.
type Response struct {
	V      int     `json:"v"`
	ID     uint64  `json:"id"`
	Error  string  `json:"error,omitempty"`
	Status *Status `json:"status,omitempty"`
}

// maxLine bounds a protocol line (a configuration with many prefixes
// stays far below it).
const maxLine = 1 << 20
