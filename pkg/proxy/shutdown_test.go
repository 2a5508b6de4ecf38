package proxy

import (
	"testing"

	"hapair/pkg/haproxycfg"
)

// TestShutdownSessions: ShutdownSessions cuts the established sessions of
// one server only, logged with termination state "DD" (haproxy's
// SF_ERR_DOWN during data); ShutdownBackupSessions cuts those of the
// backup servers with "UD".
func TestShutdownSessions(t *testing.T) {
	be1, be2 := startBackend(t, echo), startBackend(t, echo)
	ln1, bind1 := listen(t)
	ln2, bind2 := listen(t)
	p1, p2 := listenProxy("p", bind1, server("s1", be1.port)), listenProxy("q", bind2, server("s2", be2.port))
	for _, px := range []*haproxycfg.Proxy{p1, p2} {
		px.Logs = []haproxycfg.LogTarget{{Network: "udp", Address: "127.0.0.1:9"}}
	}
	e, sink := run(t, &haproxycfg.Config{Proxies: []*haproxycfg.Proxy{p1, p2}}, ln1, ln2)
	a, b := dial(t, bind1), dial(t, bind2)
	roundTrip(t, a, "a")
	roundTrip(t, b, "b")
	bk := e.Backend("p")
	if n := e.ShutdownSessions(bk.Server("s1")); n != 1 {
		t.Fatalf("ShutdownSessions(s1) cut %d sessions, want 1", n)
	}
	readClosed(t, a) // closed by the proxy
	roundTrip(t, b, "still there")
	eventually(t, "the cut session logged", func() bool { return len(sink.all()) == 1 })
	if l := sink.all()[0]; l.ServerName != "s1" || l.TermCause != 'D' || l.TermState != '-' {
		t.Errorf("logged %s with %c%c, want s1 with D- (haproxy 2.6.12's)", l.ServerName, l.TermCause, l.TermState)
	}
	if n := e.ShutdownBackupSessions(e.Backend("q")); n != 0 {
		t.Errorf("ShutdownBackupSessions cut %d sessions of active servers", n)
	}
}
