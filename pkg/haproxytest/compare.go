package haproxytest

import (
	"sort"
	"strings"
	"testing"
)

// Match tells whether a reference observation has the form an anchor
// states (Equal, Prefix, Contains).
type Match func(have, anchor string) bool

// The forms of anchors.
var (
	Equal    Match = func(have, anchor string) bool { return have == anchor }
	Prefix   Match = strings.HasPrefix
	Contains Match = strings.Contains
)

// CompareObservations is the end of a differential test that observed
// the same cases on haproxy (want) and gproxy (got), by case name: it
// first checks haproxy's observations against the anchors (so that a
// broken set-up, where both fail alike, cannot pass), then gproxy's
// against haproxy's case by case, in name order, and logs how many
// cases of what were compared.
func CompareObservations(t testing.TB, what string, want, got map[string]string, match Match, anchors map[string]string) {
	t.Helper()
	for _, k := range sortedKeys(anchors) {
		if !match(want[k], anchors[k]) {
			t.Errorf("haproxy: %s: %q, want %q", k, want[k], anchors[k])
		}
	}
	diff := 0
	for _, k := range sortedKeys(want) {
		if got[k] != want[k] {
			diff++
			t.Errorf("%s %s: haproxy %q, gproxy %q", what, k, want[k], got[k])
		}
	}
	t.Logf("%d %s cases compared, %d differ", len(want), what, diff)
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
