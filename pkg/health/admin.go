package health

import (
	"fmt"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
)

// SetAdmin changes a server's administrative state (stats socket, agent)
// and logs the change with haproxy 2.6's words and levels through logf
// (runtimeapi's testdata/haproxy26_syslog_admin.txt).
func SetAdmin(s *proxy.Server, a proxy.AdminState, logf func(px *haproxycfg.Proxy, level haproxycfg.Level, msg string)) {
	before := s.AdminState()
	wasDown := !s.Up()
	prevAct, prevBck := Usable(s.Backend())
	s.SetAdminState(a)
	if before == a || s.Unresolved() || a == proxy.AdminMaint && s.InheritedMaint() != nil {
		// A server without an address stays in maintenance
		// (resolution), one in the maintenance of the server it
		// tracks enters the forced one: haproxy reports no change.
		return
	}
	px := s.Backend().Proxy()
	kind := "Server"
	if s.Backup() {
		kind = "Backup Server"
	}
	act, bck := Usable(s.Backend())
	st := s.Stats()
	name := fmt.Sprintf("%s %s/%s", kind, px.Name, s.Name())
	switch {
	case a == proxy.AdminMaint && wasDown:
		// haproxy's srv_update_status for a server already stopped.
		// It then appends the reason of the last change when it kept one
		// (not with log-health-checks); gproxy does not.
		logf(px, levelNotice, fmt.Sprintf("%s was DOWN and now enters maintenance.", name))
	case a == proxy.AdminMaint:
		logf(px, levelAlert, fmt.Sprintf("%s is going DOWN for maintenance. %s %d sessions active, %d requeued, %d remaining in queue.",
			name, ServersLeft(act, bck), st.CurSessions, 0, st.QueueCur))
		if act+bck == 0 {
			logf(px, levelEmerg, fmt.Sprintf("backend %s has no server available!", px.Name))
		}
	case a == proxy.AdminDrain:
		logf(px, levelNotice, fmt.Sprintf("%s enters drain state. %d active and %d backup servers online. %d sessions requeued, %d total in queue.",
			name, act, bck, 0, st.QueueCur))
		if prevAct+prevBck > 0 && act+bck == 0 {
			// haproxy's srv_update_status: set_backend_down.
			logf(px, levelEmerg, fmt.Sprintf("backend %s has no server available!", px.Name))
		}
	case before == proxy.AdminMaint && s.InheritedMaint() != nil:
		via := s.InheritedMaint()
		logf(px, levelNotice, fmt.Sprintf("%s is leaving forced maintenance but remains in maintenance via %s/%s.", name, via.Backend().Name(), via.Name()))
	case before == proxy.AdminMaint:
		// haproxy names the state the server is left in: DOWN when its
		// checks or the server it tracks keep it down.
		state := "UP"
		if !s.Up() {
			state = "DOWN"
		}
		logf(px, levelNotice, fmt.Sprintf("%s is %s/READY (leaving forced maintenance).", name, state))
	case before == proxy.AdminDrain:
		logf(px, levelNotice, fmt.Sprintf("%s is UP (leaving forced drain).", name))
	}
}

// WeightSet logs what haproxy 2.6's srv_update_status says when a
// server's weight is set (agent reply, `set weight`) while it is in
// forced drain: "remains in forced drain mode", once per setting.
func (m *Monitor) WeightSet(s *proxy.Server) {
	if m == nil || s.AdminState() != proxy.AdminDrain || s.Unresolved() {
		return
	}
	kind := "Server"
	if s.Backup() {
		kind = "Backup Server"
	}
	px := s.Backend().Proxy()
	m.log(px, levelNotice, fmt.Sprintf("%s %s/%s remains in forced drain mode.", kind, px.Name, s.Name()))
}

// MaintChange does to a server's health check what haproxy 2.6's
// srv_update_status does when the server enters or leaves maintenance;
// call it before SetAdmin, and the function it returns after: a check
// result being applied is applied whole before the change, and none is
// applied during it, as in haproxy where both run in one task at a time
// (without it, `disable server` right after a check's failed line could
// find the server still up). Entering pauses the check (the loop runs none
// in maintenance; the stats blank its columns) and zeroes its health.
// Leaving gives the check its rise health back ("start OK but check
// immediately"), and the server comes back up at once if neither its
// check, its agent nor the server it tracks holds it down.
func (m *Monitor) MaintChange(s *proxy.Server, a proxy.AdminState) (done func()) {
	done = func() {}
	if m == nil {
		return done
	}
	m.mu.Lock()
	if c := m.checks[s]; c != nil {
		m.mu.Unlock()
		c.rec.Lock()
		done = c.rec.Unlock
	} else {
		m.mu.Unlock()
	}
	before := s.AdminState()
	switch {
	case a == proxy.AdminMaint && before != proxy.AdminMaint:
		m.mu.Lock()
		if c := m.checks[s]; c != nil {
			if !c.disabled {
				c.st.Health = 0
			}
			if s.Up() {
				// "going DOWN for maintenance" is a DOWN
				// transition (chkdown) too.
				c.downs++
			}
		}
		m.mu.Unlock()
	case a != proxy.AdminMaint && before == proxy.AdminMaint:
		m.mu.Lock()
		c := m.checks[s]
		if c != nil && !c.disabled {
			c.st.Health = c.st.Rise
		}
		checkOK := c == nil || c.disabled || c.st.Up()
		m.mu.Unlock()
		t := m.Tracked(s)
		if !s.Up() && checkOK && (t == nil || t.Up() && !t.InMaint()) && m.agentUp(s) {
			s.SetUp(true)
		}
	}
	return done
}

// SetAdmin is the package function with the monitor's log.
func (m *Monitor) SetAdmin(s *proxy.Server, a proxy.AdminState) {
	defer m.MaintChange(s, a)()
	SetAdmin(s, a, func(px *haproxycfg.Proxy, level haproxycfg.Level, msg string) {
		if level != levelEmerg {
			m.log(px, level, msg)
			return
		}
		if m.opts.Log != nil {
			m.opts.Log(px, level, msg)
		}
		m.opts.Logger.Error().Msgf("backend '%s' has no server available!", px.Name)
	})
	m.MaintFollow(s)
}
