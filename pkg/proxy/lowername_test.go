package proxy

import (
	"strings"
	"testing"
)

// TestLowerName checks lowerName against strings.ToLower, and that the
// common names come from the table (no allocation).
func TestLowerName(t *testing.T) {
	names := []string{"", "X", "x-custom", "Hos", "Hostt", "HOST-", "-ost", "Ünicode", "höst", "\u212aeep-alive", "Set_Cookie"}
	for _, c := range commonFields {
		names = append(names, c, strings.ToUpper(c), strings.ToUpper(c[:1])+c[1:])
	}
	for _, n := range names {
		if got, want := lowerName(n), strings.ToLower(n); got != want {
			t.Errorf("lowerName(%q) = %q, want %q", n, got, want)
		}
	}
	for _, c := range commonFields {
		up := strings.ToUpper(c)
		if n := testing.AllocsPerRun(10, func() { _ = lowerName(up) }); n != 0 {
			t.Errorf("lowerName(%q): %v allocations", up, n)
		}
	}
}

// BenchmarkLowerName lowers the names of a browser's request and of
// nginx's response.
func BenchmarkLowerName(b *testing.B) {
	names := []string{"Host", "User-Agent", "Accept", "Server", "Date", "Content-Type", "Content-Length",
		"Last-Modified", "Connection", "ETag", "Accept-Ranges"}
	b.ReportAllocs()
	for b.Loop() {
		for _, n := range names {
			_ = lowerName(n)
		}
	}
}
