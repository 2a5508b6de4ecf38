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
	if s.Up() == up {
		return false
	}
	m.apply(s, up, ", changed from CLI")
	return false
}
