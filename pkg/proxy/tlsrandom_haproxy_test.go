package proxy

import (
	"bufio"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/tlsconf/tlstest"
)

// wireRandoms records the first bytes each way of a connection, where
// the hellos' randoms are.
type wireRandoms struct {
	net.Conn
	mu      sync.Mutex
	in, out []byte
}

func (w *wireRandoms) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	w.mu.Lock()
	if len(w.in) < 4096 {
		w.in = append(w.in, p[:n]...)
	}
	w.mu.Unlock()
	return n, err
}

func (w *wireRandoms) Write(p []byte) (int, error) {
	w.mu.Lock()
	if len(w.out) < 4096 {
		w.out = append(w.out, p...)
	}
	w.mu.Unlock()
	return w.Conn.Write(p)
}

// wireRandom is the hex random of the first hello in the records of b
// that is not a HelloRetryRequest (RFC 8446 section 4.1.3: a ServerHello
// with a fixed random, which OpenSSL does not report).
func wireRandom(b []byte) string {
	const hrr = "CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C"
	for len(b) >= 43 {
		size := 5 + int(b[3])<<8 + int(b[4])
		if b[0] == 0x16 && (b[5] == 1 || b[5] == 2) {
			if r := strings.ToUpper(hex.EncodeToString(b[11:43])); r != hrr {
				return r
			}
		} else if b[0] != 0x14 {
			break
		}
		if size > len(b) {
			break
		}
		b = b[size:]
	}
	return "short"
}

// The hellos' randoms as haproxy 2.6 fetches them: ssl_fc_client_random
// and ssl_fc_server_random on the client's connection, ssl_bc_* on the
// server's, in TLS 1.2 and 1.3; each must be what went on the wire (the
// test's client and server record it), for haproxy and for gproxy, and
// a clear-text connection has none.
func TestIntegrationTLSRandomsHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Random CA")
	leaf := ca.Issue(t, tlstest.ECDSA, "r.test", "r.test")
	tlstest.Write(t, filepath.Join(dir, "r.pem"), leaf.Bundle())
	cert, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	// The TLS server behind both: it answers with the randoms it saw.
	srv := haproxytest.Serve(t, deadline, func(c net.Conn) {
		w := &wireRandoms{Conn: c}
		tc := tls.Server(w, &tls.Config{Certificates: []tls.Certificate{cert}})
		br := bufio.NewReader(tc)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			req.Body.Close()
			w.mu.Lock()
			c, s := wireRandom(w.in), wireRandom(w.out)
			w.mu.Unlock()
			fmt.Fprintf(tc, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nwc: %s\r\nws: %s\r\n\r\n", c, s)
		}
	})
	// The same, asking for a P-384 key share: a HelloRetryRequest to
	// clients that sent X25519's.
	srvHRR := haproxytest.Serve(t, deadline, func(c net.Conn) {
		w := &wireRandoms{Conn: c}
		tc := tls.Server(w, &tls.Config{Certificates: []tls.Certificate{cert}, CurvePreferences: []tls.CurveID{tls.CurveP384}})
		br := bufio.NewReader(tc)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			req.Body.Close()
			w.mu.Lock()
			c, s := wireRandom(w.in), wireRandom(w.out)
			w.mu.Unlock()
			fmt.Fprintf(tc, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nwc: %s\r\nws: %s\r\n\r\n", c, s)
		}
	})
	fill := func(ports map[string]int) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
frontend tls
    bind 127.0.0.1:%d ssl crt %s
    http-request set-var(txn.c) ssl_fc_client_random,hex
    http-request set-var(txn.s) ssl_fc_server_random,hex
    http-response set-header fc %%[var(txn.c)]/%%[var(txn.s)]
    http-response set-header bc %%[ssl_bc_client_random,hex]/%%[ssl_bc_server_random,hex]
    default_backend be
frontend hrr
    bind 127.0.0.1:%d ssl crt %s curves P-384
    http-request set-var(txn.c) ssl_fc_client_random,hex
    http-request set-var(txn.s) ssl_fc_server_random,hex
    http-response set-header fc %%[var(txn.c)]/%%[var(txn.s)]
    http-response set-header bc %%[ssl_bc_client_random,hex]/%%[ssl_bc_server_random,hex]
    default_backend behrr
frontend clear
    bind 127.0.0.1:%d
    http-request return status 200 hdr fc "%%[ssl_fc_client_random,hex]/%%[ssl_fc_server_random,hex]"
backend be
    server s %s ssl verify none
backend behrr
    server s %s ssl verify none
`, ports["tls"], filepath.Join(dir, "r.pem"), ports["hrr"], filepath.Join(dir, "r.pem"), ports["clear"], srv.Addr(), srvHRR.Addr())
	}
	hp, gp := startPair(t, dir, []string{"tls", "hrr", "clear"}, fill)
	observe := func(ports map[string]int) map[string]string {
		o := map[string]string{}
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13, 0} {
			fe, k := "tls", fmt.Sprintf("%x", v)
			cc := &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v}
			if v == 0 {
				// TLS 1.3 with an X25519 key share to a frontend and a
				// server wanting P-384: a HelloRetryRequest on each side.
				fe, k = "hrr", "hrr"
				cc = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP384}}
			}
			raw, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", ports[fe]), deadline)
			if err != nil {
				t.Fatal(err)
			}
			w := &wireRandoms{Conn: raw}
			c := tls.Client(w, cc)
			c.SetDeadline(time.Now().Add(deadline))
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nhost: x\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			c.Close()
			if err != nil {
				o[k] = err.Error()
				continue
			}
			w.mu.Lock()
			wire := wireRandom(w.out) + "/" + wireRandom(w.in)
			w.mu.Unlock()
			// Each side's randoms as fetched, compared with the wire.
			same := func(fetched, wire string) string {
				if fetched == wire {
					return "as on the wire"
				}
				return fmt.Sprintf("%q, on the wire %q", fetched, wire)
			}
			o[k+" fc"] = same(resp.Header.Get("fc"), wire)
			o[k+" bc"] = same(resp.Header.Get("bc"), resp.Header.Get("wc")+"/"+resp.Header.Get("ws"))
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", ports["clear"]))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		o["clear fc"] = resp.Header.Get("fc")
		return o
	}
	want, got := observe(hp), observe(gp)
	haproxytest.CompareObservations(t, "randoms", want, got, haproxytest.Equal, map[string]string{
		"303 fc": "as on the wire", "304 fc": "as on the wire",
		"303 bc": "as on the wire", "304 bc": "as on the wire",
		"hrr fc": "as on the wire", "hrr bc": "as on the wire",
		"clear fc": "/",
	})
}
