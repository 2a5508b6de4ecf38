package proxy

// Cutting a server's sessions when health checks change its state, as
// haproxy's srv_shutdown_streams does for `on-marked-down
// shutdown-sessions` (termination cause D) and `on-marked-up
// shutdown-backup-sessions` (cause U).

const (
	termDown = 'D' // SF_ERR_DOWN: the server was marked down
	termUp   = 'U' // SF_ERR_UP: an active server came up, backup sessions cut
)

// ShutdownSessions closes every established session of the TCP
// frontends on srv, with termination cause 'D', and returns how many it
// closed.
func (e *Engine) ShutdownSessions(srv *Server) int {
	return e.shutdown(termDown, func(s *Server) bool { return s == srv })
}

// ShutdownBackupSessions closes every session assigned to a backup server
// of b, with termination cause 'U', and returns how many it closed.
func (e *Engine) ShutdownBackupSessions(b *Backend) int {
	return e.shutdown(termUp, func(s *Server) bool { return s.be == b && s.Backup() })
}

func (e *Engine) shutdown(cause byte, match func(*Server) bool) int {
	var cut []*session
	e.mu.Lock()
	for s := range e.sessions {
		// s.srv is final once the state is data (run sets both under s.mu).
		s.mu.Lock()
		var srv *Server
		if s.state == stateData {
			srv = s.srv
		}
		s.mu.Unlock()
		if srv != nil && match(srv) {
			cut = append(cut, s)
		}
	}
	e.mu.Unlock()
	for _, s := range cut {
		// haproxy's stream_shutdown records the cause alone: its logs
		// read "D-" and "U-" (TestIntegrationShutdownBackupSessions).
		s.abortAs(cause, '-')
	}
	return len(cut)
}
