package health

import (
	"net"
	"strconv"
)

// followAddr points a server's check at its current address when DNS
// changed it at run time and the check has no `addr` of its own.
// Called with m.mu held.
func followAddr(c *check) {
	cfg := c.srv.Config()
	if cfg.DNS.Resolvers == "" || cfg.CheckAddr != "" || cfg.Sock.IsSet() {
		return
	}
	port := cfg.Port
	if cfg.CheckPort != 0 {
		port = cfg.CheckPort
	}
	c.probe.Addr = net.JoinHostPort(c.srv.Host(), strconv.Itoa(port))
}
