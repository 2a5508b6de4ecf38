package health

import (
	"context"
	"encoding/hex"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
)

// The bytes each check sends and how it judges the answers, against fixed
// expectations read from haproxy 2.6's src/tcpcheck.c (the request
// templates of proxy_parse_*_opt) and its messages.

// cell is a value the test changes between checks while the fake
// server's handlers read it.
type cell[T any] struct {
	mu sync.Mutex
	v  T
}

func newCell[T any](v T) *cell[T] { return &cell[T]{v: v} }

func (c *cell[T]) get() T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.v
}

func (c *cell[T]) set(v T) {
	c.mu.Lock()
	c.v = v
	c.mu.Unlock()
}

// fakeServer accepts connections on loopback and runs handle on each; got
// collects what the checks sent.
type fakeServer struct {
	ln  net.Listener
	mu  sync.Mutex
	got []byte
}

func serve(t *testing.T, handle func(c net.Conn, read func() string)) *fakeServer {
	t.Helper()
	fs := &fakeServer{}
	ln := haproxytest.Serve(t, 5*time.Second, func(c net.Conn) {
		read := func() string {
			b := make([]byte, 4096)
			n, _ := c.Read(b)
			fs.mu.Lock()
			fs.got = append(fs.got, b[:n]...)
			fs.mu.Unlock()
			return string(b[:n])
		}
		handle(c, read)
	})
	fs.ln = ln
	return fs
}

func (fs *fakeServer) port() int { return fs.ln.Addr().(*net.TCPAddr).Port }

func (fs *fakeServer) sent() []byte {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]byte(nil), fs.got...)
}

// probeFor parses a backend "be" whose lines are given and returns the
// probe of its server s, pointed at port.
func probeFor(t *testing.T, lines string, port int) *Probe {
	t.Helper()
	cfg, diags, err := haproxycfg.Parse("t.cfg", []byte("defaults\n mode tcp\n timeout connect 1s\n timeout check 300ms\n timeout client 1s\n timeout server 1s\nbackend be\n"+
		lines+"\n server s 127.0.0.1:"+strconv.Itoa(port)+" check\n"), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatalf("%v %v", err, diags)
	}
	px := cfg.Proxy("be")
	return ProbeFor(px, px.Servers[0])
}

func runProbe(p *Probe) Result {
	r := p.Run(context.Background(), time.Now)
	r.Duration = 0
	if r.Interim != nil {
		r.Interim.Duration = 0
	}
	return r
}

func TestRedisCheck(t *testing.T) {
	reply := newCell("+PONG\r\n")
	fs := serve(t, func(c net.Conn, read func() string) {
		read()
		io.WriteString(c, reply.get())
	})
	p := probeFor(t, " option redis-check", fs.port())
	if got, want := runProbe(p), (Result{Code: CodeL7OK, Info: "Redis server is ok"}); got != want {
		t.Errorf("PONG: %+v, want %+v", got, want)
	}
	if got := string(fs.sent()); got != redisPing {
		t.Errorf("sent %q, want %q", got, redisPing)
	}
	reply.set("-LOADING Redis is loading the dataset in memory\r\n")
	want := Result{Code: CodeL7STS, Info: "-LOADING Redis is loading the dataset in memory"}
	if got := runProbe(p); got != want {
		t.Errorf("error reply.get(): %+v, want %+v", got, want)
	}
}

// TestTCPCheckRedisRole is the Redis primary check users write: the step
// numbers and messages as haproxy words them.
func TestTCPCheckRedisRole(t *testing.T) {
	const rules = ` option tcp-check
 tcp-check send PING\r\n
 tcp-check expect string +PONG
 tcp-check send info\ replication\r\n
 tcp-check expect string role:master
 tcp-check send QUIT\r\n
 tcp-check expect string +OK`
	role, closeAfter := newCell("master"), newCell(true)
	fs := serve(t, func(c net.Conn, read func() string) {
		for {
			cmd := read()
			switch {
			case cmd == "":
				return
			case strings.HasPrefix(cmd, "PING"):
				io.WriteString(c, "+PONG\r\n")
			case strings.HasPrefix(cmd, "info"):
				io.WriteString(c, "$40\r\n# Replication\r\nrole:"+role.get()+"\r\nconnected_slaves:0\r\n\r\n")
				if role.get() != "master" && closeAfter.get() {
					return
				}
			case strings.HasPrefix(cmd, "QUIT"):
				io.WriteString(c, "+OK\r\n")
				return
			}
		}
	})
	p := probeFor(t, rules, fs.port())
	if got, want := runProbe(p), (Result{Code: CodeL7OK, Info: "(tcp-check)"}); got != want {
		t.Errorf("master: %+v, want %+v", got, want)
	}
	if got, want := string(fs.sent()), "PING\r\ninfo replication\r\nQUIT\r\n"; got != want {
		t.Errorf("sent %q, want %q", got, want)
	}
	role.set("slave")
	want := Result{Code: CodeL7RSP, Info: "TCPCHK did not match content 'role:master' at step 4"}
	if got := runProbe(p); got != want {
		t.Errorf("replica closing: %+v, want %+v", got, want)
	}
	closeAfter.set(false)
	want = Result{Code: CodeL7TOUT, Info: " at step 4 of tcp-check (expect string 'role:master')"}
	if got := runProbe(p); got != want {
		t.Errorf("replica waiting: %+v, want %+v", got, want)
	}
	fs.ln.Close()
	got := runProbe(p)
	if got.Code != CodeL4CON || got.Info != "Connection refused at initial connection step of tcp-check" {
		t.Errorf("refused: %+v", got)
	}
}

func TestPgSQLCheck(t *testing.T) {
	reply := newCell("R\x00\x00\x00\x08\x00\x00\x00\x00")
	fs := serve(t, func(c net.Conn, read func() string) {
		read()
		io.WriteString(c, reply.get())
	})
	p := probeFor(t, " option pgsql-check user haproxy", fs.port())
	if got, want := runProbe(p), (Result{Code: CodeL7OK, Info: "PostgreSQL server is ok"}); got != want {
		t.Errorf("auth ok: %+v, want %+v", got, want)
	}
	// "%[var(check.plen),htonl,hex]" "00030000" "7573657200" "%[var(check.username),hex]00" "00"
	want, _ := hex.DecodeString("00000016" + "00030000" + "7573657200" + hex.EncodeToString([]byte("haproxy")) + "00" + "00")
	if got := fs.sent(); string(got) != string(want) {
		t.Errorf("sent %x, want %x", got, want)
	}
	reply.set("E\x00\x00\x00\x50SFATAL\x00VFATAL\x00C28000\x00Mno pg_hba.conf entry\x00\x00")
	if got, want := runProbe(p), (Result{Code: CodeL7RSP, Info: "FATAL"}); got != want {
		t.Errorf("error: %+v, want %+v", got, want)
	}
	reply.set("R\x00\x00\x00\x0c\x00\x00\x00\x05salt") // md5 password: still a PostgreSQL server
	if got := runProbe(p); got.Code != CodeL7OK {
		t.Errorf("md5 request: %+v", got)
	}
}

func TestMySQLCheck(t *testing.T) {
	greeting := "\x0a" + "10.11.6-MariaDB\x00" + strings.Repeat("\x01", 20)
	hs := string([]byte{byte(len(greeting)), 0, 0, 0}) + greeting
	second := newCell("\x07\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00") // OK packet
	fs := serve(t, func(c net.Conn, read func() string) {
		io.WriteString(c, hs)
		read()
		io.WriteString(c, second.get())
	})
	p := probeFor(t, " option mysql-check user haproxy", fs.port())
	// haproxy reports the server version first (the log line's info),
	// then the pass of the whole check with no info.
	if got, want := runProbe(p), (Result{Code: CodeL7OK}); got.Interim == nil || *got.Interim != (Result{Code: CodeL7OK, Info: "10.11.6-MariaDB"}) {
		t.Errorf("ok: interim %+v, want the version", got.Interim)
	} else if got.Interim = nil; got != want {
		t.Errorf("ok: %+v, want %+v", got, want)
	}
	// "%[var(check.header),hex]" "00820000" "00800001" "21" 23 zeroes "%[var(check.username),hex]00" "00" "010000" "00" "01"
	want, _ := hex.DecodeString("29000001" + "00820000" + "00800001" + "21" + strings.Repeat("00", 23) +
		hex.EncodeToString([]byte("haproxy")) + "00" + "00" + "010000" + "00" + "01")
	if got := fs.sent(); string(got) != string(want) {
		t.Errorf("sent %x, want %x", got, want)
	}
	msg := "#28000Access denied for user 'haproxy'@'127.0.0.1'"
	second.set(string([]byte{byte(3 + len(msg)), 0, 0, 2, 0xff, 0x15, 0x04}) + msg)
	if got, want := runProbe(p), (Result{Code: CodeL7STS, HTTP: 1045, Info: msg}); got != want {
		t.Errorf("denied: %+v, want %+v", got, want)
	}
	pre, _ := hex.DecodeString("0e000001" + "0080" + "000001" + hex.EncodeToString([]byte("haproxy")) + "00" + "00" + "010000" + "00" + "01")
	if got := mysqlAuth("haproxy", true); string(got) != string(pre) {
		t.Errorf("pre-41: %x, want %x", got, pre)
	}
}

func TestSMTPCheck(t *testing.T) {
	greet, helo := newCell("220 mx.example ESMTP\r\n"), newCell("250 mx.example\r\n")
	fs := serve(t, func(c net.Conn, read func() string) {
		io.WriteString(c, greet.get())
		if greet.get()[0] != '2' {
			return
		}
		read()
		io.WriteString(c, helo.get())
	})
	p := probeFor(t, " option smtpchk EHLO lb.example", fs.port())
	if got, want := runProbe(p), (Result{Code: CodeL7OK, HTTP: 250, Info: "mx.example"}); got != want {
		t.Errorf("ok: %+v, want %+v", got, want)
	}
	if got := string(fs.sent()); got != "EHLO lb.example\r\n" {
		t.Errorf("sent %q", got)
	}
	greet.set("554 go away\r\n")
	if got, want := runProbe(p), (Result{Code: CodeL7STS, HTTP: 554, Info: "go away"}); got != want {
		t.Errorf("554: %+v, want %+v", got, want)
	}
}

func TestLDAPCheck(t *testing.T) {
	reply := newCell("\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00")
	fs := serve(t, func(c net.Conn, read func() string) {
		read()
		io.WriteString(c, reply.get())
	})
	p := probeFor(t, " option ldap-check", fs.port())
	if got, want := runProbe(p), (Result{Code: CodeL7OK}); got.Interim == nil || *got.Interim != (Result{Code: CodeL7OK, Info: "Success"}) {
		t.Errorf("ok: interim %+v, want Success", got.Interim)
	} else if got.Interim = nil; got != want {
		t.Errorf("ok: %+v, want %+v", got, want)
	}
	if got, want := hex.EncodeToString(fs.sent()), "300c020101600702010304008000"; got != want {
		t.Errorf("sent %s, want %s", got, want)
	}
	reply.set("\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x31\x04\x00\x04\x00")
	if got, want := runProbe(p), (Result{Code: CodeL7STS, HTTP: 0x31, Info: "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9"}); got != want {
		t.Errorf("invalid credentials: %+v, want %+v", got, want)
	}
}

func TestSSLHelloBytes(t *testing.T) {
	b := sslHello(time.Unix(0x01020304, 0))
	// 16 0300 0079 01 000075 0300 <time> <28 random> 00 004E <39 suites> 01 00
	want := "160300007901000075030001020304484150524f585953534c43484b0a484150524f585953534c43484b0a00004e" +
		"0001000200030004000500060007000800090" + "00a000b000c000d000e000f00100011001200130014001500160017001800190" +
		"01a001b002f0030003100320033003400350036003700380039003a0100"
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("hello\n got %s\nwant %s", got, want)
	}
	if len(b) != 5+0x79 {
		t.Errorf("length %d, want %d", len(b), 5+0x79)
	}
	fs := serve(t, func(c net.Conn, read func() string) {
		read()
		io.WriteString(c, "\x16\x03\x01\x00\x31\x02")
	})
	p := probeFor(t, " option ssl-hello-chk", fs.port())
	if got, want := runProbe(p), (Result{Code: CodeL6OK}); got != want {
		t.Errorf("server hello: %+v, want %+v", got, want)
	}
}

// TestHTTPCheckRules: http-check send with headers and a body, the
// implicit and explicit expectations.
func TestHTTPCheckRules(t *testing.T) {
	status := newCell("200 OK")
	fs := serve(t, func(c net.Conn, read func() string) {
		read()
		io.WriteString(c, "HTTP/1.1 "+status.get()+"\r\ncontent-length: 7\r\nx-role: primary\r\n\r\nprimary")
	})
	p := probeFor(t, ` option httpchk
 http-check send meth POST uri /check ver HTTP/1.1 hdr Host db.example body ping
 http-check expect status 200
 http-check expect hdr name x-role value primary
 http-check expect string primary`, fs.port())
	if got, want := runProbe(p), (Result{Code: CodeL7OK, HTTP: 200}); got != want {
		t.Errorf("200: %+v, want %+v", got, want)
	}
	if got, want := string(fs.sent()), "POST /check HTTP/1.1\r\nhost: db.example\r\ncontent-length: 4\r\nconnection: close\r\n\r\nping"; got != want {
		t.Errorf("sent %q, want %q", got, want)
	}
	status.set("503 Service Unavailable")
	if got, want := runProbe(p), (Result{Code: CodeL7STS, HTTP: 503, Info: "Service Unavailable"}); got != want {
		t.Errorf("503: %+v, want %+v", got, want)
	}
}

// TestRequestMatchesHAProxy compares the check requests with the bytes
// haproxy 2.6 sent for testdata/haproxy26_httpchk.cfg.
func TestRequestMatchesHAProxy(t *testing.T) {
	b, err := os.ReadFile("testdata/haproxy26_httpchk.cfg")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := haproxycfg.Parse("haproxy26_httpchk.cfg", b, haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, be := range []string{"b1", "b2", "b3", "b4"} {
		px := cfg.Proxy(be)
		want, err := os.ReadFile("testdata/haproxy26_httpchk_" + strconv.Itoa(px.Servers[0].Port) + ".txt")
		if err != nil {
			t.Fatal(err)
		}
		p := ProbeFor(px, px.Servers[0])
		var got []byte
		for _, st := range p.Steps {
			if st.HTTP != nil {
				got = httpRequest(st.HTTP, "", nil)
			}
		}
		if string(got) != string(want) {
			t.Errorf("%s: request %q, haproxy sends %q", be, got, want)
		}
	}
}

// A check to an address the kernel cannot route (here the broadcast
// address) fails at once with haproxy's "General socket error (...)".
func TestConnectErrText(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ENETUNREACH)}, "General socket error (Network is unreachable)"},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.EACCES)}, "General socket error (Permission denied)"},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "Connection refused"},
	} {
		if got := connectErrText(tc.err); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.err, got, tc.want)
		}
	}
}
