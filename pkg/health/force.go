package health

import (
	"fmt"
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
	if (s.Up() == up && !(up && s.Stopping())) || s.AdminState() == proxy.AdminMaint {
		// haproxy's srv_set_running/srv_set_stopped leave a server in
		// maintenance as it is.
		return false
	}
	m.apply(s, up, ", changed from CLI")
	return false
}

// ForceStopping is `set server B/S health stopping` (from "CLI") or the
// stats page's hnolb action (from "Web interface"): the check counter
// goes to the top and the server soft-stops (NOLB: up, no load-balanced
// traffic) with haproxy's "is stopping, changed from CLI" message, as do
// the servers tracking it. Its next passed check brings it back up. It
// reports whether the server is a tracking one.
func (m *Monitor) ForceStopping(s *proxy.Server, from string) (tracking bool) {
	if m.Tracked(s) != nil {
		return true
	}
	now := m.opts.Now()
	m.mu.Lock()
	if c := m.checks[s]; c != nil {
		c.st.Health = c.st.Rise + c.st.Fall - 1
		if !c.downSince.IsZero() {
			c.downtime += now.Sub(c.downSince)
			c.downSince = time.Time{}
		}
	}
	m.mu.Unlock()
	m.stopping(s, ", changed from "+from)
	return false
}

// stopping soft-stops a server and its trackers (haproxy's
// srv_set_stopping): nothing for one in maintenance or already stopping.
func (m *Monitor) stopping(s *proxy.Server, why string) {
	if s.InMaint() || s.Stopping() {
		return
	}
	st := s.Stats()
	act0, bck0 := Usable(s.Backend())
	s.SetStopping()
	act, bck := Usable(s.Backend())
	px := s.Backend().Proxy()
	kind := "Server"
	if s.Backup() {
		kind = "Backup Server"
	}
	running := ""
	if act == 0 && bck > 0 {
		running = " Running on backup."
	}
	m.log(px, levelNotice, fmt.Sprintf("%s %s/%s is stopping%s. %d active and %d backup servers online.%s %d sessions requeued, %d total in queue.",
		kind, px.Name, s.Name(), why, act, bck, running, 0, st.QueueCur))
	if act+bck == 0 && act0+bck0 > 0 {
		m.noServer(s.Backend())
	}
	for _, t := range m.trackersOf(s) {
		m.stopping(t, fmt.Sprintf(" via %s/%s", px.Name, s.Name()))
	}
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
