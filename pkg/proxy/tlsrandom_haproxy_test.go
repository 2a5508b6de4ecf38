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
	if len(w.in) < 43 {
		w.in = append(w.in, p[:n]...)
	}
	w.mu.Unlock()
	return n, err
}

func (w *wireRandoms) Write(p []byte) (int, error) {
	w.mu.Lock()
	if len(w.out) < 43 {
		w.out = append(w.out, p...)
	}
	w.mu.Unlock()
	return w.Conn.Write(p)
}

// random is the hex random of the hello at the start of b.
func wireRandom(b []byte) string {
	if len(b) < 43 {
		return "short"
	}
	return strings.ToUpper(hex.EncodeToString(b[11:43]))
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
frontend clear
    bind 127.0.0.1:%d
    http-request return status 200 hdr fc "%%[ssl_fc_client_random,hex]/%%[ssl_fc_server_random,hex]"
backend be
    server s %s ssl verify none
`, ports["tls"], filepath.Join(dir, "r.pem"), ports["clear"], srv.Addr())
	}
	hp, gp := startPair(t, dir, []string{"tls", "clear"}, fill)
	observe := func(ports map[string]int) map[string]string {
		o := map[string]string{}
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			raw, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", ports["tls"]), deadline)
			if err != nil {
				t.Fatal(err)
			}
			w := &wireRandoms{Conn: raw}
			c := tls.Client(w, &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v})
			c.SetDeadline(time.Now().Add(deadline))
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nhost: x\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			c.Close()
			k := fmt.Sprintf("%x", v)
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
		"clear fc": "/",
	})
}
