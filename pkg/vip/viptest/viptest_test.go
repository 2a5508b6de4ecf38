package viptest

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"hapair/pkg/vip"
)

func TestManager(t *testing.T) {
	m := New("eth0")
	ctx := context.Background()
	v := vip.Host(netip.MustParseAddr("192.168.1.84"), "eth0")
	if err := m.Add(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(ctx, v); err != nil {
		t.Fatal(err)
	}
	if has, _ := m.Has(v); !has {
		t.Fatal("Has after Add = false")
	}
	if err := m.Add(ctx, vip.Host(v.Prefix.Addr(), "eth9")); !errors.Is(err, vip.ErrNoInterface) {
		t.Fatalf("Add on unknown link: %v", err)
	}
	if err := m.Remove(ctx, v); err != nil {
		t.Fatal(err)
	}
	if has, _ := m.Has(v); has {
		t.Fatal("Has after Remove = true")
	}
	if got := len(m.Ops()); got != 3 {
		t.Fatalf("Ops = %d, want 3", got)
	}

	wctx, cancel := context.WithCancel(ctx)
	ch, err := m.WatchLink(wctx, "eth0")
	if err != nil {
		t.Fatal(err)
	}
	m.SetLink("eth0", false)
	m.SetLink("eth0", false) // no change, no event
	m.SetLink("eth0", true)
	cancel()
	var got []bool
	for up := range ch {
		got = append(got, up)
	}
	if len(got) != 3 || !got[0] || got[1] || !got[2] {
		t.Fatalf("events = %v, want [true false true]", got)
	}
}
