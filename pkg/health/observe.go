package health

import (
	"fmt"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
)

// defaultErrorLimit is haproxy's DEF_HANA_ERRLIMIT, the error-limit of a
// server without one.
const defaultErrorLimit = 10

// hanaVerdict is how an `observe` mode reads a traffic event, as
// haproxy's analyze_statuses table: +1 good (clears the count), -1 an
// error, 0 ignored.
func hanaVerdict(mode haproxycfg.Observe, h proxy.Hana) int {
	switch h {
	case proxy.HanaL4Err:
		return -1
	case proxy.HanaL4OK:
		if mode == haproxycfg.ObserveLayer4 {
			return 1
		}
		return 0
	case proxy.HanaHTTPOK:
		if mode == haproxycfg.ObserveLayer7 {
			return 1
		}
		return 0
	}
	if mode == haproxycfg.ObserveLayer7 {
		return -1
	}
	return 0
}

// hana takes one traffic event of a checked server with `observe`
// (haproxy's __health_adjust): error-limit errors in a row run the
// server's on-error action, and every action brings its next check to
// fastinter (if set and sooner).
func (m *Monitor) hana(c *check, h proxy.Hana) {
	cfg := c.srv.Config()
	v := hanaVerdict(cfg.Observe, h)
	if v == 0 {
		return
	}
	c.rec.Lock()
	defer c.rec.Unlock()
	m.mu.Lock()
	if v > 0 {
		c.consecErrs = 0
		m.mu.Unlock()
		return
	}
	c.consecErrs++
	limit := cfg.ErrorLimit
	if limit <= 0 {
		limit = defaultErrorLimit
	}
	if c.consecErrs < limit {
		m.mu.Unlock()
		return
	}
	n := c.consecErrs
	c.consecErrs = 0
	c.hanaFails++
	onError := cfg.OnError
	if onError == "" {
		onError = "fail-check"
	}
	fail := onError != "fastinter"
	switch onError {
	case "sudden-death":
		// One failure short of down.
		if c.st.Health > c.st.Rise {
			c.st.Health = c.st.Rise + 1
		}
	case "mark-down":
		c.st.Health = c.st.Rise
	}
	wasUp := c.st.Up()
	m.mu.Unlock()
	if fail {
		res := withInfo(CodeHANA, 0, fmt.Sprintf("Detected %d consecutive errors, last one was: %s", n, h))
		res.Duration = -1
		m.count(c, res)
		m.mu.Lock()
		up := c.st.Up()
		if wasUp && !up {
			c.downs++
			c.downSince = m.opts.Now()
		}
		m.mu.Unlock()
		if wasUp && !up && !(!c.srv.Up() && m.hasAgent(c.srv)) {
			m.apply(c.srv, false, m.why(c, res))
		}
	}
	if cfg.FastInter > 0 {
		select {
		case c.poke <- cfg.FastInter:
		default:
		}
	}
}
