package peers

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/porttest"
	"hapair/pkg/sample"
	"hapair/pkg/sticktable"
)

func newTestTable(name string) *sticktable.Table {
	return sticktable.New(sticktable.Config{Name: name, Type: sticktable.KeyIP, Size: 1000, Expire: 10 * time.Minute,
		Stores: []sticktable.Store{{Type: sticktable.ConnCnt}, {Type: sticktable.HTTPReqRate, Period: 10 * time.Second},
			{Type: sticktable.ServerID}, {Type: sticktable.ServerKey}}}, nil)
}

func ipKey(t *testing.T, tb *sticktable.Table, s string) string {
	k, ok := tb.Key(sample.Value{Type: sample.TypeAddr, Addr: netip.MustParseAddr(s)})
	if !ok {
		t.Fatal("bad key")
	}
	return k
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var fast = Timers{Resync: 300 * time.Millisecond, Reconnect: 200 * time.Millisecond, Heartbeat: 300 * time.Millisecond, Dead: 2 * time.Second}

func startSection(t *testing.T, local string, addrs map[string]string, tb *sticktable.Table, waitLocal bool) *Section {
	t.Helper()
	cfg := Config{Name: "mypeers", Local: local, Listen: addrs[local], PID: 1, WaitLocal: waitLocal, Timers: fast,
		Tables: []Table{{T: tb, Name: tb.Name()}}}
	for _, n := range []string{"a", "b"} {
		cfg.Peers = append(cfg.Peers, Peer{Name: n, Addr: addrs[n], Local: n == local})
	}
	s, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReplicate: two sections replicate both ways, and a restarted one
// learns the table back from its peer.
func TestReplicate(t *testing.T) {
	addrs := map[string]string{"a": porttest.FreeAddr(t), "b": porttest.FreeAddr(t)}
	ta, tb := newTestTable("be"), newTestTable("be")
	a := startSection(t, "a", addrs, ta, false)
	defer a.Close()
	b := startSection(t, "b", addrs, tb, false)
	waitFor(t, 5*time.Second, "sessions", func() bool { return len(a.Connected()) == 1 && len(b.Connected()) == 1 })

	k1 := ipKey(t, ta, "10.0.0.1")
	r := ta.Track(k1)
	r.Add(1, sticktable.HTTPReqCnt, sticktable.HTTPReqRate)
	r.Release()
	ta.StoreServer(k1, 3, "s3")
	waitFor(t, 3*time.Second, "a's entry on b", func() bool {
		v, found, _ := tb.Get(k1, sticktable.ConnCnt)
		name, id, _ := tb.LookupServer(k1)
		return found && v == 1 && name == "s3" && id == 3
	})
	if v, _, _ := tb.Get(k1, sticktable.HTTPReqRate); v != 1 {
		t.Errorf("http_req_rate on b = %d, want 1", v)
	}
	k2 := ipKey(t, tb, "10.0.0.2")
	for i := 0; i < 3; i++ {
		tb.Track(k2).Release()
	}
	waitFor(t, 3*time.Second, "b's entry on a", func() bool {
		v, found, _ := ta.Get(k2, sticktable.ConnCnt)
		return found && v == 3
	})

	// b restarts empty: it asks a for everything (a answers "finished"
	// once it considers itself up to date).
	waitFor(t, 5*time.Second, "a's own sync", func() bool { ok, _ := a.Synced(); return ok })
	b.Close()
	tb2 := newTestTable("be")
	b2 := startSection(t, "b", addrs, tb2, false)
	defer b2.Close()
	waitFor(t, 5*time.Second, "the lesson", func() bool {
		ok, from := b2.Synced()
		return ok && from == "a"
	})
	for _, k := range []string{k1, k2} {
		if !tb2.Has(k) {
			t.Errorf("restarted b lacks %x", k)
		}
	}
	if v, _, _ := tb2.Get(k2, sticktable.ConnCnt); v != 3 {
		t.Errorf("conn_cnt after the lesson = %d, want 3", v)
	}
}

// TestReload: an old process pushes its table to its replacement.
func TestReload(t *testing.T) {
	addrs := map[string]string{"a": porttest.FreeAddr(t), "b": porttest.FreeAddr(t)} // b never runs
	old := newTestTable("be")
	a := startSection(t, "a", addrs, old, false)
	var keys []string
	for i := 0; i < 900; i++ { // more than a batch
		k := ipKey(t, old, fmt.Sprintf("10.1.%d.%d", i/250, i%250))
		old.Track(k).Release()
		keys = append(keys, k)
	}
	// The old process gives up on b and considers itself up to date: its
	// lesson will end with "finished" (else "partial").
	waitFor(t, 3*time.Second, "the old process's own sync", func() bool { ok, _ := a.Synced(); return ok })
	fresh := newTestTable("be")
	a2 := startSection(t, "a", addrs, fresh, true)
	defer a2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.SoftStop(ctx)
	a.Close()
	waitFor(t, 3*time.Second, "the local lesson", func() bool {
		ok, from := a2.Synced()
		return ok && from == "local"
	})
	if fresh.Len() != len(keys) {
		t.Fatalf("new process has %d entries, want %d", fresh.Len(), len(keys))
	}
}

// TestStatusCodes: a hello for another name, or from an unknown peer, is
// refused with haproxy's codes.
func TestStatusCodes(t *testing.T) {
	addrs := map[string]string{"a": porttest.FreeAddr(t), "b": porttest.FreeAddr(t)}
	a := startSection(t, "a", addrs, newTestTable("be"), false)
	defer a.Close()
	for _, c := range []struct{ hello, want string }{
		{"HAProxyS 2.1\nzz\nb 1 1\n", "503\n"},
		{"HAProxyS 2.1\na\nzz 1 1\n", "504\n"},
		{"HAProxyS 3.0\na\nb 1 1\n", "502\n"},
		{"HTTP/1.1 GET\n", "501\n"},
	} {
		conn, err := net.DialTimeout("tcp", addrs["a"], time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
		_, _ = conn.Write([]byte(c.hello))
		buf := make([]byte, 16)
		n, _ := conn.Read(buf)
		conn.Close()
		if string(buf[:n]) != c.want {
			t.Errorf("%q: answered %q, want %q", c.hello, buf[:n], c.want)
		}
	}
}

// BenchmarkReplicate: local changes on one node until the other has them
// all (ns per replicated entry, over loopback).
func BenchmarkReplicate(b *testing.B) {
	t := &testing.T{}
	addrs := map[string]string{"a": porttest.FreeAddr(t), "b": porttest.FreeAddr(t)}
	big := func() *sticktable.Table {
		return sticktable.New(sticktable.Config{Name: "be", Type: sticktable.KeyInteger, Size: 1 << 22, Expire: 10 * time.Minute,
			Stores: []sticktable.Store{{Type: sticktable.ConnCnt}, {Type: sticktable.HTTPReqRate, Period: 10 * time.Second}}}, nil)
	}
	ta, tb := big(), big()
	sa := startSection(t, "a", addrs, ta, false)
	defer sa.Close()
	sb := startSection(t, "b", addrs, tb, false)
	defer sb.Close()
	for len(sa.Connected()) == 0 || len(sb.Connected()) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k, _ := ta.Key(sample.Value{Type: sample.TypeInt, Int: int64(i)})
		ta.Track(k).Release()
	}
	for tb.Len() < b.N {
		time.Sleep(time.Millisecond)
	}
}

// TestInheritedListener: a section whose bind is fd@N (a listening socket
// its parent passed, as haproxy's reg-tests do) listens there and
// replicates with a peer that reaches it at that socket's address.
func TestInheritedListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File() // a duplicate, as a child inherits it
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The section takes the descriptor over (and closes it), as gproxy
	// takes an inherited one: f is not closed here.
	addrs := map[string]string{"a": ln.Addr().String(), "b": porttest.FreeAddr(t)}
	ta, tb := newTestTable("be"), newTestTable("be")
	cfg := Config{Name: "mypeers", Local: "a", Listen: fmt.Sprintf("fd@%d", f.Fd()), PID: 1, Timers: fast,
		Tables: []Table{{T: ta, Name: ta.Name()}},
		Peers:  []Peer{{Name: "a", Local: true}, {Name: "b", Addr: addrs["b"]}}}
	a, err := New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if got := a.Addr().String(); got != addrs["a"] {
		t.Fatalf("listening on %s, want the inherited socket's %s", got, addrs["a"])
	}
	b := startSection(t, "b", addrs, tb, false)
	defer b.Close()
	k := ipKey(t, tb, "10.0.0.9")
	tb.Track(k).Release()
	waitFor(t, 5*time.Second, "b's entry on a", func() bool { return ta.Has(k) })

	bad := cfg
	bad.Listen = "fd@x"
	if s, err := New(bad, zerolog.Nop()); err == nil {
		if err := s.Start(context.Background()); err == nil {
			s.Close()
			t.Fatal("fd@x started")
		}
	}
}
