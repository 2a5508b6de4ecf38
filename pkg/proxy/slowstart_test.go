package proxy

import (
	"context"
	"errors"
	"testing"
	"time"

	"hapair/pkg/balance"
	"hapair/pkg/haproxycfg"
)

// clock is a virtual clock for the engine.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestEngine(t *testing.T, px *haproxycfg.Proxy, c *clock) *Engine {
	t.Helper()
	if px.Kind == 0 {
		px.Kind = haproxycfg.KindBackend
	}
	e, err := New(&haproxycfg.Config{Proxies: []*haproxycfg.Proxy{px}}, Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestSlowStartRamp follows haproxy 2.6's server_recalc_eweight and
// server_throttle_rate in virtual time: a server of weight 10 with
// `slowstart 10s` back up after a failed check gets eweight
// 10*((16*t+10)/10) (16ths) after t whole seconds, so the stats weight
// (eweight+15)/16 and throttle (100*eweight+15)/(16*10) climb to full
// weight at 10 s, when the throttle column empties.
func TestSlowStartRamp(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	px := &haproxycfg.Proxy{Name: "b", Servers: []*haproxycfg.Server{
		{Name: "s1", Host: "127.0.0.1", Port: 1, Weight: 10, SlowStart: 10},
		{Name: "s2", Host: "127.0.0.1", Port: 2, Weight: 10},
	}}
	e := newTestEngine(t, px, c)
	s := e.Backend("b").Server("s1")
	if s.Starting() || s.Weight() != 10 || s.Throttle() != 0 {
		t.Fatalf("at start: starting %v weight %d throttle %d, want a running server", s.Starting(), s.Weight(), s.Throttle())
	}
	s.SetUp(false)
	c.t = c.t.Add(30 * time.Second)
	s.SetUp(true)
	want := []struct{ weight, throttle int }{
		{1, 6}, {2, 12}, {3, 25}, {4, 31}, {5, 43}, {6, 56}, {7, 62}, {8, 75}, {9, 81}, {10, 93},
	}
	for i, w := range want {
		if got := s.Weight(); got != w.weight {
			t.Errorf("t=%ds: weight %d, want %d", i, got, w.weight)
		}
		if got := s.Throttle(); got != w.throttle {
			t.Errorf("t=%ds: throttle %d, want %d", i, got, w.throttle)
		}
		if got := s.Stats().Throttle; got != w.throttle {
			t.Errorf("t=%ds: stats throttle %d, want %d", i, got, w.throttle)
		}
		c.t = c.t.Add(time.Second)
	}
	if s.Starting() || s.Weight() != 10 || s.Throttle() != 0 {
		t.Errorf("at 10s: starting %v weight %d throttle %d, want full weight", s.Starting(), s.Weight(), s.Throttle())
	}

	// Leaving maintenance starts a slow start too; going down ends it.
	s.SetAdminState(AdminMaint)
	s.SetAdminState(AdminReady)
	if !s.Starting() {
		t.Error("leaving maintenance: no slow start")
	}
	s.SetUp(false)
	if s.Starting() {
		t.Error("down: still starting")
	}
}

// TestSlowStartStatic: on a static algorithm haproxy keeps the weight
// (no BE_LB_PROP_DYN) but still ramps the connection limit
// (srv_dynamic_maxconn): maxconn*ratio/100, at least 1.
func TestSlowStartStatic(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	px := &haproxycfg.Proxy{Name: "b", Balance: haproxycfg.StaticRR, Servers: []*haproxycfg.Server{
		{Name: "s1", Host: "127.0.0.1", Port: 1, Weight: 4, SlowStart: 4, MaxConn: 10},
	}}
	e := newTestEngine(t, px, c)
	s := e.Backend("b").Server("s1")
	s.SetAdminState(AdminMaint)
	s.SetAdminState(AdminReady)
	for i, want := range []int{1, 2, 5, 7, 10} {
		if got := s.DynMaxConn(); got != want {
			t.Errorf("t=%ds: dynamic maxconn %d, want %d", i, got, want)
		}
		if s.Weight() != 4 {
			t.Errorf("t=%ds: weight %d, want 4 (static)", i, s.Weight())
		}
		c.t = c.t.Add(time.Second)
	}
}

// TestDynamicMaxConn: `minconn 2 maxconn 10` with `fullconn 20` gives
// max(minconn, beconn*maxconn/fullconn) below fullconn, maxconn at or
// above it (srv_dynamic_maxconn).
func TestDynamicMaxConn(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	px := &haproxycfg.Proxy{Name: "b", FullConn: 20, Servers: []*haproxycfg.Server{
		{Name: "s1", Host: "127.0.0.1", Port: 1, Weight: 1, MinConn: 2, MaxConn: 10},
		{Name: "s2", Host: "127.0.0.1", Port: 1, Weight: 1, MaxConn: 10},
	}}
	e := newTestEngine(t, px, c)
	b := e.Backend("b")
	s1, s2 := b.Server("s1"), b.Server("s2")
	for _, tt := range []struct{ beconn, want int }{{0, 2}, {4, 2}, {5, 2}, {6, 3}, {13, 6}, {19, 9}, {20, 10}, {50, 10}} {
		b.ctr.cur.Store(int64(tt.beconn))
		if got := s1.DynMaxConn(); got != tt.want {
			t.Errorf("beconn %d: dynamic maxconn %d, want %d", tt.beconn, got, tt.want)
		}
		if got := s2.DynMaxConn(); got != 10 {
			t.Errorf("beconn %d: static server's maxconn %d, want 10", tt.beconn, got)
		}
	}
}

// TestAllBackups: without active servers, the first usable backup takes
// everything, or with `option allbackups` every backup by weight.
func TestAllBackups(t *testing.T) {
	for _, all := range []bool{false, true} {
		c := &clock{t: time.Unix(1000, 0)}
		px := &haproxycfg.Proxy{Name: "b", Options: haproxycfg.Options{AllBackups: all}, Servers: []*haproxycfg.Server{
			{Name: "a", Host: "127.0.0.1", Port: 1, Weight: 1},
			{Name: "b1", Host: "127.0.0.1", Port: 1, Weight: 1, Backup: true},
			{Name: "b2", Host: "127.0.0.1", Port: 1, Weight: 2, Backup: true},
		}}
		e := newTestEngine(t, px, c)
		b := e.Backend("b")
		b.Server("a").SetUp(false)
		got := map[string]int{}
		for range 30 {
			a, err := b.acquire(context.Background(), balance.Key{}, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			got[a.srv.Name()]++
			b.release(a.srv)
		}
		want := map[string]int{"b1": 30}
		if all {
			want = map[string]int{"b1": 10, "b2": 20}
		}
		if got["b1"] != want["b1"] || got["b2"] != want["b2"] {
			t.Errorf("allbackups %v: %v, want %v", all, got, want)
		}
	}
}

// TestMaxQueue: a hash algorithm sends to a full server, whose queue
// holds at most maxqueue connections; the next one fails at once
// (haproxy's SRV_STATUS_FULL) and counts as a connection error.
func TestMaxQueue(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	px := &haproxycfg.Proxy{Name: "b", Balance: haproxycfg.Source, Servers: []*haproxycfg.Server{
		{Name: "s1", Host: "127.0.0.1", Port: 1, Weight: 1, MaxConn: 1, MaxQueue: 1},
	}}
	e := newTestEngine(t, px, c)
	b := e.Backend("b")
	first, err := b.acquire(context.Background(), balance.Key{}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	queued := make(chan error, 1)
	go func() {
		_, err := b.acquire(ctx, balance.Key{}, nil, 0)
		queued <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for first.srv.ctr.queueCur.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the second connection never queued")
		}
		time.Sleep(time.Millisecond)
	}
	a, err := b.acquire(context.Background(), balance.Key{}, nil, 0)
	if !errors.Is(err, ErrQueueFull) || a.srv != first.srv {
		t.Fatalf("third connection: %v on %v, want ErrQueueFull on s1", err, a.srv)
	}
	if st := first.srv.Stats(); st.ConnErrors != 1 {
		t.Errorf("server econ %d, want 1", st.ConnErrors)
	}
	cancel()
	<-queued
}
