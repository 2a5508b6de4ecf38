package haproxycfg

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// errorFileCases are errorfile contents and what haproxy 2.6.12's -c says
// of each ("" when valid), checked against haproxy by
// TestIntegrationErrorFileCheckMatchesHaproxy.
var errorFileCases = []struct {
	name, content, err string
}{
	{"debian-503", "HTTP/1.0 503 Service Unavailable\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n\n", ""},
	{"empty", "", ""},
	{"garbage", "garbage\n", "unable to parse headers (error offset: 0)"},
	{"cl-mismatch-long", "HTTP/1.0 503 Oops\r\nContent-Length: 3\r\n\r\nabcdef", "payload size does not match the announced content-length (6 != 3)"},
	{"cl-mismatch-short", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "payload size does not match the announced content-length (3 != 10)"},
	{"no-end-of-head", "HTTP/1.0 503 Oops\r\nX-A: b\r\n", "unable to parse headers (error offset: -2)"},
	{"cr-at-end", "HTTP/1.1 503 X\r\nA: b\r\n\r", "unable to parse headers (error offset: -2)"},
	{"ok", "HTTP/1.1 503 Oops\r\nX-A: b\r\n\r\nbody", ""},
	{"bare-lf", "HTTP/1.1 503 Oops\nX-A: b\n\nbody", ""},
	{"no-reason", "HTTP/1.1 503\r\n\r\n", ""},
	{"chunked", "HTTP/1.1 503 Oops\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "chunk-encoded payload not supported"},
	{"space-in-name", "HTTP/1.1 503 Oops\r\nBad Header: x\r\n\r\n", "unable to parse headers (error offset: 22)"},
	{"request", "GET / HTTP/1.1\r\n\r\n", "unable to parse headers (error offset: 4)"},
	{"cl-conflict", "HTTP/1.1 503 Oops\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc", "unable to parse headers (error offset: 54)"},
	{"cl-plus", "HTTP/1.1 503 Oops\r\nContent-Length: +3\r\n\r\nabc", "unable to parse headers (error offset: 35)"},
	{"cl-empty", "HTTP/1.1 503 X\r\nContent-Length:  \r\n\r\n", "unable to parse headers (error offset: 33)"},
	{"status-100", "HTTP/1.1 100 Continue\r\n\r\n", "invalid http status code for an error message (100)"},
	{"status-102", "HTTP/1.1 102 X\r\n\r\n", "invalid http status code for an error message (102)"},
	{"status-101", "HTTP/1.1 101 X\r\n\r\n", ""},
	{"lower-version", "http/1.1 503 X\r\n\r\n", "unable to parse headers (error offset: 0)"},
	{"bad-status", "HTTP/1.1 5x3 X\r\n\r\n", "unable to parse headers (error offset: 10)"},
	{"status-glued", "HTTP/1.1 503X\r\n\r\n", "unable to parse headers (error offset: 12)"},
	{"no-status", "HTTP/1.1\r\n\r\n", "unable to parse headers (error offset: 8)"},
	{"double-spaces", "HTTP/1.1  503  X\r\n\r\n", ""},
	{"leading-lines", "\r\n\nHTTP/1.1 503 X\r\n\r\n", ""},
	{"leading-space", " HTTP/1.1 503 X\r\n\r\n", "unable to parse headers (error offset: 0)"},
	{"cr-in-reason", "HTTP/1.1 503 X\rY\r\n\r\n", "unable to parse headers (error offset: 15)"},
	{"long-version", "HTTP/1.10 503 X\r\n\r\n", "invalid http version (HTTP/1.10)"},
	{"dash-version", "HTTP-1.1 503 X\r\n\r\n", "unable to parse headers (error offset: 4)"},
	{"odd-version", "ABC/1.1X 503 X\r\n\r\n", ""},
	{"bodyless-204", "HTTP/1.1 204 X\r\n\r\nbody", "message payload not expected"},
	{"bodyless-cl0", "HTTP/1.1 503 X\r\nContent-Length: 0\r\n\r\nbody", "message payload not expected"},
	{"empty-value", "HTTP/1.1 503 X\r\nA:\r\n\r\n", ""},
	{"empty-name", "HTTP/1.1 503 X\r\n:v\r\n\r\n", "unable to parse headers (error offset: 16)"},
	{"name-only", "HTTP/1.1 503 X\r\nA\r\n\r\n", "unable to parse headers (error offset: 17)"},
	{"cl-list", "HTTP/1.1 503 X\r\nContent-Length: 5, 5\r\n\r\nabcde", ""},
	{"cl-repeat", "HTTP/1.1 503 X\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", ""},
	{"te-gzip", "HTTP/1.1 503 X\r\nTransfer-Encoding: gzip\r\n\r\nabc", ""},
	{"te-drops-cl", "HTTP/1.1 503 X\r\nContent-Length: 3\r\nTransfer-Encoding: gzip\r\n\r\nabcdef", ""},
}

// TestParseErrorFile checks ParseErrorFile's verdict on each case: the
// message haproxy's -c prints after "errorfile : ", or none.
func TestParseErrorFile(t *testing.T) {
	for _, tc := range errorFileCases {
		_, err := ParseErrorFile("/e/"+tc.name+".http", []byte(tc.content))
		got := ""
		if err != nil {
			got = err.Error()
		}
		want := ""
		if tc.err != "" {
			want = "'/e/" + tc.name + ".http': " + tc.err
		}
		if got != want {
			t.Errorf("%s: got %q, want %q", tc.name, got, want)
		}
	}
}

// TestParseErrorFileMessage checks the message kept from a file with odd
// fields: names lower-cased, values trimmed, a folded line joined with
// the spaces of its line end, repeated fields kept.
func TestParseErrorFileMessage(t *testing.T) {
	m, err := ParseErrorFile("odd.http", []byte("HTTP/1.1 503 Custom Thing\r\nX-Odd:   spaced value  \r\nCONTENT-length: 6\r\nConnection: close\r\nX-Fold: a\r\n b\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nhello\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &ErrorMessage{
		Version: "HTTP/1.1", Status: 503, Reason: "Custom Thing",
		Headers: []ErrorHeader{
			{"x-odd", "spaced value"}, {"content-length", "6"}, {"connection", "close"},
			{"x-fold", "a   b"}, {"set-cookie", "a=1"}, {"set-cookie", "b=2"},
		},
		ContentLength: 6,
		Body:          []byte("hello\n"),
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got %+v\nwant %+v", m, want)
	}
	if m, err := ParseErrorFile("e.http", nil); err != nil || !m.Empty {
		t.Errorf("empty file: %+v, %v", m, err)
	}
	big := "HTTP/1.1 503 X\r\n\r\n" + strings.Repeat("b", ErrorFileMaxSize)
	if m, err := ParseErrorFile("big.http", []byte(big)); err != nil || !m.Truncated || len(m.Body) != ErrorFileMaxSize-len("HTTP/1.1 503 X\r\n\r\n") {
		t.Errorf("large file: %v, %v", m != nil && m.Truncated, err)
	}
}

// TestIntegrationErrorFileCheckMatchesHaproxy runs haproxy -c on a
// configuration naming each case's file and checks its verdict against
// the table.
func TestIntegrationErrorFileCheckMatchesHaproxy(t *testing.T) {
	const bin = "/usr/sbin/haproxy"
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	for _, tc := range errorFileCases {
		path := filepath.Join(dir, tc.name+".http")
		if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(dir, "haproxy.cfg")
		if err := os.WriteFile(cfg, []byte("defaults\n    mode http\n    errorfile 503 "+path+"\nfrontend f\n    bind 127.0.0.1:18000\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "-c", "-f", cfg).CombinedOutput()
		if tc.err == "" {
			if err != nil {
				t.Errorf("%s: haproxy refuses it:\n%s", tc.name, out)
			}
			continue
		}
		if want := "errorfile : '" + path + "': " + tc.err + "\n"; err == nil || !strings.Contains(string(out), want) {
			t.Errorf("%s: haproxy says\n%s\nwant %q", tc.name, out, want)
		}
	}
}

// FuzzParseErrorFile checks that any content gets a verdict, never a
// panic, and that an accepted message's payload agrees with its length.
func FuzzParseErrorFile(f *testing.F) {
	for _, tc := range errorFileCases {
		f.Add([]byte(tc.content))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseErrorFile("f.http", b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "'f.http': ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if m.ContentLength >= 0 && int64(len(m.Body)) != m.ContentLength {
			t.Fatalf("accepted %q: body %d bytes, length %d", b, len(m.Body), m.ContentLength)
		}
	})
}
