package health

import (
	"time"

	"hapair/pkg/proxy"
)

// Force sets a server's health as `set server B/S health up|down` does:
// its check counter goes to the top (up) or to zero (down), and the
// server's state changes with haproxy's "changed from CLI" messages. A
// server without a check changes state all the same. It reports whether
// the server is a tracking one, whose health cannot be set.
func (m *Monitor) Force(s *proxy.Server, up bool) (tracking bool) {
	if m.Tracked(s) != nil {
		return true
	}
	now := m.opts.Now()
	m.mu.Lock()
	c := m.checks[s]
	if c != nil {
		if up {
			c.st.Health = c.st.Rise + c.st.Fall - 1
			if !c.downSince.IsZero() {
				c.downtime += now.Sub(c.downSince)
				c.downSince = time.Time{}
			}
		} else {
			if c.st.Up() {
				c.downs++
				c.downSince = now
			}
			c.st.Health = 0
		}
	}
	m.mu.Unlock()
	if s.Up() == up || s.AdminState() == proxy.AdminMaint {
		// haproxy's srv_set_running/srv_set_stopped leave a server in
		// maintenance as it is.
		return false
	}
	m.apply(s, up, ", changed from CLI")
	return false
}

// SetCheckPort points a server's health check at another port (`set
// server B/S check-port`); false when the server has no check.
func (m *Monitor) SetCheckPort(s *proxy.Server, port int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.checks[s]
	if c == nil {
		return false
	}
	c.port = port // the check's loop applies it (followAddr)
	return true
}

// SetCheckAddr points a server's health check at another address (`set
// server B/S check-addr ADDR [port PORT]`); an empty host or a negative
// port keeps the current one. False when the server has no check.
func (m *Monitor) SetCheckAddr(s *proxy.Server, host string, port int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.checks[s]
	if c == nil {
		return false
	}
	if host != "" {
		c.addr = host // the check's loop applies it (followAddr)
	}
	if port >= 0 {
		c.port = port
	}
	return true
}

// CheckAddr is the address set by SetCheckAddr, else the configured one.
func (m *Monitor) CheckAddr(s *proxy.Server) string {
	if m != nil {
		m.mu.Lock()
		defer m.mu.Unlock()
		if c := m.checks[s]; c != nil && c.addr != "" {
			return c.addr
		}
	}
	return s.Config().CheckAddr
}

// CheckPort is the port set by SetCheckPort, else the configured one.
func (m *Monitor) CheckPort(s *proxy.Server) int {
	if m != nil {
		m.mu.Lock()
		defer m.mu.Unlock()
		if c := m.checks[s]; c != nil && c.port != 0 {
			return c.port
		}
	}
	return s.Config().CheckPort
}
