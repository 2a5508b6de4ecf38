package proxy

import (
	"bufio"
	"strings"
	"testing"
)

// FuzzH2Request: any HTTP/1 request the parser accepts becomes an HTTP/2
// request for a server (h2Request) without a connection-specific field,
// with te "trailers" at most, a non-empty :path, the server-name field
// set once, and no panic.
func FuzzH2Request(f *testing.F) {
	f.Add("GET /a?b=c HTTP/1.1\r\nhost: h\r\nconnection: keep-alive, x\r\nte: trailers, gzip\r\nx-srv: fake\r\n\r\n")
	f.Add("GET http://h:81/p HTTP/1.1\r\nhost: other\r\nupgrade: h2c\r\n\r\n")
	f.Add("OPTIONS * HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n")
	f.Add("GET https://h HTTP/1.0\r\n\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		req, err := readRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		out := h2Request(req, []header{{"x-forwarded-for", "1.2.3.4"}}, "127.0.0.1:1", "x-srv", "s1")
		if out.URL.Opaque == "" {
			t.Fatalf("empty :path for %q", raw)
		}
		for k, vs := range out.Header {
			switch k {
			case "connection", "proxy-connection", "keep-alive", "upgrade", "transfer-encoding", "host", "content-length":
				t.Fatalf("%s sent to an HTTP/2 server for %q", k, raw)
			case "te":
				for _, v := range vs {
					if v != "trailers" {
						t.Fatalf("te %q for %q", v, raw)
					}
				}
			case "x-srv":
				if len(vs) != 1 || vs[0] != "s1" {
					t.Fatalf("x-srv %q for %q", vs, raw)
				}
			}
		}
	})
}
