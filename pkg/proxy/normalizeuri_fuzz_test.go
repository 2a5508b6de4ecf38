package proxy

import "testing"

// FuzzNormalizeURI runs every normalizer on untrusted request targets:
// never a panic, and a normalized target is stable under path-merge-slashes
// and fragment-strip applied twice.
func FuzzNormalizeURI(f *testing.F) {
	for _, s := range []string{"/a/b/../c", "/../..", "//x//", "/%2e%7E?b&a=1#f", "http://h/a/./b", "/a%", "/..", "*"} {
		f.Add(s)
	}
	norms := []string{"path-merge-slashes", "path-strip-dot", "path-strip-dotdot", "path-strip-dotdot full",
		"query-sort-by-name", "percent-to-uppercase", "percent-to-uppercase strict", "percent-decode-unreserved",
		"percent-decode-unreserved strict", "fragment-strip", "fragment-encode"}
	f.Fuzz(func(t *testing.T, uri string) {
		for _, n := range norms {
			out, _ := normalizeURI(uri, n)
			if n == "path-merge-slashes" || n == "fragment-strip" {
				if again, _ := normalizeURI(out, n); again != out {
					t.Fatalf("%s on %q: %q, then %q", n, uri, out, again)
				}
			}
		}
	})
}
