package health

import (
	"net"
	"strconv"
	"strings"
)

// followAddr points a server's check at its current address when DNS
// changed it at run time and the check has no `addr` of its own, and at
// the address and port `set server check-addr|check-port` gave. Called by the check's own loop
// before each check, with m.mu held.
func followAddr(c *check) {
	cfg := c.srv.Config()
	host, port, err := net.SplitHostPort(c.probe.Addr)
	if err != nil {
		return // a UNIX socket
	}
	if cfg.DNS.Resolvers != "" && cfg.CheckAddr == "" {
		host = c.srv.Host()
	}
	if c.addr != "" {
		host = c.addr
	}
	if strings.HasPrefix(cfg.DNS.Hostname, "_") && cfg.CheckPort == 0 {
		// A server filled from SRV records: checked on the record's
		// port (haproxy's svc_port).
		port = strconv.Itoa(c.srv.Port())
	}
	if c.port != 0 {
		port = strconv.Itoa(c.port)
	}
	c.probe.Addr = net.JoinHostPort(host, port)
}
