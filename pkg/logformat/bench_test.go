package logformat

import (
	"net/netip"
	"testing"
	"time"

	"hapair/pkg/accesslog"
)

func benchSession() *accesslog.Session {
	return &accesslog.Session{
		Client: netip.MustParseAddrPort("192.168.1.10:40000"), Accept: time.Unix(1.8e9, 123e6),
		FrontendName: "web", BackendName: "web", ServerName: "web01",
		TR: time.Millisecond, Tw: 0, Tc: time.Millisecond, Tr: 3 * time.Millisecond, Ta: 5 * time.Millisecond, Tt: 5 * time.Millisecond,
		Status: 200, BytesToClient: 487, Method: "GET", URI: "/index.html?x=1", Version: "HTTP/1.1",
		ActConn: 1, FeConn: 1,
	}
}

// BenchmarkHTTPLogFormat is option httplog through the compiled format;
// BenchmarkHTTPLogBuiltin the fixed formatter it replaced in the log path.
func BenchmarkHTTPLogFormat(b *testing.B) {
	f, err := ParseLog(accesslog.HTTPLogFormat, nil, true)
	if err != nil {
		b.Fatal(err)
	}
	s := benchSession()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = f.Append(buf[:0], nil, s)
	}
}

func BenchmarkHTTPLogBuiltin(b *testing.B) {
	s := benchSession()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = accesslog.HTTPLog(*s)
	}
}
