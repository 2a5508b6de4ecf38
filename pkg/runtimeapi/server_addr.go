package runtimeapi

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"hapair/pkg/proxy"
)

// setServerAddr is `set server B/S addr IP [port PORT]` (management guide
// 9.3): the server's address (and port) change at once; established
// sessions stay. A server in maintenance for want of an address leaves
// it. The answer is haproxy 2.6's report.
func (c *Commands) setServerAddr(s *proxy.Server, args []string) string {
	addr := arg(args, 4)
	if addr == "" {
		return "set server <b>/<s> addr requires an address and optionally a port.\n"
	}
	var portArg string
	if arg(args, 5) == "port" {
		portArg = arg(args, 6)
	}
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return fmt.Sprintf("Invalid addr '%s' by 'stats socket command'\n", addr)
	}
	a = a.Unmap()
	cur := s.Host()
	if cur == "" || s.Config().Sock.IsSet() {
		// haproxy refuses to give an address to a server that has none
		// (or a socket). It then also lifts the maintenance for want of
		// an address, leaving a server up without an address; gproxy
		// keeps it in maintenance.
		return "Update for the current server address family is only supported through configuration file by 'stats socket command'\n"
	}
	msg := ""
	newAddr, _ := netip.ParseAddr(cur)
	if newAddr == a {
		msg = "no need to change the addr"
	} else {
		newAddr = a
		msg = fmt.Sprintf("IP changed from '%s' to '%s'", cur, addr)
	}
	port := s.Port()
	if portArg != "" {
		msg += ", "
		n, err := strconv.Atoi(portArg)
		switch {
		case portArg[0] == '+' || portArg[0] == '-':
			msg += "port maps are not supported by gproxy's 'set server'"
		case err != nil || n < 0 || n > 65535:
			msg += fmt.Sprintf("problem converting port '%s' to an int", portArg)
		case n != port:
			if port == 0 {
				msg += fmt.Sprintf("port changed from '+0' to '%d'", n)
			} else {
				msg += fmt.Sprintf("port changed from '%d' to '%d'", port, n)
			}
			port = n
		default:
			msg += "no need to change the port"
		}
	}
	if newAddr.String() != cur || port != s.Port() {
		s.SetAddrPort(newAddr, port)
	}
	return msg + " by 'stats socket command'\n"
}

// RestoreWeight sets a server's user weight from the server state file
// at start, as `set weight` would.
func (c *Commands) RestoreWeight(s *proxy.Server, w int) error {
	return s.SetWeight(w)
}

// setServerFQDN is `set server B/S fqdn NAME`: haproxy's refusals for a
// server without run-time resolution; changing the name a resolved
// server follows is not implemented and says so.
func (c *Commands) setServerFQDN(s *proxy.Server, args []string) string {
	name := arg(args, 4)
	switch {
	case name == "":
		return "set server <b>/<s> fqdn requires a FQDN.\n"
	case s.Config().DNS.Resolvers == "":
		return "set server <b>/<s> fqdn failed because no resolution is configured.\n"
	case strings.HasPrefix(s.Config().DNS.Hostname, "_"):
		return "set server <b>/<s> fqdn failed because SRV resolution is configured.\n"
	case name == s.Config().DNS.Hostname:
		return "no need to change the FDQN by 'stats socket command'\n"
	}
	return "set server <b>/<s> fqdn: changing the name a server resolves is not implemented by gproxy.\n"
}

// setServerHealth is `set server B/S health up|stopping|down`: the
// server's state changes at once, as if its checks had said so ("changed
// from CLI"); stopping soft-stops it (NOLB).
func (c *Commands) setServerHealth(s *proxy.Server, args []string) string {
	m := c.Source.Checks
	var up bool
	switch arg(args, 4) {
	case "up":
		up = true
	case "down":
	case "stopping":
		if m == nil {
			return "health checks are not running.\n"
		}
		if m.ForceStopping(s, "CLI") {
			return "cannot change health on a tracking server.\n"
		}
		return ""
	default:
		if m != nil && m.Tracked(s) != nil {
			return "cannot change health on a tracking server.\n"
		}
		return "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n"
	}
	if m == nil {
		return "health checks are not running.\n"
	}
	if m.Force(s, up) {
		return "cannot change health on a tracking server.\n"
	}
	return ""
}

// setServerCheckPort is `set server B/S check-port PORT`: the health
// check goes to that port from its next run. haproxy's refusals here end
// without a newline.
func (c *Commands) setServerCheckPort(s *proxy.Server, args []string) string {
	if arg(args, 4) == "" {
		return "set server <b>/<s> check-port requires a port.\n"
	}
	return c.updateCheckAddr(s, "", arg(args, 4), true)
}

// setServerCheckAddr is `set server B/S check-addr ADDR [port PORT]`: the
// next health checks go to the new address (an IP address, never
// resolved, as haproxy's str2ip2 without resolution).
func (c *Commands) setServerCheckAddr(s *proxy.Server, args []string) string {
	if arg(args, 4) == "" {
		return "set server <b>/<s> check-addr requires an address and optionally a port.\n"
	}
	return c.updateCheckAddr(s, arg(args, 4), arg(args, 6), arg(args, 5) == "port")
}

// updateCheckAddr is haproxy 2.6's srv_update_check_addr_port: nothing
// changes when one part is wrong.
func (c *Commands) updateCheckAddr(s *proxy.Server, host, portArg string, hasPort bool) string {
	m := c.Source.Checks
	if m == nil || !s.Config().Check {
		return "health checks are not enabled on this server"
	}
	if host != "" {
		a, err := netip.ParseAddr(host)
		if err != nil || a.Zone() != "" {
			return "invalid addr '" + host + "'"
		}
		host = a.String()
	}
	port := -1
	if hasPort {
		n, err := strconv.Atoi(portArg)
		switch {
		case err != nil:
			return "provided port is not an integer"
		case n < 0 || n > 65535:
			return "provided port is invalid"
		case n == 0 && s.Port() == 0:
			return "can't unset 'port' since MAPPORTS is in use"
		}
		port = n
	}
	if !m.SetCheckAddr(s, host, port) {
		return "health checks are not enabled on this server"
	}
	return ""
}

// setServerAgentAddr is `set server B/S agent-addr ADDR [port PORT]` and
// `set server B/S agent-port PORT`, with haproxy 2.6's answers
// (srv_update_agent_addr_port): nothing changes when one part is wrong.
// haproxy resolves a host name given as ADDR; gproxy takes IP addresses
// only and says so for a name.
func (c *Commands) setServerAgentAddr(s *proxy.Server, args []string) string {
	portOnly := arg(args, 3) == "agent-port"
	if arg(args, 4) == "" {
		if portOnly {
			return "set server <b>/<s> agent-port requires a port.\n"
		}
		return "set server <b>/<s> agent-addr requires an address and optionally a port.\n"
	}
	m := c.Source.Checks
	if m == nil || !m.AgentEnabled(s) {
		return "agent checks are not enabled on this server"
	}
	host, portArg, hasPort := "", arg(args, 4), true
	if !portOnly {
		host, portArg, hasPort = arg(args, 4), arg(args, 6), arg(args, 5) == "port"
		a, err := netip.ParseAddr(host)
		if err != nil || a.Zone() != "" {
			return "'set server <srv> agent-addr' with a host name is not implemented by gproxy.\n"
		}
		host = a.String()
	}
	port := -1
	if hasPort {
		n, err := strconv.Atoi(portArg)
		switch {
		case err != nil:
			return "provided port is not an integer"
		case n < 0 || n > 65535:
			return "provided port is invalid"
		}
		port = n
	}
	if !m.SetAgentAddr(s, host, port) {
		return "agent checks are not enabled on this server"
	}
	return ""
}

// enableAgent and the like are `enable|disable agent|health B/S`.
func (c *Commands) enableAgent(args []string) string  { return c.toggleCheck(args, true, true) }
func (c *Commands) disableAgent(args []string) string { return c.toggleCheck(args, true, false) }
func (c *Commands) enableHealth(args []string) string { return c.toggleCheck(args, false, true) }
func (c *Commands) disableHealth(args []string) string {
	return c.toggleCheck(args, false, false)
}

func (c *Commands) toggleCheck(args []string, agent, on bool) string {
	s, msg := c.lookup(arg(args, 2))
	if s == nil {
		return msg
	}
	m := c.Source.Checks
	if agent {
		if err := m.SetAgentEnabled(s, on); err != nil && on {
			return "Agent was not configured on this server, cannot enable.\n"
		}
		return ""
	}
	if err := m.SetCheckEnabled(s, on); err != nil && on {
		return "Health check was not configured on this server, cannot enable.\n"
	}
	return ""
}

// setMaxConnServer is `set maxconn server B/S N`, with the answers of
// haproxy's server_parse_maxconn_change_request (no newline at their
// end, as haproxy prints them).
func (c *Commands) setMaxConnServer(args []string) string {
	s, msg := c.lookup(arg(args, 3))
	if s == nil {
		return msg
	}
	v := arg(args, 4)
	i := 0
	if i < len(v) && (v[i] == '-' || v[i] == '+') {
		i++
	}
	j := i
	for j < len(v) && v[j] >= '0' && v[j] <= '9' {
		j++
	}
	switch {
	case j == i:
		return "maxconn string empty or preceded by garbage"
	case j != len(v):
		return "Trailing garbage in maxconn string"
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return "maxconn string empty or preceded by garbage"
	}
	s.SetMaxConn(n)
	return ""
}
