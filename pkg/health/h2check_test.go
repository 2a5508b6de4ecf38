package health

import (
	"bytes"
	"io"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"hapair/pkg/haproxycfg"
)

// h2Answer is what a server sends: its SETTINGS, then the frames of an
// answer to stream 1.
func h2Answer(t testing.TB, status string, fields [][2]string, body string) []byte {
	var out, hb bytes.Buffer
	fr := http2.NewFramer(&out, nil)
	enc := hpack.NewEncoder(&hb)
	_ = enc.WriteField(hpack.HeaderField{Name: ":status", Value: status})
	for _, f := range fields {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true, EndStream: body == ""}); err != nil {
		t.Fatal(err)
	}
	if body != "" {
		if err := fr.WriteData(1, true, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

// h2Runner reads answer as a check connection's HTTP/2 side.
func h2Runner(answer []byte, steps []Step) *runner {
	fr := http2.NewFramer(io.Discard, bytes.NewReader(answer))
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.MaxHeaderListSize = bufSize
	return &runner{p: &Probe{Type: haproxycfg.CheckHTTP, Steps: steps}, cur: 0, h2: &h2Conn{fr: fr}}
}

// TestH2AnswerExpect: an HTTP/2 answer is judged by the expect steps as
// haproxy's HTX gives it to them: status, fields, body, no reason.
func TestH2AnswerExpect(t *testing.T) {
	steps := compile([]haproxycfg.CheckRule{
		{Action: haproxycfg.RuleExpect, Step: 2, Match: "status", Statuses: [][2]int{{200, 399}}, MinRecv: -1},
		{Action: haproxycfg.RuleExpect, Step: 3, Match: "hdr", Header: &haproxycfg.HeaderMatch{Name: "x-role", NameMatch: "str", Value: "primary", ValueMatch: "str", HasValue: true}, MinRecv: -1},
		{Action: haproxycfg.RuleExpect, Step: 4, Match: "string", Pattern: "ok", MinRecv: -1},
	})
	for _, c := range []struct {
		status, role, body string
		want               Code
		code               int
		info               string
	}{
		{"200", "primary", "all ok", CodeL7OK, 200, ""},
		{"503", "primary", "ok", CodeL7STS, 503, ""},
		{"200", "replica", "ok", CodeL7STS, 200, ""},
		{"200", "primary", "no", CodeL7RSP, 200, "HTTP content check did not match"},
		{"200", "primary", "", CodeL7RSP, 200, "HTTP content check could not find a response body"},
	} {
		r := h2Runner(h2Answer(t, c.status, [][2]string{{"x-role", c.role}}, c.body), steps)
		var last bool
		if res, stop := r.recvH2(&steps[0], &last); stop {
			t.Fatalf("%+v: stopped: %+v", c, res)
		}
		got := Result{Code: CodeL7OK, HTTP: r.code}
		for i := range steps {
			if ev := r.expectHTTP(&steps[i], last); ev == evalStop {
				got = r.res
				break
			}
			got.HTTP = r.code
		}
		if got.Code != c.want || got.HTTP != c.code || got.Info != c.info {
			t.Errorf("%+v: got %+v", c, got)
		}
	}
}

// FuzzH2Answer feeds arbitrary bytes, as a checked server could send, to
// an HTTP/2 check: it never panics, and what it keeps is at most a
// buffer, in the HTTP/1 form the expect steps read.
func FuzzH2Answer(f *testing.F) {
	f.Add(h2Answer(f, "200", [][2]string{{"a", "b"}}, "body"))
	f.Add(h2Answer(f, "103", nil, ""))
	f.Add([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0})
	f.Add([]byte("HTTP/1.1 200 OK\r\n\r\n"))
	steps := compile([]haproxycfg.CheckRule{{Action: haproxycfg.RuleExpect, Step: 2, Match: "status", Statuses: [][2]int{{200, 399}}, MinRecv: -1}})
	f.Fuzz(func(t *testing.T, answer []byte) {
		r := h2Runner(answer, steps)
		var last bool
		if _, stop := r.recvH2(&steps[0], &last); stop {
			return
		}
		if len(r.buf) > bufSize || (len(r.buf) > 0 && !bytes.HasPrefix(r.buf, []byte("HTTP/2.0 "))) {
			t.Fatalf("kept %q", r.buf)
		}
		_ = r.expectHTTP(&steps[0], last)
	})
}
