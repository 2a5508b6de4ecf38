package vip

import (
	"net/netip"
	"testing"
)

func TestParsePrefix(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      bool
	}{
		{in: "192.168.1.84", want: "192.168.1.84/32"},
		{in: "192.168.1.84/24", want: "192.168.1.84/24"},
		{in: "fd00::84", want: "fd00::84/128"},
		{in: "fd00::84/64", want: "fd00::84/64"},
		{in: "::ffff:10.0.0.1", want: "10.0.0.1/32"},
		{in: "192.168.1.300", err: true},
		{in: "192.168.1.84/33", err: true},
		{in: "", err: true},
	} {
		got, err := ParsePrefix(tc.in)
		if tc.err {
			if err == nil {
				t.Errorf("ParsePrefix(%q) = %v, want error", tc.in, got)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		v    VIP
		want string
	}{
		{Host(netip.MustParseAddr("192.168.1.84"), "eth0"), "192.168.1.84/32 dev eth0"},
		{VIP{Prefix: netip.MustParsePrefix("10.0.0.1/24"), Dev: "eth1", Label: "eth1:vip",
			Broadcast: netip.MustParseAddr("10.0.0.255"), Scope: ScopeLink},
			"10.0.0.1/24 brd 10.0.0.255 dev eth1 scope link label eth1:vip"},
		{Host(netip.MustParseAddr("fd00::1"), "eth0"), "fd00::1/128 dev eth0"},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestParseScope(t *testing.T) {
	for in, want := range map[string]int{"global": 0, "host": 254, "link": 253, "site": 200, "17": 17} {
		got, err := ParseScope(in)
		if err != nil || got != want {
			t.Errorf("ParseScope(%q) = %d, %v; want %d", in, got, err, want)
		}
		if in != "17" && ScopeName(got) != in {
			t.Errorf("ScopeName(%d) = %q, want %q", got, ScopeName(got), in)
		}
	}
	for _, bad := range []string{"planet", "256", "-1"} {
		if _, err := ParseScope(bad); err == nil {
			t.Errorf("ParseScope(%q): want error", bad)
		}
	}
}

func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{"192.168.1.84", "192.168.1.84/24", "fd00::84", "fd00::84/64", "::ffff:1.2.3.4/120", "/", "1.2.3.4/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePrefix(s)
		if err != nil {
			return
		}
		if !p.IsValid() || p.Addr().Is4In6() {
			t.Fatalf("ParsePrefix(%q) = %v: invalid or v4-mapped", s, p)
		}
		back, err := ParsePrefix(p.String())
		if err != nil || back != p {
			t.Fatalf("round trip %q -> %v -> %v, %v", s, p, back, err)
		}
	})
}
