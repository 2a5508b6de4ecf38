package health

import "testing"

// FuzzJudge feeds arbitrary status lines, as a checked server could send,
// to the HTTP check's parser: it never panics, and only a well-formed
// status line passes.
func FuzzJudge(f *testing.F) {
	for _, s := range []string{"HTTP/1.1 200 OK\r\n", "HTTP/1.0 404 Not Found\r\n", "HTTP/1.1 2", "", "HTTP/1.1 -10 x", "\x00\xff"} {
		f.Add(s, 0)
		f.Add(s, 200)
	}
	f.Fuzz(func(t *testing.T, line string, expect int) {
		r := judge(line, expect)
		switch r.Code {
		case CodeL7OK:
			if r.HTTP < 100 || r.HTTP > 999 || (expect != 0 && r.HTTP != expect) {
				t.Fatalf("%q expect %d passed with %d", line, expect, r.HTTP)
			}
		case CodeL7STS, CodeL7RSP:
		default:
			t.Fatalf("%q: unexpected code %v", line, r.Code)
		}
	})
}
