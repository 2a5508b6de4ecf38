// Package balance chooses the server that takes a new connection, as
// haproxy's `balance` algorithms do (haproxy 2.6 configuration manual,
// section 4.2, "balance"). Like Caddy's selection policies there is one small
// interface and one type per algorithm, whose String() is the config keyword.
//
// A Policy keeps per-server state (smooth round-robin credits, the source
// hash map) keyed by the Server value itself, so one Policy serves one
// backend and the same Server values must be passed on every call.
package balance

import (
	"errors"
	"fmt"
	"net/netip"
)

// Server is the view of a backend server a policy needs. Implementations
// must be safe for concurrent use; the proxy engine backs these with atomics.
type Server interface {
	// Weight is the current effective weight. A server of weight 0 takes no
	// new traffic (haproxy's DRAIN, or `set weight 0`).
	Weight() int
	// Usable reports whether the server is up and not in maintenance.
	Usable() bool
	// Full reports whether the server has reached its maxconn.
	Full() bool
	// Conns is the number of connections currently on the server.
	Conns() int
}

// Key is what a hash-based policy hashes: the client's address for
// `balance source`, parts of the HTTP request for uri, url_param and hdr().
// It is passed by value and built without allocation: roundrobin never
// looks at it.
type Key struct {
	Client netip.Addr
	// Req is the HTTP request being balanced; nil in mode tcp.
	Req Request
	// Persist is the server a persistence cookie names: Choose returns
	// it without balancing.
	Persist Server
	// Sample is what `balance hash EXPR` (or rdp-cookie) hashes, when
	// SampleOK: the expression's value as binary.
	Sample   string
	SampleOK bool
}

// Request is the view of an HTTP request the hash policies read, as it
// stands when the server is chosen (after http-request rules).
type Request interface {
	// Method is the request method.
	Method() string
	// URI is the request target as received (origin or absolute form).
	URI() string
	// Header returns the value of the first field named name (compared
	// case-insensitively) and whether there is one.
	Header(name string) (string, bool)
	// Body is the start of the body already received when the server is
	// chosen (url_param looks there in a POST); nil if none.
	Body() []byte
}

// Policy picks one server of a pool. Pick only returns servers that are
// Usable with a weight above 0. Load-spreading policies (roundrobin,
// static-rr, leastconn, first) also skip full servers and return nil when
// every candidate is full, so the caller queues the connection on the
// backend. The hash policy (source) returns the server the key maps to even
// when it is full, so the caller queues on that server, as haproxy does.
type Policy interface {
	Pick(pool []Server, key Key) Server
	String() string
}

// Errors returned by Choose.
var (
	// ErrNoServer means no server (active or backup) is usable: haproxy
	// logs such a connection with <NOSRV> and closes it.
	ErrNoServer = errors.New("balance: no server available")
	// ErrFull means usable servers exist but every candidate is full: the
	// connection waits in the backend queue.
	ErrFull = errors.New("balance: all servers full")
)

// New returns the policy for a `balance` keyword; "" means roundrobin,
// haproxy's default.
func New(algorithm string) (Policy, error) {
	switch algorithm {
	case "", "roundrobin":
		return NewRoundRobin(), nil
	case "static-rr":
		return NewStaticRR(), nil
	case "leastconn":
		return NewLeastConn(), nil
	case "source":
		return NewSource(), nil
	case "random":
		return NewHash(HashConfig{Kind: KeyRandom}, nil), nil
	case "first":
		return NewFirst(), nil
	}
	return nil, fmt.Errorf("balance: unknown algorithm %q", algorithm)
}

// Scaled is implemented by servers whose effective weight has a finer
// grain than Weight: haproxy's eweight, in 16ths of the user weight, which
// ramps during a slow start. The weighted policies use it when present.
type Scaled interface {
	EWeight() int
}

// eweight is the weight a weighted policy compares: EWeight when the
// server has one, else Weight in the same 16ths.
func eweight(s Server) int {
	if x, ok := s.(Scaled); ok {
		return x.EWeight()
	}
	return s.Weight() * 16
}

// avoider is a policy that handles the server to avoid itself.
type avoider interface {
	PickAvoid(pool []Server, key Key, avoid Server) Server
}

// candidate reports whether a server may be picked at all.
func candidate(s Server) bool { return s.Usable() && s.Weight() > 0 }

// Choose applies haproxy's rule for backup servers around a policy: the
// active servers are balanced while at least one of them is usable; when
// none is, the first usable backup server takes the traffic (haproxy without
// `option allbackups`). avoid, when not nil, is left out of the choice
// unless it is the only usable active server: `option redispatch` uses it to
// move a retry to another server.
//
// When the returned server is full the caller queues on that server; on
// ErrFull it queues on the backend.
func Choose(p Policy, active, backup []Server, key Key, avoid Server) (Server, error) {
	return ChooseAll(p, active, backup, false, key, avoid)
}

// ChooseAll is Choose with haproxy's `option allbackups` when allBackups
// is set: with no usable active server, the policy balances over every
// usable backup server rather than sending everything to the first.
func ChooseAll(p Policy, active, backup []Server, allBackups bool, key Key, avoid Server) (Server, error) {
	if key.Persist != nil && key.Persist != avoid {
		return key.Persist, nil
	}
	usable := 0
	for _, s := range active {
		if candidate(s) {
			usable++
		}
	}
	if usable > 0 {
		return pickIn(p, active, key, avoid)
	}
	if allBackups {
		for _, s := range backup {
			if candidate(s) {
				return pickIn(p, backup, key, avoid)
			}
		}
		return nil, ErrNoServer
	}
	for _, s := range backup {
		if candidate(s) {
			if s.Full() {
				return nil, ErrFull
			}
			return s, nil
		}
	}
	return nil, ErrNoServer
}

// pickIn balances over one pool (the actives, or every backup) that has
// a usable server, leaving avoid out unless it is the only one.
func pickIn(p Policy, pool []Server, key Key, avoid Server) (Server, error) {
	if a, ok := p.(avoider); ok {
		// Hash policies decide themselves what avoiding means.
		if s := a.PickAvoid(pool, key, avoid); s != nil {
			return s, nil
		}
		return nil, ErrFull
	}
	usable := 0
	for _, s := range pool {
		if candidate(s) {
			usable++
		}
	}
	if avoid != nil && candidate(avoid) && usable > 1 {
		rest := make([]Server, 0, len(pool)-1)
		for _, s := range pool {
			if s != avoid {
				rest = append(rest, s)
			}
		}
		pool = rest
	}
	if s := p.Pick(pool, key); s != nil {
		return s, nil
	}
	return nil, ErrFull
}
