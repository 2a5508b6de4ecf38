package proxy

import (
	"slices"
	"sort"
	"strings"

	"hapair/pkg/sample"
)

// `http-request normalize-uri` (configuration manual 4.2, haproxy 2.6's
// uri_normalizer.c): each normalizer rewrites the request target's path
// part the way haproxy does, including where it stops (the path before
// '?' for the path-* normalizers, the whole path, query and fragment
// for the percent-* and fragment-* ones).

// normalizeURI applies one normalizer to a request target. ok is false
// when a strict normalizer finds a malformed percent-encoding (haproxy
// answers 400 then).
func normalizeURI(uri, normalizer string) (string, bool) {
	prefix, p := "", uri
	if !strings.HasPrefix(uri, "/") {
		scheme, auth, rest, abs := splitAbsolute(uri)
		if !abs {
			return uri, true // "*", an authority: no path to normalize
		}
		prefix, p = scheme+"://"+auth, rest
	}
	// onPath rewrites the path up to '?', keeping what follows.
	onPath := func(f func(string) string) string {
		i := strings.IndexByte(p, '?')
		if i < 0 {
			i = len(p)
		}
		return prefix + f(p[:i]) + p[i:]
	}
	name, opt, _ := strings.Cut(normalizer, " ")
	switch name {
	case "path-merge-slashes":
		return onPath(mergeSlashes), true
	case "path-strip-dot":
		return onPath(stripDot), true
	case "path-strip-dotdot":
		return onPath(func(s string) string { return stripDotDot(s, opt == "full") }), true
	case "query-sort-by-name":
		i := strings.IndexByte(uri, '?')
		if i < 0 {
			return uri, true
		}
		return uri[:i+1] + sortQuery(uri[i+1:]), true
	case "percent-to-uppercase":
		s, ok := percentRewrite(p, opt == "strict", false)
		return prefix + s, ok
	case "percent-decode-unreserved":
		s, ok := percentRewrite(p, opt == "strict", true)
		return prefix + s, ok
	case "fragment-strip":
		s, _, _ := strings.Cut(p, "#")
		return prefix + s, true
	case "fragment-encode":
		return prefix + strings.ReplaceAll(p, "#", "%23"), true
	}
	return uri, true
}

// mergeSlashes turns each run of '/' into one.
func mergeSlashes(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		b.WriteByte(p[i])
		if p[i] == '/' {
			for i+1 < len(p) && p[i+1] == '/' {
				i++
			}
		}
	}
	return b.String()
}

// stripDot removes the "." segments.
func stripDot(p string) string {
	var b strings.Builder
	for len(p) > 0 {
		seg, rest, slash := strings.Cut(p, "/")
		if seg != "." {
			b.WriteString(seg)
			if slash {
				b.WriteByte('/')
			}
		}
		p = rest
	}
	return b.String()
}

// stripDotDot removes each "/.." segment with the segment before it,
// reading from the end as haproxy does; those that climb above the root
// are kept at the front unless full.
func stripDotDot(p string, full bool) string {
	rev := make([]byte, 0, len(p)+1) // the result, last byte first
	off, up := len(p)-1, 0
	if off >= 2 && strings.HasPrefix(p[off-2:], "/..") {
		up++
		off -= 2
	}
	for off >= 0 {
		if off >= 3 && strings.HasPrefix(p[off-3:], "/../") {
			up++
			off -= 3
			continue
		}
		if up > 0 {
			off-- // the slash
			if off >= 0 {
				up--
				for off >= 0 && p[off] != '/' {
					off-- // the segment the ".." takes away
				}
			}
			continue
		}
		rev = append(rev, p[off])
		off--
		for off >= 0 && p[off] != '/' {
			rev = append(rev, p[off])
			off--
		}
	}
	if up > 0 {
		rev = append(rev, '/')
		for ; !full && up > 0; up-- {
			rev = append(rev, '.', '.', '/')
		}
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return string(rev)
}

// sortQuery orders the '&'-separated parameters by name (the part
// before '='), keeping the order of equal names; an empty parameter at
// the end is dropped, as haproxy's splitting drops it.
func sortQuery(q string) string {
	var params []string
	for len(q) > 0 {
		var p string
		p, q, _ = strings.Cut(q, "&")
		params = append(params, p)
	}
	name := func(p string) string { n, _, _ := strings.Cut(p, "="); return n }
	sort.SliceStable(params, func(i, j int) bool { return name(params[i]) < name(params[j]) })
	return strings.Join(params, "&")
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// percentRewrite upper-cases the hex digits of each %XX (or, decode,
// decodes those standing for an unreserved character: letters, digits,
// '-', '.', '_', '~'). A '%' without two hex digits is kept, or makes
// the whole fail when strict.
func percentRewrite(p string, strict, decode bool) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]) {
			h1, h2 := p[i+1], p[i+2]
			i += 2
			if !decode {
				b.WriteByte('%')
				b.WriteString(strings.ToUpper(string([]byte{h1, h2})))
				continue
			}
			d := unhex(h1)<<4 | unhex(h2)
			if d >= 'A' && d <= 'Z' || d >= 'a' && d <= 'z' || d >= '0' && d <= '9' || d == '-' || d == '.' || d == '_' || d == '~' {
				b.WriteByte(d)
			} else {
				b.WriteByte('%')
				b.WriteByte(h1)
				b.WriteByte(h2)
			}
			continue
		}
		if strict {
			return "", false
		}
		b.WriteByte('%')
	}
	return b.String(), true
}

// restrictHeaderNames applies `option http-restrict-req-hdr-names`: the
// fields whose name has a character other than a letter, a digit or '-'
// are removed, or (reject) make it report true, the request then being
// denied.
func restrictHeaderNames(m *sample.Message, reject bool) bool {
	bad := func(name string) bool {
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return true
			}
		}
		return false
	}
	if reject {
		return slices.ContainsFunc(m.Headers, func(hd sample.Header) bool { return bad(hd.Name) })
	}
	m.Headers = slices.DeleteFunc(m.Headers, func(hd sample.Header) bool { return bad(hd.Name) })
	return false
}
