package proxy

import (
	"errors"
	"net/netip"

	"hapair/pkg/haproxycfg"
)

// A server whose name did not resolve at start (init-addr none, or -dr)
// has no address: the process layer leaves its Host empty. haproxy keeps
// such a server in maintenance ("MAINT (resolution)") whatever an operator
// sets its administrative state to, and never connects to it. A server
// with `resolvers` takes its address from DNS at run time (pkg/resolver):
// SetAddr replaces it, and removing it puts the server in that same
// maintenance until a name server gives one again.

// runtimeAddr is an address set at run time.
type runtimeAddr struct {
	host string // "" = none
	port int    // 0 = the client's
	dial string // host:port; "" when the port is the client's
}

// Host is the server's current address: the one set at run time, else
// the configured one; "" when it has none.
func (s *Server) Host() string {
	if r := s.rt.Load(); r != nil {
		return r.host
	}
	return s.cfg.Host
}

// Unresolved reports whether the server has no address.
func (s *Server) Unresolved() bool { return s.Host() == "" && !s.cfg.Sock.IsSet() }

// StatsAddr is the address the stats show: host:port, or the host alone
// when the port is the client's or there is no address.
func (s *Server) StatsAddr() string {
	if s.cfg.Sock.IsSet() {
		return s.cfg.Address(0)
	}
	h := s.Host()
	if s.Port() == 0 || h == "" {
		return h
	}
	return haproxycfg.Bind{Host: h, Port: s.Port()}.Address()
}

// Port is the server's current port; 0 = the client's.
func (s *Server) Port() int {
	if r := s.rt.Load(); r != nil {
		return r.port
	}
	return s.cfg.Port
}

// dialAddress is where a connection for a client on clientPort goes.
func (s *Server) dialAddress(clientPort int) string {
	if r := s.rt.Load(); r != nil {
		if r.dial != "" {
			return r.dial
		}
		return haproxycfg.Bind{Host: r.host, Port: clientPort}.Address()
	}
	if s.dialAddr != "" {
		return s.dialAddr
	}
	return s.cfg.Address(clientPort)
}

// SetAddr gives the server a new address; the zero Addr takes it away,
// which puts the server in maintenance (resolution). Sessions already
// established stay where they are, as in haproxy. It reports whether the
// availability of the server changed.
func (s *Server) SetAddr(a netip.Addr) bool { return s.SetAddrPort(a, s.Port()) }

// SetAddrPort is SetAddr with a new port (`set server ... addr A port P`).
func (s *Server) SetAddrPort(a netip.Addr, port int) bool {
	r := &runtimeAddr{port: port}
	if a.IsValid() {
		r.host = a.Unmap().String()
		if port != 0 {
			r.dial = haproxycfg.Bind{Host: r.host, Port: port}.Address()
		}
	}
	was := s.Unresolved()
	s.rt.Store(r)
	if was != s.Unresolved() {
		s.changed.Store(s.be.now().UnixNano())
		s.be.statusChanged(s)
		return true
	}
	return false
}

// errNoAddress is the dial error of a server without an address; the
// balancer never picks one, so it only guards against a future path that
// would.
var errNoAddress = errors.New("server has no address (its name did not resolve at start)")
