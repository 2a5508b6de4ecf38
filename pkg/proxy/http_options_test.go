package proxy

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"hapair/pkg/haproxycfg"
)

// optionsConfig forwards to one server; OPTIONS are haproxy's option
// lines.
const optionsConfig = `global
    log 127.0.0.1:LOGPORT local0
defaults
    mode http
    log global
    option httplog
    timeout client 5s
    timeout server 5s
    timeout connect 1s
listen web
    bind FRONT
OPTIONS    server s1 BACKEND
`

const okResp = "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n"
const okClose = "HTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n"

// optionCases are option sets, requests, and what the server and the
// client see through haproxy 2.6.12 (TestIntegrationHTTPOptionsHaproxy).
var optionCases = []struct {
	name, lines string
	opts        haproxycfg.HTTPOptions
	req         string
	logs        int
	heads       []string
	resp        string
}{
	{"server-close-forwardfor", "option http-server-close\n    option forwardfor\n",
		haproxycfg.HTTPOptions{ConnMode: haproxycfg.HTTPServerClose, ForwardFor: &haproxycfg.ForwardFor{}},
		"GET /a HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.2.3.4\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 2,
		[]string{
			"GET /a HTTP/1.1\r\nhost: h\r\nx-forwarded-for: 1.2.3.4\r\nx-forwarded-for: 127.0.0.1\r\nconnection: close\r\n\r\n",
			"GET /b HTTP/1.1\r\nhost: h\r\nx-forwarded-for: 127.0.0.1\r\nconnection: close\r\n\r\n",
		}, okResp + okClose},
	{"server-close-http10", "option http-server-close\n    option forwardfor\n",
		haproxycfg.HTTPOptions{ConnMode: haproxycfg.HTTPServerClose, ForwardFor: &haproxycfg.ForwardFor{}},
		"GET /c HTTP/1.0\r\nX-Real-IP: 9.9.9.9\r\n\r\n", 1,
		[]string{"GET /c HTTP/1.0\r\nx-real-ip: 9.9.9.9\r\nx-forwarded-for: 127.0.0.1\r\n\r\n"}, okClose},
	{"httpclose-except", "option httpclose\n    option forwardfor except 127.0.0.0/8\n",
		haproxycfg.HTTPOptions{ConnMode: haproxycfg.HTTPClose, ForwardFor: &haproxycfg.ForwardFor{Except: netip.MustParsePrefix("127.0.0.0/8")}},
		"GET /a HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.2.3.4\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 1,
		[]string{"GET /a HTTP/1.1\r\nhost: h\r\nx-forwarded-for: 1.2.3.4\r\nconnection: close\r\n\r\n"}, okClose},
	{"httpclose-http10", "option httpclose\n",
		haproxycfg.HTTPOptions{ConnMode: haproxycfg.HTTPClose},
		"GET /c HTTP/1.0\r\nX-Real-IP: 9.9.9.9\r\n\r\n", 1,
		[]string{"GET /c HTTP/1.0\r\nx-real-ip: 9.9.9.9\r\n\r\n"}, okClose},
	{"forwardfor-header-if-none-absent", "option http-keep-alive\n    option forwardfor header X-Real-IP if-none\n",
		haproxycfg.HTTPOptions{ForwardFor: &haproxycfg.ForwardFor{Header: "X-Real-IP", IfNone: true}},
		"GET /a HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.2.3.4\r\nConnection: close\r\n\r\n", 1,
		[]string{"GET /a HTTP/1.1\r\nhost: h\r\nx-forwarded-for: 1.2.3.4\r\nx-real-ip: 127.0.0.1\r\n\r\n"}, okClose},
	{"forwardfor-header-if-none-present", "option http-keep-alive\n    option forwardfor header X-Real-IP if-none\n",
		haproxycfg.HTTPOptions{ForwardFor: &haproxycfg.ForwardFor{Header: "X-Real-IP", IfNone: true}},
		"GET /c HTTP/1.0\r\nX-Real-IP: 9.9.9.9\r\n\r\n", 1,
		[]string{"GET /c HTTP/1.0\r\nx-real-ip: 9.9.9.9\r\nconnection: keep-alive\r\n\r\n"}, okClose},
}

func checkOptions(t *testing.T, start func(t *testing.T, cfg, backend string, opts haproxycfg.HTTPOptions) wireProxy) {
	t.Helper()
	for _, tc := range optionCases {
		t.Run(tc.name, func(t *testing.T) {
			b := startCaptureBackend(t)
			p := start(t, strings.Replace(optionsConfig, "OPTIONS", "    "+tc.lines, 1), b.addr, tc.opts)
			resp, heads := exchangeAll(t, p, b, tc.req, tc.logs)
			if !reflect.DeepEqual(heads, tc.heads) {
				t.Errorf("the server received\n%q\nwant\n%q", heads, tc.heads)
			}
			if resp != tc.resp {
				t.Errorf("the client got\n%q\nwant\n%q", resp, tc.resp)
			}
		})
	}
}

// TestHTTPOptionsAsHaproxy checks option http-server-close, httpclose,
// http-keep-alive and forwardfor against what haproxy 2.6 does with them.
func TestHTTPOptionsAsHaproxy(t *testing.T) {
	checkOptions(t, func(t *testing.T, cfg, backend string, opts haproxycfg.HTTPOptions) wireProxy {
		// The parser reads the option lines into the model the engine runs.
		parsed, _, err := haproxycfg.Parse("o.cfg", []byte(wireConfig(cfg, "127.0.0.1:1", backend, 9)), haproxycfg.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := parsed.Proxy("web").HTTP
		if got.ForwardFor != nil {
			ff := *got.ForwardFor
			ff.Pos = haproxycfg.Pos{}
			got.ForwardFor = &ff
		}
		if !reflect.DeepEqual(got, opts) {
			t.Fatalf("parsed %+v (forwardfor %+v), want %+v", got, got.ForwardFor, opts)
		}
		return startWireGproxy(t, cfg, backend, nil)
	})
}

// TestIntegrationHTTPOptionsHaproxy checks the case table against the
// reference haproxy 2.6.12.
func TestIntegrationHTTPOptionsHaproxy(t *testing.T) {
	checkOptions(t, func(t *testing.T, cfg, backend string, _ haproxycfg.HTTPOptions) wireProxy {
		return startWireHaproxy(t, cfg, backend)
	})
}
