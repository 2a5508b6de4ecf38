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

// StatsAddr is the address the stats show: host:port, with port 0 when
// the port is the client's (haproxy prints its svc_port), or "" when
// there is no address.
func (s *Server) StatsAddr() string {
	if s.cfg.Sock.IsSet() {
		return s.cfg.Address(0)
	}
	h := s.Host()
	if h == "" {
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

// target is where a connection for a client that reached dst goes: the
// server's address (set at run time, else configured) and port, the
// client's port when the server has none, and the client's destination
// address when the server is on any address (0.0.0.0 or ::), as
// haproxy's alloc_dst_address.
func (s *Server) target(dst netip.AddrPort) string {
	if r := s.rt.Load(); r != nil {
		if r.dial != "" && !haproxycfg.IsAnyHost(r.host) {
			return r.dial
		}
		return anyTarget(r.host, r.port, dst)
	}
	if s.dialAddr != "" {
		return s.dialAddr
	}
	if s.cfg.Sock.IsSet() {
		return s.cfg.Address(0)
	}
	return anyTarget(s.cfg.Host, s.cfg.Port, dst)
}

// dialsTo reports whether a connection to addr may be one to s (the HTTP
// transports' dials, which know the address only).
func (s *Server) dialsTo(addr string) bool {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return s.cfg.Sock.IsSet() && s.cfg.Address(0) == addr
	}
	return s.target(ap) == addr
}

// anyTarget is host:port with the client's destination standing for an
// any address and for a zero port.
func anyTarget(host string, port int, dst netip.AddrPort) string {
	if port == 0 {
		port = int(dst.Port())
	}
	if haproxycfg.IsAnyHost(host) && dst.Addr().IsValid() {
		host = dst.Addr().Unmap().String()
	}
	return haproxycfg.Bind{Host: host, Port: port}.Address()
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
	if old := s.rt.Swap(r); old == nil || *old != *r {
		// Connections to the old address are not reused.
		s.cleanupIdle()
	}
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

// SetFQDN records the name a server took at run time (from an SRV
// record; "" when it lost it): `show servers state` shows it and haproxy
// flags the server SRV_ADMF_HMAINT from then on.
func (s *Server) SetFQDN(name string) {
	s.fqdn.Store(&name)
	s.fqdnSet.Store(true)
}

// FQDN is the name set at run time, and whether one ever was.
func (s *Server) FQDN() (string, bool) {
	if p := s.fqdn.Load(); p != nil {
		return *p, s.fqdnSet.Load()
	}
	return "", false
}
