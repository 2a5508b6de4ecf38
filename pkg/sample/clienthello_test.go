package sample

import (
	"bytes"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"
)

// clientHello returns the first flight of a Go TLS client (a real
// ClientHello record) for server name sni.
func clientHello(t testing.TB, sni string) []byte {
	t.Helper()
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		cl := tls.Client(c, &tls.Config{ServerName: sni, InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12})
		_ = cl.SetDeadline(time.Now().Add(2 * time.Second))
		_ = cl.Handshake()
		cl.Close()
	}()
	_ = s.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4096)
	var out []byte
	for {
		n, err := s.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
		if len(out) >= 5 && len(out) >= 5+int(out[3])<<8+int(out[4]) {
			break
		}
	}
	return out[:5+int(out[3])<<8+int(out[4])]
}

func TestClientHelloPeek(t *testing.T) {
	hello := clientHello(t, "www.example.com")
	if sni, ok := ClientHelloSNI(hello); !ok || sni != "www.example.com" {
		t.Errorf("SNI = %q, %v; want www.example.com", sni, ok)
	}
	if typ, ok := HelloType(hello); !ok || typ != 1 {
		t.Errorf("hello type = %d, %v; want 1", typ, ok)
	}
	if v, ok := ClientHelloVersion(hello); !ok || v != 3<<16|3 {
		t.Errorf("version = %#x, %v; want 0x30003 (TLS 1.2)", v, ok)
	}
	// Conditions as `tcp-request content` evaluates them: every strict
	// prefix of the hello is "not known yet", the whole one is decided.
	acls := ACLSet{}
	cond, err := ParseCond(strings.Fields("if { req.ssl_sni -i www.example.com } { req.ssl_hello_type 1 } { req.ssl_ver 3.3 }"), acls, nil)
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(hello); n++ {
		txn := &Txn{Payload: hello[:n]}
		if holds, final := cond.EvalMore(txn); holds || final {
			t.Fatalf("prefix %d/%d: holds=%v final=%v, want not final", n, len(hello), holds, final)
		}
		if cond.Eval(txn) {
			t.Fatalf("prefix %d: Eval true on a partial hello", n)
		}
	}
	txn := &Txn{Payload: hello}
	if holds, final := cond.EvalMore(txn); !holds || !final {
		t.Errorf("whole hello: holds=%v final=%v, want true, true", holds, final)
	}
	// Not TLS: decided at once, false.
	txn = &Txn{Payload: []byte("GET / HTTP/1.1\r\n")}
	if holds, final := cond.EvalMore(txn); holds || !final {
		t.Errorf("HTTP payload: holds=%v final=%v, want false, true", holds, final)
	}
	// An SNI lying about its length is refused, never read past the end.
	bad := bytes.Clone(hello)
	i := bytes.Index(bad, []byte("www.example.com"))
	bad[i-1] = 0xff
	if sni, ok := ClientHelloSNI(bad); ok {
		t.Errorf("corrupted SNI length accepted: %q", sni)
	}
}

func FuzzClientHello(f *testing.F) {
	f.Add(clientHello(f, "a.example"))
	f.Add([]byte{0x16, 3, 1, 0, 60, 1, 0, 0, 56, 3, 3})
	f.Add([]byte{0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10})
	f.Fuzz(func(t *testing.T, d []byte) {
		if sni, ok := ClientHelloSNI(d); ok && !bytes.Contains(d, []byte(sni)) {
			t.Fatalf("SNI %q not in the input", sni)
		}
		HelloType(d)
		ClientHelloVersion(d)
		txn := &Txn{Payload: d}
		for _, name := range []string{"req.ssl_sni", "req.ssl_hello_type", "req.ssl_ver", "req.len", "req.rdp_cookie"} {
			e, err := ParseExpr(name, nil)
			if err != nil {
				t.Fatal(err)
			}
			e.Eval(txn)
		}
	})
}
