package accesslog_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"hapair/pkg/accesslog"
	"hapair/pkg/logformat"
	"hapair/pkg/syslog/syslogtest"
)

// TestLogFormatMatchesGolden: option httplog and tcplog written as their
// log-format strings (pkg/logformat) print every captured haproxy 2.6.12
// access line byte for byte, as the built-in formatters do.
func TestLogFormatMatchesGolden(t *testing.T) {
	httpF, err := logformat.ParseLog(accesslog.HTTPLogFormat, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	tcpF, err := logformat.ParseLog(accesslog.TCPLogFormat, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, path := range []string{goldenFile, goldenLongFile} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 4096), 1<<20)
		for sc.Scan() {
			d, err := syslogtest.Parse(sc.Text() + "\n")
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(d.Msg, "Proxy ") {
				continue
			}
			var s accesslog.Session
			var want string
			fm := tcpF
			if isHTTPLog(d.Msg) {
				s, err = parseHTTPLog(d.Msg)
				want, fm = accesslog.HTTPLog(s), httpF
			} else {
				s, err = parseTCPLog(d.Msg)
				want = accesslog.TCPLog(s)
			}
			if err != nil {
				t.Fatal(err)
			}
			got := string(fm.Append(nil, nil, &s))
			if got != want {
				t.Errorf("log-format differs from the built-in line\n got: %q\nwant: %q", got, want)
			}
			// The datagram holds the line cut by the syslog length: the
			// printed line must start with what haproxy sent.
			if !strings.HasPrefix(got, strings.TrimSuffix(d.Msg, "\n")) {
				t.Errorf("line %q is not haproxy's %q", got, d.Msg)
			}
			n++
		}
		f.Close()
	}
	if n < 10 {
		t.Fatalf("%d golden lines compared; want the full capture", n)
	}
}
