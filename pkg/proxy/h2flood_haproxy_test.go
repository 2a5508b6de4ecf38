package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"hapair/pkg/haproxytest"
)

const h2FloodConfig = `defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:{fe} proto h2
    http-request return status 200 content-type text/plain string ok
`

// h2Flood is one kind of flood: what the client sends after the preface
// and its SETTINGS.
type h2Flood struct {
	name string
	send func(fr *http2.Framer, hdr []byte) error
}

var h2Floods = []h2Flood{
	{"pings", func(fr *http2.Framer, _ []byte) error {
		for i := range 20000 {
			if err := fr.WritePing(false, [8]byte{byte(i), byte(i >> 8)}); err != nil {
				return err
			}
		}
		return nil
	}},
	{"settings", func(fr *http2.Framer, _ []byte) error {
		for range 20000 {
			if err := fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 65535}); err != nil {
				return err
			}
		}
		return nil
	}},
	// A stream opened and reset at once, again and again (CVE-2023-44487).
	{"resets", func(fr *http2.Framer, hdr []byte) error {
		for i := range 5000 {
			id := uint32(2*i + 1)
			if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hdr, EndStream: true, EndHeaders: true}); err != nil {
				return err
			}
			if err := fr.WriteRSTStream(id, http2.ErrCodeCancel); err != nil {
				return err
			}
		}
		return nil
	}},
	// More streams than SETTINGS_MAX_CONCURRENT_STREAMS (100), each left
	// open (no END_STREAM): the ones over the limit are refused.
	{"streams", func(fr *http2.Framer, hdr []byte) error {
		for i := range 300 {
			if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: hdr, EndHeaders: true}); err != nil {
				return err
			}
		}
		return nil
	}},
}

// floodOutcome sends one flood on a new connection, reading meanwhile,
// and tells how the proxy ended it: its GOAWAY's code, the codes of the
// RST_STREAM frames it sent, and whether the connection was closed.
func floodOutcome(t *testing.T, addr string, f h2Flood) string {
	c, err := net.DialTimeout("tcp", addr, deadline)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * deadline))
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, h := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/"}} {
		enc.WriteField(hpack.HeaderField{Name: h[0], Value: h[1]})
	}
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	// Read all the while, so that the proxy's answers never block it.
	type result struct {
		goaway  string
		rst     map[string]int
		answers int // response HEADERS
		closed  bool
	}
	done := make(chan result, 1)
	go func() {
		r := result{rst: map[string]int{}}
		rfr := http2.NewFramer(io.Discard, c)
		for {
			fm, err := rfr.ReadFrame()
			if err != nil {
				var ne net.Error
				r.closed = !(errors.As(err, &ne) && ne.Timeout())
				done <- r
				return
			}
			switch fm := fm.(type) {
			case *http2.GoAwayFrame:
				if r.goaway == "" {
					r.goaway = fm.ErrCode.String()
				}
			case *http2.RSTStreamFrame:
				r.rst[fm.ErrCode.String()]++
			case *http2.HeadersFrame:
				r.answers++
			}
		}
	}()
	werr := f.send(fr, hb.Bytes())
	// Then a short quiet time: what the proxy does once the flood is over.
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	r := <-done
	var rst []string
	for k, n := range r.rst {
		rst = append(rst, fmt.Sprintf("%s:%d", k, n))
	}
	sort.Strings(rst)
	out := fmt.Sprintf("goaway=%q rst=%v answers=%d closed=%v", r.goaway, rst, r.answers, r.closed)
	if werr != nil && !r.closed {
		out += " write failed: " + werr.Error()
	}
	return out
}

// TestIntegrationH2FloodHaproxy: floods of PINGs, SETTINGS, opened-and-
// reset streams and streams over the concurrency limit, each on its own
// connection, against haproxy 2.6 and gproxy; while and after each, an
// ordinary HTTP/2 client is served by both. What the flooding client
// sees is compared where haproxy's answer is the protocol's (streams over
// the limit); gproxy cuts the unbounded floods (PINGs and SETTINGS whose
// answers queue up, reset streams), which haproxy 2.6 serves, and counts
// them in H2ProtocolErrors.
func TestIntegrationH2FloodHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	dir := t.TempDir()
	fill := func(ports map[string]int) string {
		return strings.ReplaceAll(h2FloodConfig, "{fe}", fmt.Sprint(ports["fe"]))
	}
	hp, gp := startPair(t, dir, []string{"fe"}, fill)
	get := func(port int) string { return h2cGet(fmt.Sprintf("127.0.0.1:%d", port)) }
	for _, f := range h2Floods {
		t.Run(f.name, func(t *testing.T) {
			errs0 := H2ProtocolErrors()
			want := floodOutcome(t, fmt.Sprintf("127.0.0.1:%d", hp["fe"]), f)
			got := floodOutcome(t, fmt.Sprintf("127.0.0.1:%d", gp["fe"]), f)
			t.Logf("haproxy: %s", want)
			t.Logf("gproxy:  %s", got)
			if w, g := get(hp["fe"]), get(gp["fe"]); w != "200 ok" || g != w {
				t.Errorf("a request after the flood: haproxy %q, gproxy %q", w, g)
			}
			switch f.name {
			case "pings", "settings":
				// Answered one by one by both (the client reads them).
				if want != `goaway="" rst=[] answers=0 closed=false` || got != want {
					t.Errorf("haproxy %s, gproxy %s", want, got)
				}
			case "resets":
				// haproxy 2.6 serves them all; gproxy cuts the connection
				// once more streams wait for a handler than it allows,
				// which depends on how fast the handlers run: either
				// served, or ended with ENHANCE_YOUR_CALM and counted.
				if !strings.HasPrefix(want, `goaway="" rst=[]`) {
					t.Errorf("haproxy %s", want)
				}
				cut := strings.HasPrefix(got, `goaway="ENHANCE_YOUR_CALM"`) && strings.HasSuffix(got, "closed=true")
				if !cut && !strings.HasPrefix(got, `goaway="" rst=[]`) {
					t.Errorf("gproxy %s", got)
				}
				if cut && H2ProtocolErrors() == errs0 {
					t.Errorf("the reset flood was not counted in H2ProtocolErrors")
				}
			case "streams":
				// The streams over the limit are refused. haproxy's
				// `return` answers a stream without waiting for its body,
				// so on a quiet machine it may have answered (and
				// cancelled) each before the next arrived: all 300
				// answered, none over the limit (seen in CI). gproxy waits
				// for the body (issue 11's notes), so its first 100 stay
				// open and the others are refused.
				if !strings.Contains(want, "REFUSED_STREAM") && !strings.Contains(want, "answers=300") {
					t.Errorf("haproxy %s", want)
				}
				if !strings.Contains(got, "REFUSED_STREAM") || strings.Contains(got, "closed=true") {
					t.Errorf("gproxy %s", got)
				}
			}
		})
	}
}

// h2cGet makes one HTTP/2 request in clear text (prior knowledge) and
// returns "status body", or the error.
func h2cGet(addr string) string {
	c, err := net.DialTimeout("tcp", addr, deadline)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(deadline))
	cc, err := (&http2.Transport{AllowHTTP: true}).NewClientConn(c)
	if err != nil {
		return err.Error()
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	resp, err := cc.RoundTrip(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}
