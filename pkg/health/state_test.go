package health

import "testing"

func TestStateRiseFall(t *testing.T) {
	tests := []struct {
		name        string
		rise, fall  int
		results     string // o = pass, x = fail
		wantUp      []bool // after each result
		wantChanges int
		wantText    string
	}{
		{"first failure takes a fresh server down", 2, 3, "x", []bool{false}, 1, "DOWN"},
		{"up needs rise passes", 2, 3, "xoo", []bool{false, false, true}, 2, "UP"},
		{"full health needs fall failures", 2, 3, "ooxxx", []bool{true, true, true, true, false}, 1, "DOWN"},
		{"a pass restores full health", 2, 3, "ooxxoxx", []bool{true, true, true, true, true, true, true}, 0, "UP 1/3"},
		{"fall failures in a row", 2, 3, "oxxoxxx", []bool{true, true, true, true, true, true, false}, 1, "DOWN"},
		{"first pass of a fresh server is full health", 2, 3, "ox", []bool{true, true}, 0, "UP 2/3"},
		{"rise 1 fall 1", 1, 1, "xoxo", []bool{false, true, false, true}, 4, "UP"},
		{"down then one pass", 3, 2, "xo", []bool{false, false}, 1, "DOWN 1/3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewState(tt.rise, tt.fall)
			changes := 0
			for i, r := range tt.results {
				ch, _ := s.Record(r == 'o')
				if ch {
					changes++
				}
				if s.Up() != tt.wantUp[i] {
					t.Fatalf("after %q: up=%v, want %v (health %d)", tt.results[:i+1], s.Up(), tt.wantUp[i], s.Health)
				}
			}
			if changes != tt.wantChanges {
				t.Errorf("changes = %d, want %d", changes, tt.wantChanges)
			}
			if got := s.Text(); got != tt.wantText {
				t.Errorf("Text() = %q, want %q", got, tt.wantText)
			}
		})
	}
}

func TestReason(t *testing.T) {
	// The texts of haproxy 2.6's log lines, testdata/haproxy26_syslog_*.txt.
	tests := []struct {
		r    Result
		want string
	}{
		{Result{Code: CodeL4CON, Info: "Connection refused"}, `Layer4 connection problem, info: "Connection refused"`},
		{Result{Code: CodeL7STS, HTTP: 404, Info: "Not Found"}, `Layer7 wrong status, code: 404, info: "Not Found"`},
		{Result{Code: CodeL7OK, HTTP: 200}, `Layer7 check passed, code: 200`},
		{Result{Code: CodeL7TOUT}, `Layer7 timeout`},
		{Result{Code: CodeL4OK}, `Layer4 check passed`},
		{Result{Code: CodeL7OK, Info: "Redis server is ok"}, `Layer7 check passed, code: 0, info: "Redis server is ok"`},
		{Result{Code: CodeL7RSP, Info: "a\x00b<\"c\r"}, `Layer7 invalid response, info: "a<00>b<3C><22>c<0D>"`},
	}
	for _, tt := range tests {
		if got := tt.r.Reason(); got != tt.want {
			t.Errorf("Reason() = %q, want %q", got, tt.want)
		}
	}
}
