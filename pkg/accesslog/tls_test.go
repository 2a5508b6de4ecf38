package accesslog

import (
	"net/netip"
	"testing"
	"time"
)

// TestTLSLines: lines haproxy 2.6 wrote for a TLS frontend (seen with
// `bind ... ssl`): '~' after the frontend name in tcplog and httplog,
// and the line of a failed handshake.
func TestTLSLines(t *testing.T) {
	accept := time.Date(2026, 12, 4, 0, 7, 36, 85_000_000, time.Local)
	s := Session{
		Client: netip.MustParseAddrPort("127.0.0.1:52068"), Accept: accept, SSL: true,
		FrontendName: "tcpfe", BackendName: "tcpfe", ServerName: "s1",
		Tw: 22 * time.Millisecond, Tc: 2 * time.Millisecond, Tt: 36 * time.Millisecond, BytesToClient: 1202,
		ActConn: 1, FeConn: 1,
	}
	if got, want := TCPLog(s), "127.0.0.1:52068 [04/Dec/2026:00:07:36.085] tcpfe~ tcpfe/s1 23/2/36 1202 -- 1/1/0/0/0 0/0"; got != want {
		t.Errorf("tcplog:\n got %s\nwant %s", got, want)
	}
	if got, want := ConnError(netip.MustParseAddrPort("127.0.0.1:49084"), accept, "fe", 1, "SSL handshake failure"),
		"127.0.0.1:49084 [04/Dec/2026:00:07:36.085] fe/1: SSL handshake failure"; got != want {
		t.Errorf("handshake failure:\n got %s\nwant %s", got, want)
	}
}
