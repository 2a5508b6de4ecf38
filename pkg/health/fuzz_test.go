package health

import (
	"testing"

	"hapair/pkg/haproxycfg"
)

// FuzzHTTPExpect feeds arbitrary answers, as a checked server could send,
// to the HTTP check's expect step: it never panics, and only an answer
// whose status is in 200-399 passes.
func FuzzHTTPExpect(f *testing.F) {
	for _, s := range []string{"HTTP/1.1 200 OK\r\n\r\n", "HTTP/1.0 404 Not Found\r\n\r\n", "HTTP/1.1 2", "", "HTTP/1.1 -10 x\r\n\r\n", "\x00\xff",
		"HTTP/000 -10"} { // the last: a crasher of the former FuzzJudge
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	steps := compile([]haproxycfg.CheckRule{{Action: haproxycfg.RuleExpect, Step: 2, Match: "status", Statuses: [][2]int{{200, 399}}, MinRecv: -1}})
	f.Fuzz(func(t *testing.T, answer []byte, last bool) {
		r := &runner{p: &Probe{Type: haproxycfg.CheckHTTP, Steps: steps}, buf: answer}
		ev := r.expectHTTP(&r.p.Steps[0], last)
		switch ev {
		case evalContinue:
			if r.code < 200 || r.code > 399 {
				t.Fatalf("%q passed with %d", answer, r.code)
			}
		case evalStop:
			if r.res.Code != CodeL7STS && r.res.Code != CodeL7RSP {
				t.Fatalf("%q: unexpected code %v", answer, r.res.Code)
			}
		case evalWait:
			if last {
				t.Fatalf("%q: waits after the last read", answer)
			}
		}
	})
}
