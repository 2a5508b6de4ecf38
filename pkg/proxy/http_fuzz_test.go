package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/accesslog"
	"hapair/pkg/haproxycfg"
)

// fuzzDeadline bounds one fuzz exchange: the frontend must answer or close
// within it (its http-request timeout is 1 s).
const fuzzDeadline = 5 * time.Second

// fuzzFrontend is an engine with one `mode http` listen section in front
// of an echoing backend, shared by every iteration of a fuzz worker.
type fuzzFrontend struct {
	addr string
	mu   sync.Mutex
	logs int
}

func startFuzzFrontend(f *testing.F) *fuzzFrontend {
	f.Helper()
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %d\n", r.Method, r.URL.RequestURI(), len(body))
	}))
	f.Cleanup(be.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	bind := haproxycfg.Bind{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}
	px := listenProxy("fuzz", bind, server("echo", be.Listener.Addr().(*net.TCPAddr).Port))
	px.Mode = haproxycfg.ModeHTTP
	px.Options = haproxycfg.Options{HTTPLog: true}
	px.Timeouts = haproxycfg.Timeouts{Client: 2 * time.Second, Server: 2 * time.Second, Connect: time.Second, HTTPRequest: time.Second}
	ff := &fuzzFrontend{addr: bind.Address()}
	e, err := New(&haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, Options{
		Logger:    zerolog.Nop(),
		Listeners: map[string]net.Listener{bind.Address(): ln},
		SessionLog: func(_ *haproxycfg.Proxy, s accesslog.Session) {
			_ = accesslog.HTTPLog(s) // the formatter must take whatever we record
			ff.mu.Lock()
			ff.logs++
			ff.mu.Unlock()
		},
	})
	if err != nil {
		f.Fatal(err)
	}
	go e.Serve(context.Background())
	f.Cleanup(func() {
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		e.Wait(ctx)
	})
	return ff
}

// exchange sends raw bytes, half-closes, and returns everything the
// frontend sent back before closing.
func (ff *fuzzFrontend) exchange(t *testing.T, raw []byte) []byte {
	t.Helper()
	c, err := net.DialTimeout("tcp", ff.addr, fuzzDeadline)
	if err != nil {
		t.Fatalf("frontend down: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(fuzzDeadline))
	// The frontend may close early (a bad head): a failed write is fine.
	_, _ = c.Write(raw)
	_ = c.(*net.TCPConn).CloseWrite()
	out, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		if isTimeout(err) {
			t.Fatalf("no answer nor close within %s for %q (got %q)", fuzzDeadline, raw, out)
		}
	}
	return out
}

func isReset(err error) bool { return err != nil && strings.Contains(err.Error(), "connection reset") }

var fuzzSeeds = []string{
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
	"POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n",
	"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /again HTTP/1.0\r\n\r\n",
	// Smuggling attempts.
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\nContent-Length: 1\r\n\r\nx",
	"POAT / HTTP/1.9\r\n#nth:\r\nTransfer-Encoding:,Chunked \n\r\n000000000000000",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcGET / HTTP/1.1\r\n\r\n",
	// Huge, bare LF, NUL, folding, odd lines.
	"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("b", 17000) + "\r\n\r\n",
	"GET /" + strings.Repeat("u", 16000) + " HTTP/1.1\r\n\r\n",
	"GET /lf HTTP/1.1\nHost: a\n\n",
	"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",
	"GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n",
	"GET / HTTP/1.1\r\n folded: x\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a b{}\r\n\r\n",
	"GET http://x/abs HTTP/1.1\r\n\r\n",
	"GET / HTTP/9.9\r\n\r\n",
	"GET / HTTP/1.1",
	"GARBAGE\r\n\r\n",
	"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n",
	"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
	"POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
	"\r\n\r\n",
	"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
	"",
}

// FuzzHTTPFrontend sends raw bytes as a client to a running mode http
// frontend and checks that it never panics nor hangs: it answers a head
// its parser refuses with 400, a cut one with 400 or a close, every request
// it accepts with a well-formed response, and still serves a normal
// request afterwards.
func FuzzHTTPFrontend(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	ff := startFuzzFrontend(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := ff.exchange(t, raw)
		req, perr := readRequest(bufio.NewReaderSize(bytes.NewReader(raw), 16384))
		switch {
		case errors.Is(perr, errBadRequest):
			if !bytes.HasPrefix(out, []byte("HTTP/1.1 400 ")) {
				t.Fatalf("bad request %q answered %q, want 400", raw, out)
			}
		case errors.Is(perr, errUnknownCoding):
			// A coding other than chunked, an empty one too (",chunked"):
			// haproxy 2.6 answers 422 (checked with socat).
			if !bytes.HasPrefix(out, []byte("HTTP/1.1 422 ")) {
				t.Fatalf("request %q with an unknown coding answered %q, want 422", raw, out)
			}
		case perr != nil:
			// Empty or cut, then the client's close of its sending side:
			// haproxy 2.6 answers 400 all the same (seen with socat on
			// "GET / HTTP/1.1", "" and a TLS record start).
			if len(out) != 0 && !bytes.HasPrefix(out, []byte("HTTP/1.1 400 ")) {
				t.Fatalf("cut request %q answered %q, want a 400 or a close", raw, out)
			}
		case len(out) == 0:
			// Only a body cut by the client's close ends without a word.
			if !req.chunked && req.contentLength <= 0 {
				t.Fatalf("request %q got no answer", raw)
			}
		default:
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
			if err != nil {
				t.Fatalf("request %q answered %q: %v", raw, out, err)
			}
			resp.Body.Close()
		}
		ok := ff.exchange(t, []byte("GET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
		if !bytes.HasPrefix(ok, []byte("HTTP/1.1 200 ")) || !bytes.HasSuffix(ok, []byte("GET /after 0\n")) {
			t.Fatalf("after %q a normal request got %q", raw, ok)
		}
	})
}
