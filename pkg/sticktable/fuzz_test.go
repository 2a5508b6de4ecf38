package sticktable

import (
	"strings"
	"testing"
	"time"
)

// FuzzTableCLI: any command line on the stats socket gets an answer,
// never a panic; a `show` of a table always starts with its head line.
func FuzzTableCLI(f *testing.F) {
	for _, s := range []string{"show table fe", "show table fe key 10.0.0.1", "set table fe key 10.0.0.1 data.gpc0 3",
		"clear table fe data.http_req_rate gt 1", "show table s key abc", "set table b key x", "show table fe data.gpc0 eq 1 data.conn_cnt lt 4 x",
		"clear table i key 4294967296", "set table fe key ::1 data.http_req_rate -5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		clk := newClock()
		stores := []Store{{Type: GPC0}, {Type: ConnCnt}, {Type: HTTPReqRate, Period: time.Second}, {Type: ServerID}, {Type: BytesInCnt}}
		set := NewSet([]*Table{
			New(Config{Name: "fe", Type: KeyIP, Size: 4, Expire: time.Second, Stores: stores}, clk.now),
			New(Config{Name: "s", Type: KeyString, Len: 8, Size: 4, Stores: stores}, clk.now),
			New(Config{Name: "i", Type: KeyInteger, Size: 4, Stores: stores}, clk.now),
			New(Config{Name: "b", Type: KeyBinary, Len: 4, Size: 4, Stores: stores}, clk.now),
		})
		w := strings.Fields(line)
		if len(w) < 2 {
			return
		}
		args := w[2:]
		for _, oper := range []bool{false, true} {
			set.SetEntry(args, oper)
			out := set.Show(args, oper)
			if len(args) == 1 && set.Table(args[0]) != nil && !strings.HasPrefix(out, "# table: "+args[0]+",") {
				t.Fatalf("show table %s: %q", args[0], out)
			}
			set.Clear(args, oper)
		}
	})
}

// FuzzParseStore: a store item is read or refused with an error.
func FuzzParseStore(f *testing.F) {
	for _, s := range []string{"conn_cnt", "http_req_rate(10s)", "gpc(3)", "x(", "bytes_in_rate(1m", "gpt0(1)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseStore(s)
		if err == nil && st.Type.IsRate() && st.Period < 0 {
			t.Fatalf("%q: negative period", s)
		}
	})
}
