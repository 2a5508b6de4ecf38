package proxy

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/haproxytest"
)

// compBody is long enough for compression to show.
var compBody = strings.Repeat("compress me, compress me again. ", 200)

// compResponses are the raw responses the test backend sends, by path.
var compResponses = map[string]string{
	"/html":      "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: LEN\r\n\r\nBODY",
	"/chunked":   "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\nCHUNKS",
	"/png":       "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: LEN\r\n\r\nBODY",
	"/404":       "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: LEN\r\n\r\nBODY",
	"/encoded":   "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: br\r\nContent-Length: LEN\r\n\r\nBODY",
	"/notrans":   "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nCache-Control: public, No-Transform\r\nContent-Length: LEN\r\n\r\nBODY",
	"/etag":      "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nETag: \"abc\"\r\nVary: Origin\r\nContent-Length: LEN\r\n\r\nBODY",
	"/weak":      "HTTP/1.1 203 Non-Authoritative Information\r\nContent-Type: text/html\r\nETag: W/\"abc\"\r\nContent-Length: LEN\r\n\r\nBODY",
	"/badetag":   "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nETag: abc\r\nContent-Length: LEN\r\n\r\nBODY",
	"/twoetags":  "HTTP/1.1 201 Created\r\nContent-Type: text/html\r\nETag: \"a\"\r\nETag: \"b\"\r\nContent-Length: LEN\r\n\r\nBODY",
	"/multipart": "HTTP/1.1 200 OK\r\nContent-Type: Multipart/form-data; boundary=x\r\nContent-Length: LEN\r\n\r\nBODY",
	"/close":     "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\nBODY",
	"/notype":    "HTTP/1.1 200 OK\r\nContent-Length: LEN\r\n\r\nBODY",
	"/http10":    "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: LEN\r\n\r\nBODY",
	"/empty":     "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 0\r\n\r\n",
	"/204":       "HTTP/1.1 204 No Content\r\nContent-Type: text/html\r\n\r\n",
}

// compRequests are the request variants, "PATH" replaced by each path.
var compRequests = []string{
	"GET PATH HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
	"GET PATH HTTP/1.1\r\nHost: h\r\nAccept-Encoding: deflate;q=0.5, gzip;q=0.8\r\nConnection: close\r\n\r\n",
	"GET PATH HTTP/1.1\r\nHost: h\r\nAccept-Encoding: *\r\nConnection: close\r\n\r\n",
	"GET PATH HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip;q=0\r\nConnection: close\r\n\r\n",
	"GET PATH HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
	"GET PATH HTTP/1.1\r\nHost: h\r\nAccept-Encoding: br\r\nAccept-Encoding: DEFLATE , gzip\r\nConnection: close\r\n\r\n",
	"GET PATH HTTP/1.0\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n",
	"HEAD PATH HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
	"GET PATH HTTP/1.1\r\nHost: h\r\nUser-Agent: Mozilla/4.0 (compatible; MSIE 5.5; Windows)\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
	"GET PATH HTTP/1.1\r\nHost: h\r\nUser-Agent: Mozilla/4.0 (compatible; MSIE 7.0; Windows)\r\nAccept-Encoding: gzip, deflate\r\nConnection: close\r\n\r\n",
}

const compConfig = `defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend typed
    bind 127.0.0.1:P_typed
    compression algo gzip deflate
    compression type text/html text/plain
    default_backend be
frontend offload
    bind 127.0.0.1:P_offload
    compression algo raw-deflate identity
    compression offload
    default_backend be
frontend beprio
    bind 127.0.0.1:P_beprio
    compression algo gzip
    default_backend becomp
backend be
    server s1 BACKEND
backend becomp
    compression algo deflate
    compression type text/plain
    server s1 BACKEND
`

// compBackend answers each request with the response of its path and an
// "x-seen-ae" header showing the Accept-Encoding it received.
func compBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				raw, ok := compResponses[req.URL.Path]
				if !ok {
					raw = "HTTP/1.1 500 x\r\nContent-Length: 0\r\n\r\n"
				}
				var chunks strings.Builder
				for i := 0; i < len(compBody); i += 1000 {
					part := compBody[i:min(i+1000, len(compBody))]
					fmt.Fprintf(&chunks, "%x\r\n%s\r\n", len(part), part)
				}
				chunks.WriteString("0\r\n\r\n")
				seen := "x-seen-ae: " + strings.Join(req.Header.Values("Accept-Encoding"), "|") + "\r\n"
				raw = strings.Replace(raw, "\r\n", "\r\n"+seen, 1)
				body := compBody
				if req.Method == http.MethodHead {
					body, chunks = "", strings.Builder{}
				}
				raw = strings.NewReplacer("LEN", strconv.Itoa(len(compBody)), "BODY", body, "CHUNKS", chunks.String()).Replace(raw)
				_, _ = io.WriteString(c, raw)
			}()
		}
	}()
	return ln.Addr().String()
}

// compExchange sends one request and returns the response's status line,
// headers and decoded body as comparable text.
func compExchange(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(c)
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		return fmt.Sprintf("no response head: %q", raw)
	}
	lines := strings.Split(string(head), "\r\n")
	var out strings.Builder
	out.WriteString(lines[0] + "\n")
	var enc string
	chunked := false
	for _, l := range lines[1:] {
		name, value, _ := strings.Cut(l, ":")
		value = strings.TrimSpace(value)
		switch strings.ToLower(name) {
		case "content-encoding":
			enc = value
		case "transfer-encoding":
			chunked = value == "chunked"
		}
		out.WriteString(strings.ToLower(name) + ": " + value + "\n")
	}
	if chunked && !strings.HasPrefix(req, "HEAD") {
		d, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(body)))
		if err != nil {
			return out.String() + "bad chunks: " + err.Error()
		}
		body = d
	}
	var r io.Reader = bytes.NewReader(body)
	switch {
	case strings.HasPrefix(lines[0], "HTTP/1.1 204") || strings.HasPrefix(req, "HEAD") || len(body) == 0:
	case enc == "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return out.String() + "bad gzip: " + err.Error()
		}
		r = zr
	case enc == "deflate":
		// zlib (haproxy's "deflate") or raw (its "raw-deflate").
		if zr, err := zlib.NewReader(bytes.NewReader(body)); err == nil {
			r = zr
		} else {
			r = flate.NewReader(bytes.NewReader(body))
		}
	}
	d, err := io.ReadAll(r)
	if err != nil {
		return out.String() + "bad body: " + err.Error()
	}
	fmt.Fprintf(&out, "body %d bytes, same as sent: %v\n", len(d), string(d) == compBody)
	return out.String()
}

// framingFree drops the status line's version and the framing headers.
func framingFree(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		switch {
		case strings.HasPrefix(l, "HTTP/1."):
			l = l[len("HTTP/1.x"):]
		case strings.HasPrefix(l, "connection:"), strings.HasPrefix(l, "transfer-encoding:"):
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// runCompMatrix sends every request variant for every response to each
// frontend, returning the decoded results by case.
func runCompMatrix(t *testing.T, addr func(string) string) map[string]string {
	out := map[string]string{}
	for _, fe := range []string{"typed", "offload", "beprio"} {
		for path := range compResponses {
			for i, r := range compRequests {
				out[fmt.Sprintf("%s %s req%d", fe, path, i)] = compExchange(t, addr(fe), strings.Replace(r, "PATH", path, 1))
			}
		}
	}
	return out
}

// TestIntegrationCompressionLikeHaproxy sends a matrix of requests
// (Accept-Encoding variants, HTTP/1.0, HEAD, old browsers) for a matrix of
// responses (types, statuses, encodings, ETags, lengths) through haproxy
// 2.6 and gproxy with the same compression settings, and compares the
// status, every header and the decoded body of each answer.
func TestIntegrationCompressionLikeHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	backend := compBackend(t)
	fill := func(ports map[string]int) string {
		vars := []string{"BACKEND", backend}
		for n, p := range ports {
			vars = append(vars, "P_"+n+"\n", fmt.Sprintf("%d\n", p))
		}
		return strings.NewReplacer(vars...).Replace(compConfig)
	}
	names := []string{"typed", "offload", "beprio"}

	refPorts := map[string]int{}
	for _, n := range names {
		refPorts[n] = haproxytest.FreePort(t)
	}
	haproxytest.Start(t, fill(refPorts))
	for _, n := range names {
		haproxytest.WaitBound(t, fmt.Sprintf("127.0.0.1:%d", refPorts[n]))
	}
	ref := runCompMatrix(t, func(n string) string { return fmt.Sprintf("127.0.0.1:%d", refPorts[n]) })

	ports := map[string]int{}
	var lns []net.Listener
	for _, n := range names {
		ln, bind := listen(t)
		ports[n] = bind.Port
		lns = append(lns, ln)
	}
	cfg, _, err := haproxycfg.Parse("comp.cfg", []byte(fill(ports)), haproxycfg.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	run(t, cfg, lns...)
	got := runCompMatrix(t, func(n string) string { return fmt.Sprintf("127.0.0.1:%d", ports[n]) })

	compressed := 0
	for k, want := range ref {
		if strings.Contains(k, " /close ") || strings.Contains(k, " /http10 ") ||
			strings.HasSuffix(k, " req6") || strings.HasSuffix(k, " req7") {
			// gproxy frames these (close-delimited and HTTP/1.0
			// responses, HTTP/1.0 and HEAD requests) its own way, a
			// difference of the engine outside compression: only the
			// compression fields and the body are compared.
			want, got[k] = framingFree(want), framingFree(got[k])
		}
		if strings.Contains(want, "content-encoding: gzip") || strings.Contains(want, "content-encoding: deflate") {
			compressed++
		}
		if got[k] != want {
			t.Errorf("%s:\n--- haproxy\n%s--- gproxy\n%s", k, want, got[k])
		}
	}
	if compressed < 20 {
		t.Errorf("haproxy compressed %d answers only: the matrix does not exercise compression", compressed)
	}
	t.Logf("%d answers compared, %d compressed by haproxy", len(ref), compressed)
}
