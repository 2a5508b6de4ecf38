package resolver

import (
	"net/netip"
	"testing"
)

// haproxy 2.6 gave web1 127.0.1.2 and web2 127.0.1.1 for an answer with
// both (TestIntegrationDNSFollowsChanges): its records are ordered by the
// hash of their data, seeded with the type, not by arrival.
func TestRecordOrder(t *testing.T) {
	key := func(s string) uint32 { a := netip.MustParseAddr(s).As4(); return xxh32(a[:], 1) }
	if !(key("127.0.1.2") < key("127.0.1.1")) {
		t.Errorf("127.0.1.2 (%#x) should come before 127.0.1.1 (%#x)", key("127.0.1.2"), key("127.0.1.1"))
	}
}
