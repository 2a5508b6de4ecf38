package sample

import (
	"bytes"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
)

// matchKind is a pattern matching method (haproxy's PAT_MATCH_*).
type matchKind int

const (
	mFound matchKind = iota
	mBool
	mInt
	mIP
	mBin
	mLen
	mStr
	mBeg
	mSub
	mDir
	mDom
	mEnd
	mReg
	mMeth  // method: pat_parse_meth/pat_match_meth
	mNever // no patterns possible (not a haproxy method; unused)
)

var matchNames = map[string]matchKind{
	"found": mFound, "bool": mBool, "int": mInt, "ip": mIP, "bin": mBin,
	"len": mLen, "str": mStr, "beg": mBeg, "sub": mSub, "dir": mDir,
	"dom": mDom, "end": mEnd, "reg": mReg,
}

// matchType is the type the sample is cast to before matching
// (pat_match_types).
func (m matchKind) matchType() Type {
	switch m {
	case mFound, mBool, mInt:
		return TypeInt
	case mIP:
		return TypeAddr
	case mBin:
		return TypeBin
	case mMeth:
		return TypeMeth
	}
	return TypeStr
}

// pattern is one compiled pattern.
type pattern struct {
	str      string
	re       *Regex
	min, max int64
	minSet   bool
	maxSet   bool
	prefix   netip.Prefix
	val      Value // the map value
	hasValue bool
	elt      *patElt // the reference entry it was compiled from
}

// patternSet is the compiled patterns of one ACL expression or map.
type patternSet struct {
	kind   matchKind
	icase  bool
	dotted bool
	pats   []pattern
	// strIndex indexes exact-match strings (case-folded under -i) for
	// large lists (pattern files, maps) so matching does not scan.
	strIndex map[string]int
}

// regexpErrPCREOnly is the text of a regex error when the regex is valid
// for haproxy's PCRE2 but not for Go's RE2: the config must not be served
// with a different match.
func compileRegex(s string, icase bool) (*Regex, error) {
	if !isASCII(s) {
		return nil, fmt.Errorf("regex '%s' holds non-ASCII bytes, which gproxy cannot match byte by byte as haproxy's PCRE2 does: write them as \\xHH", s)
	}
	src := s
	if icase {
		src = "(?i)" + s
	}
	re, err := regexp.Compile(src)
	if err != nil {
		var se *syntax.Error
		if e, ok := err.(*syntax.Error); ok {
			se = e
		}
		if se != nil && (se.Code == syntax.ErrInvalidPerlOp || se.Code == syntax.ErrInvalidEscape || se.Code == syntax.ErrInvalidNamedCapture || se.Code == syntax.ErrInvalidRepeatOp && strings.Contains(s, "+")) {
			return nil, fmt.Errorf("regex '%s' uses a PCRE feature gproxy does not support (backreference, lookaround, atomic group or possessive quantifier): %s", s, se.Code)
		}
		return nil, fmt.Errorf("regex '%s' is invalid (error=%s, erroffset=%d)", s, pcreText(se, err), errOffset(s, se))
	}
	return &Regex{re: re}, nil
}

// Regex is a compiled regular expression that matches as haproxy's PCRE2
// does without UTF mode: byte by byte. Go's regexp reads UTF-8, so a
// subject holding non-ASCII bytes is matched as Latin-1 (each byte one
// character, \xHH in the pattern naming byte HH).
type Regex struct{ re *regexp.Regexp }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// latin1 maps each byte of s to the rune of the same value.
func latin1(s string) string {
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}

// unLatin1 is the inverse of latin1 (runes above 0xFF cannot occur).
func unLatin1(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = append(b, byte(r))
	}
	return string(b)
}

// MatchString reports whether the regex matches somewhere in s.
func (r *Regex) MatchString(s string) bool {
	if isASCII(s) {
		return r.re.MatchString(s)
	}
	return r.re.MatchString(latin1(s))
}

// pcreText words Go's regex errors as PCRE2 does for the usual ones.
func pcreText(se *syntax.Error, err error) string {
	if se == nil {
		return err.Error()
	}
	switch se.Code {
	case syntax.ErrMissingParen:
		return "missing closing parenthesis"
	case syntax.ErrUnexpectedParen:
		return "unmatched closing parenthesis"
	case syntax.ErrMissingBracket:
		return "missing terminating ] for character class"
	case syntax.ErrMissingRepeatArgument:
		return "quantifier does not follow a repeatable item"
	case syntax.ErrTrailingBackslash:
		return "\\ at end of pattern"
	case syntax.ErrInvalidCharRange:
		return "range out of order in character class"
	}
	return se.Code.String()
}

// errOffset approximates PCRE2's error offset: the end of the pattern
// for an unterminated construct, else where Go's offending part starts.
func errOffset(s string, se *syntax.Error) int {
	if se == nil {
		return 0
	}
	switch se.Code {
	case syntax.ErrMissingParen, syntax.ErrMissingBracket, syntax.ErrTrailingBackslash:
		return len(s)
	}
	if i := strings.Index(s, se.Expr); i >= 0 {
		return i + len(se.Expr)
	}
	return 0
}

// parseIntRange is pat_parse_int (dotted=false) or pat_parse_dotted_ver.
func parseIntRange(text string, dotted bool) (pattern, error) {
	var p pattern
	num := func(s string) (int64, bool) {
		if dotted {
			return parseDotted(s)
		}
		return strl2llrc(s)
	}
	i := strings.IndexAny(text, ":-")
	if i < 0 {
		if text == "" {
			if dotted {
				return p, fmt.Errorf("'%s' is not a valid dotted number range", text)
			}
			return p, fmt.Errorf("'%s' is not a valid number range", text)
		}
		n, ok := num(text)
		if !ok {
			if dotted {
				return p, fmt.Errorf("'%s' is not a dotted number", text)
			}
			return p, fmt.Errorf("'%s' is not a number", text)
		}
		p.min, p.max, p.minSet, p.maxSet = n, n, true, true
		return p, nil
	}
	bad := fmt.Errorf("'%s' is not a valid number range", text)
	if dotted {
		bad = fmt.Errorf("'%s' is not a valid dotted number range", text)
	}
	lo, hi := text[:i], text[i+1:]
	switch {
	case lo == "" && hi != "":
		n, ok := num(hi)
		if !ok {
			return p, bad
		}
		p.max, p.maxSet = n, true
	case hi == "":
		n, ok := num(lo)
		if !ok {
			return p, bad
		}
		p.min, p.minSet = n, true
	default:
		a, ok1 := num(lo)
		b, ok2 := num(hi)
		if !ok1 || !ok2 || a > b {
			return p, bad
		}
		p.min, p.max, p.minSet, p.maxSet = a, b, true, true
	}
	return p, nil
}

// strl2llrc is haproxy's strict decimal parse (optional sign, digits only).
func strl2llrc(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	i := 0
	if s[0] == '-' || s[0] == '+' {
		i = 1
	}
	if i == len(s) {
		return 0, false
	}
	for j := i; j < len(s); j++ {
		if s[j] < '0' || s[j] > '9' {
			return 0, false
		}
	}
	return readInt64(s), true
}

// parseDotted reads "major[.minor]" as major<<16|minor.
func parseDotted(s string) (int64, bool) {
	maj, min, hasDot := strings.Cut(s, ".")
	a, ok := strl2llrc(maj)
	if !ok || a < 0 || a >= 65536 {
		return 0, false
	}
	var b int64
	if hasDot {
		if b, ok = strl2llrc(min); !ok || b < 0 || b >= 65536 {
			return 0, false
		}
	}
	return a<<16 | b, true
}

// parseIPPattern is pat_parse_ip: an IPv4 address with an optional
// dotted or bit-count mask, or an IPv6 address with a bit count. Host
// names (which haproxy resolves at start) are refused: a pattern that
// depends on the resolver at start is not reproduced.
func parseIPPattern(text string) (netip.Prefix, error) {
	bad := fmt.Errorf("'%s' is not a valid IPv4 or IPv6 address", text)
	addr, mask, hasMask := strings.Cut(text, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, bad
	}
	bits := a.BitLen()
	if hasMask {
		m, ok := parseMask(mask, a.Is6())
		if a.Is6() && strings.Contains(mask, ":") {
			ok = false // str62net takes a bit count only
		}
		n, contiguous := maskBits(m)
		if !ok || !contiguous {
			return netip.Prefix{}, bad
		}
		bits = n
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}, bad
	}
	return p, nil
}

// maskBits is the bit count of a contiguous mask.
func maskBits(m netip.Addr) (int, bool) {
	b := m.AsSlice()
	n := 0
	for n < len(b)*8 && b[n/8]&(0x80>>(n%8)) != 0 {
		n++
	}
	for i := n; i < len(b)*8; i++ {
		if b[i/8]&(0x80>>(i%8)) != 0 {
			return 0, false
		}
	}
	return n, true
}

// parseHex is parse_binary for hex patterns.
func parseHex(text string) (string, error) {
	if len(text)%2 != 0 {
		return "", fmt.Errorf("'%s' length is odd", text)
	}
	b := make([]byte, len(text)/2)
	for i := 0; i < len(b); i++ {
		v, err := strconv.ParseUint(text[2*i:2*i+2], 16, 8)
		if err != nil {
			return "", fmt.Errorf("'%s' is not a valid hexadecimal string", text)
		}
		b[i] = byte(v)
	}
	return string(b), nil
}

// add compiles and appends one pattern.
func (ps *patternSet) add(text string) error {
	var p pattern
	switch ps.kind {
	case mFound, mBool:
		// patterns are accepted and ignored (pat_parse_nothing)
	case mInt, mLen:
		var err error
		if p, err = parseIntRange(text, ps.dotted); err != nil {
			return err
		}
	case mIP:
		pf, err := parseIPPattern(text)
		if err != nil {
			return err
		}
		p.prefix = pf
	case mBin:
		s, err := parseHex(text)
		if err != nil {
			return err
		}
		p.str = s
	case mReg:
		re, err := compileRegex(text, ps.icase)
		if err != nil {
			return err
		}
		p.re = re
		p.str = text
	default:
		p.str = text
	}
	ps.pats = append(ps.pats, p)
	if ps.kind == mStr {
		if ps.strIndex == nil {
			ps.strIndex = map[string]int{}
		}
		k := text
		if ps.icase {
			k = asciiLower(k)
		}
		if _, dup := ps.strIndex[k]; !dup {
			ps.strIndex[k] = len(ps.pats) - 1
		}
	}
	return nil
}

func isDelim(c byte, delims string) bool { return strings.IndexByte(delims, c) >= 0 }

// matchWord is match_word: pat found in s between delimiters or the ends;
// delimiters at the ends of the pattern are ignored.
func matchWord(s, pat string, icase bool, delims string) bool {
	for len(pat) > 0 && isDelim(pat[0], delims) {
		pat = pat[1:]
	}
	for len(pat) > 0 && isDelim(pat[len(pat)-1], delims) {
		pat = pat[:len(pat)-1]
	}
	if len(pat) > len(s) {
		return false
	}
	may := true
	end := len(s) - len(pat)
	for c := 0; c <= end; c++ {
		if isDelim(s[c], delims) {
			may = true
			continue
		}
		if !may {
			continue
		}
		w := s[c : c+len(pat)]
		eq := w == pat
		if icase {
			eq = equalFold(w, pat)
		}
		if eq && (c == end || isDelim(s[c+len(pat)], delims)) {
			return true
		}
		may = false
	}
	return false
}

// The -i comparisons fold ASCII letters only, as haproxy's strncasecmp
// in the C locale (Go's EqualFold also folds non-ASCII letters).

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func hasPrefixFold(s, p string) bool {
	return len(s) >= len(p) && equalFold(s[:len(p)], p)
}

func hasSuffixFold(s, p string) bool {
	return len(s) >= len(p) && equalFold(s[len(s)-len(p):], p)
}

func containsFold(s, p string) bool {
	if p == "" {
		return true
	}
	for i := 0; i+len(p) <= len(s); i++ {
		if equalFold(s[i:i+len(p)], p) {
			return true
		}
	}
	return false
}

// match returns the index of the matching pattern, or -1. v has the
// type the set expects (see matchType); for maps of ip, the longest
// prefix wins, otherwise the first pattern in order.
func (ps *patternSet) match(v Value) int {
	switch ps.kind {
	case mFound:
		return 0
	case mBool:
		if v.Int != 0 {
			return 0
		}
		return -1
	case mStr:
		k := v.Str
		if ps.icase {
			// lower-case into a stack buffer: the map lookup on
			// string(bytes) does not allocate
			var buf [128]byte
			b := buf[:0]
			for i := 0; i < len(k); i++ {
				c := k[i]
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				b = append(b, c)
			}
			if i, ok := ps.strIndex[string(b)]; ok {
				return i
			}
			return -1
		}
		if i, ok := ps.strIndex[k]; ok {
			return i
		}
		return -1
	case mIP:
		return ps.matchIP(v.Addr)
	case mBeg:
		if !ps.icase {
			// haproxy indexes case-sensitive prefixes in a tree and
			// returns the longest one (it matters for map_beg).
			best := -1
			for i := range ps.pats {
				if strings.HasPrefix(v.Str, ps.pats[i].str) && (best < 0 || len(ps.pats[i].str) > len(ps.pats[best].str)) {
					best = i
				}
			}
			return best
		}
	}
	for i := range ps.pats {
		p := &ps.pats[i]
		var ok bool
		switch ps.kind {
		case mInt:
			ok = (!p.minSet || p.min <= v.Int) && (!p.maxSet || v.Int <= p.max)
		case mLen:
			n := int64(len(v.Str))
			ok = (!p.minSet || p.min <= n) && (!p.maxSet || n <= p.max)
		case mBin:
			ok = v.Str == p.str
		case mBeg:
			if ps.icase {
				ok = hasPrefixFold(v.Str, p.str)
			} else {
				ok = strings.HasPrefix(v.Str, p.str)
			}
		case mEnd:
			if ps.icase {
				ok = hasSuffixFold(v.Str, p.str)
			} else {
				ok = strings.HasSuffix(v.Str, p.str)
			}
		case mSub:
			if ps.icase {
				ok = containsFold(v.Str, p.str)
			} else {
				ok = strings.Contains(v.Str, p.str)
			}
		case mDir:
			ok = matchWord(v.Str, p.str, ps.icase, "/?")
		case mDom:
			ok = matchWord(v.Str, p.str, ps.icase, "/?.:")
		case mReg:
			ok = p.re.MatchString(v.Str)
		case mMeth:
			ok = methodMatch(v.Str, p.str, ps.icase)
		}
		if ok {
			return i
		}
	}
	return -1
}

// matchIP finds the longest prefix holding a; an IPv4 address is also
// looked up among IPv6 patterns as ::ffff:a, and an IPv6 address that
// maps to IPv4 among IPv4 patterns, as pat_match_ip does.
func (ps *patternSet) matchIP(a netip.Addr) int {
	best, bestBits := -1, -1
	try := func(x netip.Addr) {
		for i := range ps.pats {
			p := ps.pats[i].prefix
			if p.Addr().BitLen() == x.BitLen() && p.Contains(x) && p.Bits() > bestBits {
				best, bestBits = i, p.Bits()
			}
		}
	}
	if a.Is4() {
		try(a)
		if best < 0 {
			try(netip.AddrFrom16(a.As16()))
		}
		return best
	}
	try(a)
	if best < 0 {
		if v4, ok := v6tov4(a); ok {
			try(v4)
		}
	}
	return best
}

// methodMatch is pat_match_meth: the standard methods compare exactly,
// only others honour -i.
func methodMatch(sample, pat string, icase bool) bool {
	if knownMethod(sample) || knownMethod(pat) || !icase {
		return sample == pat
	}
	return equalFold(sample, pat)
}

func knownMethod(m string) bool {
	switch m {
	case "OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT":
		return true
	}
	return false
}

// splitLines yields the lines of a pattern file as pat_ref_read_from_file
// does: '#' in the first column comments the line, leading blanks are
// stripped, the line ends at CR or LF.
func splitLines(data []byte, fn func(line int, text string) error) error {
	n := 0
	for len(data) > 0 {
		n++
		var l []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i], data[i+1:]
		} else {
			l, data = data, nil
		}
		if len(l) > 0 && l[0] == '#' {
			continue
		}
		l = bytes.TrimLeft(l, " \t")
		if i := bytes.IndexAny(l, "\r"); i >= 0 {
			l = l[:i]
		}
		if i := bytes.IndexByte(l, 0); i >= 0 {
			l = l[:i]
		}
		if len(l) == 0 {
			continue
		}
		if err := fn(n, string(l)); err != nil {
			return err
		}
	}
	return nil
}

// FindStringSubmatchIndex is regexp's, matching byte by byte as
// MatchString does: the indexes are byte offsets into s.
func (r *Regex) FindStringSubmatchIndex(s string) []int {
	if isASCII(s) {
		return r.re.FindStringSubmatchIndex(s)
	}
	l := latin1(s)
	m := r.re.FindStringSubmatchIndex(l)
	if m == nil {
		return nil
	}
	// Offsets in l map back to s: every byte >= 0x80 took two bytes in l.
	back := make([]int, len(l)+1)
	j := 0
	for i := 0; i < len(s); i++ {
		back[j] = i
		j++
		if s[i] >= 0x80 {
			back[j] = i // the second byte of the rune never starts a match
			j++
		}
	}
	back[j] = len(s)
	for k, v := range m {
		if v >= 0 {
			m[k] = back[v]
		}
	}
	return m
}
