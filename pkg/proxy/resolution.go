package proxy

import "errors"

// A server whose name did not resolve at start (init-addr none, or -dr)
// has no address: the process layer leaves its Host empty. haproxy keeps
// such a server in maintenance ("MAINT (resolution)") whatever an operator
// sets its administrative state to, and never connects to it.

// Unresolved reports whether the server has no address.
func (s *Server) Unresolved() bool { return s.cfg.Host == "" && !s.cfg.Sock.IsSet() }

// errNoAddress is the dial error of a server without an address; the
// balancer never picks one, so it only guards against a future path that
// would.
var errNoAddress = errors.New("server has no address (its name did not resolve at start)")
