package proxy

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestRate(t *testing.T) {
	base := time.Unix(1000, 0)
	var r rate
	for i := 0; i < 10; i++ {
		r.add(base.Add(time.Duration(i) * 50 * time.Millisecond)) // 10 in second 1000
	}
	tests := []struct {
		at   time.Duration
		want int64
	}{
		{900 * time.Millisecond, 10},  // same second
		{1000 * time.Millisecond, 10}, // next second starts: all of the previous counts
		{1500 * time.Millisecond, 5},  // half of the previous second still in the window
		{1900 * time.Millisecond, 1},
		{2000 * time.Millisecond, 0}, // two seconds later: nothing
	}
	for _, tc := range tests {
		if got := r.read(base.Add(tc.at)); got != tc.want {
			t.Errorf("rate at +%v = %d, want %d", tc.at, got, tc.want)
		}
	}
	r.add(base.Add(1500 * time.Millisecond))
	if got := r.read(base.Add(1500 * time.Millisecond)); got != 6 {
		t.Errorf("after one more event at +1.5s: %d, want 1 + 10/2", got)
	}
	r.add(base.Add(5 * time.Second))
	if got := r.read(base.Add(5 * time.Second)); got != 1 {
		t.Errorf("after a gap: %d, want 1", got)
	}
}

func TestGate(t *testing.T) {
	var cur atomic.Int64
	g := gate{max: 2, cur: &cur}
	stop := make(chan struct{})
	if !g.acquire(stop) || !g.acquire(stop) || !g.full() {
		t.Fatal("two slots of two not taken")
	}
	got := make(chan bool)
	go func() { got <- g.acquire(stop) }()
	select {
	case <-got:
		t.Fatal("third acquire did not wait")
	case <-time.After(20 * time.Millisecond):
	}
	g.release()
	if !<-got {
		t.Fatal("waiter not served after release")
	}
	go func() { got <- g.wait(stop) }()
	close(stop)
	if <-got {
		t.Fatal("wait returned true after stop")
	}
	if unlimited := (gate{cur: &cur}); unlimited.full() {
		t.Fatal("a gate without max is full")
	}
}

// TestHTTPCounterClasses: a status counts in its class as haproxy's
// rsp[status/100]; anything outside 100..599, and a stream without a
// status (-1), in hrsp_other. Requests count with their rate's maximum.
func TestHTTPCounterClasses(t *testing.T) {
	var c counters
	for _, st := range []int{100, 103, 200, 204, 301, 304, 400, 404, 408, 500, 503, 599, 600, 799, 99, -1, 0} {
		c.response(st)
	}
	now := time.Unix(2000, 0)
	for i := range 3 {
		c.request(now.Add(time.Duration(i) * 100 * time.Millisecond))
	}
	s := c.snapshot(now.Add(300 * time.Millisecond))
	want := [6]int64{5, 2, 2, 2, 3, 3} // other, 1xx..5xx
	if s.Responses != want {
		t.Errorf("responses by class %v, want %v", s.Responses, want)
	}
	if s.Requests != 3 || s.MaxReqRate != 3 || s.ReqRate != 3 {
		t.Errorf("requests %d, rate %d, max %d; want 3, 3, 3", s.Requests, s.ReqRate, s.MaxReqRate)
	}
}
