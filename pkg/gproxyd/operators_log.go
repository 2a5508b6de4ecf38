package gproxyd

import "hapair/pkg/haproxycfg"

// proxyLog sends a message of the given syslog level to a proxy's log
// targets (server state changes log there, as in haproxy).
func (s *sessionLogs) proxyLog(px *haproxycfg.Proxy, level haproxycfg.Level, msg string) {
	if l := s.proxies[px]; l != nil {
		l.Log(level, msg)
	}
}
