package sample

import (
	"strings"
	"testing"
)

// The payload of a mode tcp stream read as an HTTP request head.
func TestParseRequestHead(t *testing.T) {
	for _, c := range []struct {
		in    string
		state rawState
		want  string // method uri version; headers
	}{
		{"GET /a HTTP/1.1\r\nHost: x\r\n\r\n", rawOK, "GET /a HTTP/1.1; Host=x"},
		{"GET /a HTTP/1.1\nHost: x \n\n", rawOK, "GET /a HTTP/1.1; Host=x"},
		{"GET /a HTTP/1.1\r\nA: 1\r\n  2\r\nB:3\r\n\r\nbody", rawOK, "GET /a HTTP/1.1; A=1 2; B=3"},
		{"GET /old\r\n", rawOK, "GET /old HTTP/1.0"},
		{"POST /old\r\n", rawInvalid, ""},
		{"GET /a HTTP/1.1\r\nHost: x\r\n", rawIncomplete, ""},
		{"GET /a HTT", rawIncomplete, ""},
		{"", rawIncomplete, ""},
		{"hello\n", rawInvalid, ""},
		{"GET /a HTTP/1.1\r\nBad Name: x\r\n\r\n", rawInvalid, ""},
		{"GET /a HTTP/1.1\r\n continued\r\n\r\n", rawInvalid, ""},
		{"GET /a\x01 HTTP/1.1\r\n\r\n", rawInvalid, ""},
		{"GET /a HTTP/1.10\r\n\r\n", rawInvalid, ""},
		{"\x16\x03\x01\x00\xa5\x01", rawInvalid, ""},
		{"GET /a HTTP/1", rawIncomplete, ""},
		{"GET /a FTP", rawInvalid, ""},
		{"GET /old\r", rawIncomplete, ""},
		{" GET", rawInvalid, ""},
	} {
		var m Message
		st := parseRequestHead([]byte(c.in), &m)
		if st != c.state {
			t.Errorf("%q: state %d, want %d", c.in, st, c.state)
			continue
		}
		if st != rawOK {
			continue
		}
		got := m.Method + " " + m.URI + " " + m.Version
		for _, h := range m.Headers {
			got += "; " + h.Name + "=" + h.Value
		}
		if got != c.want {
			t.Errorf("%q: %q, want %q", c.in, got, c.want)
		}
	}
}

// HTTP fetches on a mode tcp payload: no sample while the head is
// incomplete (may change), the request's values once it is there, no
// sample for good on what is not HTTP.
func TestHTTPFetchOnPayload(t *testing.T) {
	e, err := ParseExpr("path", &ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tx := &Txn{Payload: []byte("GET /adm"), Stream: true}
	if _, ok, final := e.EvalMore(tx); ok || final {
		t.Fatalf("incomplete head: ok %v final %v, want no sample that may change", ok, final)
	}
	tx.Payload = append(tx.Payload, "in/x HTTP/1.1\r\nHost: h\r\n\r\n"...)
	if v, ok, final := e.EvalMore(tx); !ok || !final || v.Str != "/admin/x" {
		t.Fatalf("full head: %q ok %v final %v", v.Str, ok, final)
	}
	if tx.Req != nil {
		t.Fatal("the parsed head stayed in Txn.Req")
	}
	tx = &Txn{Payload: []byte("SSH-2.0-x\r\n"), Stream: true}
	if _, ok, final := e.EvalMore(tx); ok || !final {
		t.Fatalf("not HTTP: ok %v final %v, want no sample for good", ok, final)
	}
	tx = &Txn{Payload: []byte(strings.Repeat("a", rawFullBuffer)), Stream: true}
	if _, ok, final := e.EvalMore(tx); ok || !final {
		t.Fatalf("full buffer without a head: ok %v final %v", ok, final)
	}
}

func FuzzRawRequest(f *testing.F) {
	for _, s := range []string{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET /x\n", "A: b\r\n c\r\n", "GET / HTTP/1.0\nX:\n\tY\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if parseRequestHead(b, &m) == rawOK && (m.Method == "" || m.URI == "" || len(m.Version) != 8) {
			t.Fatalf("%q: accepted with an empty request line part: %+v", b, m)
		}
	})
}
