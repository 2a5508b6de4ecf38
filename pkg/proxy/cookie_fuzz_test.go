package proxy

import (
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
)

// cookieBackend is a backend of three servers with cookies c1..c3 and the
// given cookie line, for the cookie unit and fuzz tests.
func cookieBackend(ck *haproxycfg.Cookie) *Backend {
	px := &haproxycfg.Proxy{Name: "b", Cookie: ck}
	b := &Backend{px: px}
	set := &serverSet{}
	for i, n := range []string{"c1", "c2", "c3"} {
		s := &Server{cfg: &haproxycfg.Server{Name: "s" + n[1:], Host: "127.0.0.1", Cookie: n, Weight: 1}, be: b, id: i + 1}
		set.servers = append(set.servers, s)
	}
	b.set.Store(set)
	return b
}

// TestRequestCookies pins what reaches the server of a Cookie header, and
// the server chosen, per mode (the same cases are compared with haproxy in
// TestIntegrationCookieMatchesHaproxy).
func TestRequestCookies(t *testing.T) {
	ins := &haproxycfg.Cookie{Name: "SRV", Insert: true, Indirect: true}
	pfx := &haproxycfg.Cookie{Name: "SRV", Prefix: true}
	for _, tt := range []struct {
		ck      *haproxycfg.Cookie
		in, out string
		srv     string
		state   byte
	}{
		{ins, "SRV=c2", "", "s2", ckValid},
		{ins, "a=1; SRV=c2; b=2", "a=1; b=2", "s2", ckValid},
		{ins, "SRV=c3;b=2", "b=2", "s3", ckValid},
		{ins, "a=1;  SRV=c1", "a=1", "s1", ckValid},
		{ins, "SRV=zz", "", "", ckInvalid},
		{ins, "SRV = c2 ; x", "x", "s2", ckValid},
		{ins, "$Version=1; SRV=c1; $Path=/", "", "s1", ckValid},
		{pfx, "SRV=c2~app7; z=9", "SRV=app7; z=9", "s2", ckValid},
		{pfx, "SRV=app7", "SRV=app7", "", ckInvalid},
	} {
		b := cookieBackend(tt.ck)
		req := &httpRequest{method: "GET", headers: []header{{"Cookie", tt.in}}}
		p := newPersistence(b, req, time.Unix(1700000000, 0))
		got := ""
		if len(req.headers) > 0 {
			got = req.headers[0].value
		}
		srv := ""
		if p.srv != nil {
			srv = p.srv.Name()
		}
		if got != tt.out || srv != tt.srv || p.ckState != tt.state {
			t.Errorf("%+v Cookie %q: server gets %q, server %q, state %c; want %q, %q, %c", *tt.ck, tt.in, got, srv, p.ckState, tt.out, tt.srv, tt.state)
		}
	}
}

// FuzzCookies feeds arbitrary Cookie and Set-Cookie values through every
// mode: no panic, and the Cookie header never grows.
func FuzzCookies(f *testing.F) {
	for _, s := range []string{"SRV=c1", "a=1; SRV=c2; b=2", "SRV = c2 ; x", "$a; SRV=c1~x, y=\"q;\"", ";;=;", "SRV=c1|abcde|fghij"} {
		f.Add(s)
	}
	modes := []*haproxycfg.Cookie{
		{Name: "SRV", Insert: true, Indirect: true},
		{Name: "SRV", Prefix: true},
		{Name: "SRV", Rewrite: true},
		{Name: "SRV", Insert: true, Preserve: true, NoCache: true},
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, ck := range modes {
			b := cookieBackend(ck)
			req := &httpRequest{method: "GET", headers: []header{{"Cookie", v}}}
			p := newPersistence(b, req, time.Unix(1700000000, 0))
			if len(req.headers) > 0 && len(req.headers[0].value) > len(v) {
				t.Fatalf("%q grew to %q", v, req.headers[0].value)
			}
			p.chosen = b.Servers()[0]
			out := p.response(200, []header{{"set-cookie", v}, {"cache-control", v}})
			for _, h := range out {
				if strings.ContainsAny(h.value, "\r\n") && !strings.ContainsAny(v, "\r\n") {
					t.Fatalf("response header %q from %q", h.value, v)
				}
			}
		}
	})
}
