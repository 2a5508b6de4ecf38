package runtimeapi

import (
	"hapair/pkg/proxy"
)

// StatsAdmin applies an action of the stats page's admin form (`stats
// admin`) to servers of a backend, as haproxy's stats_process_http_post:
// a server named but unknown counts in total only; one the action cannot
// apply to (checks not configured, a tracking server) counts in neither.
func (c *Commands) StatsAdmin(backend string, servers []string, action string) (altered, total int) {
	for _, name := range servers {
		s, _ := c.lookup(backend + "/" + name)
		if s == nil {
			total++
			continue
		}
		if c.statsAction(s, action) {
			altered++
			total++
		}
	}
	return altered, total
}

// statsAction applies one action to s and reports whether it applied.
func (c *Commands) statsAction(s *proxy.Server, action string) bool {
	cfg := s.Config()
	m := c.Source.Checks
	tracking := m != nil && m.Tracked(s) != nil
	agent := m != nil && m.AgentEnabled(s)
	switch action {
	case "ready":
		c.setAdmin(s, proxy.AdminReady)
	case "drain":
		c.setAdmin(s, proxy.AdminDrain)
	case "maint":
		c.setAdmin(s, proxy.AdminMaint)
	case "disable", "stop": // the page's older actions: only a change counts
		to := map[string]proxy.AdminState{"disable": proxy.AdminMaint, "stop": proxy.AdminDrain}[action]
		if s.AdminState() == to {
			return false
		}
		c.setAdmin(s, to)
	case "enable", "start":
		from := map[string]proxy.AdminState{"enable": proxy.AdminMaint, "start": proxy.AdminDrain}[action]
		if s.AdminState() != from {
			return false
		}
		c.setAdmin(s, proxy.AdminReady)
	case "dhlth", "ehlth":
		if !cfg.Check || m == nil {
			return false
		}
		_ = m.SetCheckEnabled(s, action == "ehlth")
	case "hrunn", "hdown":
		if tracking || m == nil || cfg.TrackServer != "" {
			return false
		}
		m.Force(s, action == "hrunn")
	case "dagent", "eagent":
		if !cfg.Agent.Enabled || m == nil {
			return false
		}
		_ = m.SetAgentEnabled(s, action == "eagent")
	case "arunn", "adown":
		if !agent {
			return false
		}
		m.ForceAgent(s, action == "arunn")
	case "hnolb":
		if tracking || m == nil || cfg.TrackServer != "" {
			return false
		}
		m.ForceStopping(s, "Web interface")
	case "shutdown":
		c.Source.Engine.ShutdownSessions(s)
	default:
		return false
	}
	return true
}
