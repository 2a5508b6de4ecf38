package logformat

import (
	"net/netip"
	"testing"
)

// appendIP writes an address as appendText writes its String(), for every
// option (the zoneless addresses take a path without the string).
func TestAppendIPAsText(t *testing.T) {
	for _, s := range []string{"192.168.1.10:40000", "[2001:db8::1]:443", "[::ffff:10.0.0.1]:80", "[fe80::1%eth0]:80", "0.0.0.0:0"} {
		ap := netip.MustParseAddrPort(s)
		for _, opts := range []uint8{0, optQuote, optEscape, optQuote | optEscape, optMandatory, optQuote | optMandatory} {
			got := string(appendIP([]byte("x"), ap, opts))
			want := string(appendText([]byte("x"), ap.Addr().String(), opts))
			if got != want {
				t.Errorf("%s opts %#x: %q, want %q", s, opts, got, want)
			}
		}
	}
}
