package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/accesslog"
	"hapair/pkg/haproxycfg"
	"hapair/pkg/porttest"
)

// deadline bounds every poll in these tests; nothing asserts on timing.
const deadline = 10 * time.Second

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// listen opens a loopback listener and the Bind that names it.
func listen(t *testing.T) (net.Listener, haproxycfg.Bind) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, haproxycfg.Bind{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}
}

// deadPort is a loopback port nobody listens on.
func deadPort(t *testing.T) int {
	t.Helper()
	return porttest.Free(t)
}

// backend is a small test server; handler runs per connection.
type backend struct {
	port     int
	accepted atomic.Int64
}

func startBackend(t *testing.T, handler func(c *net.TCPConn)) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{port: ln.Addr().(*net.TCPAddr).Port}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.accepted.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handler(c.(*net.TCPConn))
			}()
		}
	}()
	return b
}

// echo copies back what it reads, then half-closes.
func echo(c *net.TCPConn) {
	_, _ = io.Copy(c, c)
	_ = c.CloseWrite()
}

// hello writes the name and closes.
func hello(name string) func(*net.TCPConn) {
	return func(c *net.TCPConn) { _, _ = io.WriteString(c, name) }
}

func server(name string, port int) *haproxycfg.Server {
	return &haproxycfg.Server{Name: name, Host: "127.0.0.1", Port: port, Weight: 1, Rise: 2, Fall: 3}
}

// listenProxy is a `listen` section over the given servers, logging.
func listenProxy(name string, bind haproxycfg.Bind, servers ...*haproxycfg.Server) *haproxycfg.Proxy {
	return &haproxycfg.Proxy{
		Name:    name,
		Kind:    haproxycfg.KindListen,
		Mode:    haproxycfg.ModeTCP,
		Binds:   []haproxycfg.Bind{bind},
		Balance: haproxycfg.RoundRobin,
		Timeouts: haproxycfg.Timeouts{
			Client: 10 * time.Second, Server: 10 * time.Second, Connect: 2 * time.Second,
		},
		Retries: 3,
		Options: haproxycfg.Options{TCPLog: true},
		Logs:    []haproxycfg.LogTarget{{Network: "udp", Address: "127.0.0.1:514"}},
		Servers: servers,
	}
}

// logSink collects session logs.
type logSink struct {
	mu   sync.Mutex
	logs []accesslog.Session
}

func (l *logSink) add(_ *haproxycfg.Proxy, s accesslog.Session) {
	l.mu.Lock()
	l.logs = append(l.logs, s)
	l.mu.Unlock()
}

func (l *logSink) all() []accesslog.Session {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]accesslog.Session(nil), l.logs...)
}

// wait returns the n-th log (from 1), waiting for it.
func (l *logSink) wait(t *testing.T, n int) accesslog.Session {
	t.Helper()
	eventually(t, fmt.Sprintf("%d session logs", n), func() bool { return len(l.all()) >= n })
	return l.all()[n-1]
}

func ts(s accesslog.Session) string { return string([]byte{s.TermCause, s.TermState}) }

// run builds, binds and serves an engine over the listeners given.
func run(t *testing.T, cfg *haproxycfg.Config, lns ...net.Listener) (*Engine, *logSink) {
	t.Helper()
	return runOpts(t, cfg, Options{}, lns...)
}

// runOpts is run with the options given (a clock); the logger, session
// log and listeners are run's.
func runOpts(t *testing.T, cfg *haproxycfg.Config, opts Options, lns ...net.Listener) (*Engine, *logSink) {
	t.Helper()
	sink := &logSink{}
	m := map[string]net.Listener{}
	for _, ln := range lns {
		m[ln.Addr().String()] = ln
	}
	opts.Logger, opts.SessionLog, opts.Listeners = zerolog.Nop(), sink.add, m
	e, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Bind(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- e.Serve(context.Background()) }()
	t.Cleanup(func() {
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		e.Wait(ctx)
		if ctx.Err() != nil {
			t.Error("sessions still running after Close")
		}
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(deadline):
			t.Error("Serve did not return after Close")
		}
	})
	return e, sink
}

func dial(t *testing.T, b haproxycfg.Bind) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", b.Address())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// readAll reads until EOF within the deadline.
func readAll(t *testing.T, c net.Conn) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(deadline))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return b
}

// readClosed reads until the proxy closes the connection, by FIN or by
// reset (closing a socket with unread client data sends a reset, as with
// haproxy).
func readClosed(t *testing.T, c net.Conn) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(deadline))
	b, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read: %v", err)
	}
	return b
}

// roundTrip writes msg and reads len(msg) bytes back.
func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(deadline))
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("echo of %q: %v", msg, err)
	}
	if !bytes.Equal(buf, []byte(msg)) {
		t.Fatalf("echo = %q, want %q", buf, msg)
	}
}

// serveHTTPLogged runs the engine on cfg with lns, local answering the
// stats and Prometheus requests and check (may be nil) seeing each
// logging proxy; it returns the httplog lines so far. Stopped at cleanup.
func serveHTTPLogged(t *testing.T, cfg *haproxycfg.Config, lns map[string]net.Listener, local http.Handler, check func(*haproxycfg.Proxy)) func() []string {
	t.Helper()
	var mu sync.Mutex
	var msgs []string
	e, err := New(cfg, Options{
		Logger:      zerolog.Nop(),
		Listeners:   lns,
		HTTPHandler: func(*haproxycfg.Proxy) http.Handler { return local },
		SessionLog: func(px *haproxycfg.Proxy, s accesslog.Session) {
			if check != nil {
				check(px)
			}
			mu.Lock()
			msgs = append(msgs, accesslog.HTTPLog(s))
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	go e.Serve(context.Background())
	t.Cleanup(func() {
		e.Close()
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		e.Wait(ctx)
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), msgs...)
	}
}
