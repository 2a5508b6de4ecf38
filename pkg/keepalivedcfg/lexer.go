package keepalivedcfg

import (
	"errors"
	"path/filepath"
	"strings"
)

// This file turns files into logical lines the way keepalived 2.2.7's
// lib/parser.c read_line does: comments cut, '@' config-id prefixes
// applied, includes expanded, and each '{' or '}' (outside double quotes)
// split onto a line of its own.

const whiteSpace = " \t\f\n\r\v"

// line is one logical line: its words (alloc_strvec: whitespace separated,
// a word starting with '"' runs to the next '"'), the text they came from
// (for script lines, which keepalived re-splits with escapes) and where.
type line struct {
	words []string
	raw   string
	pos   Pos
}

// decomment removes a '#' or '!' comment outside double quotes, turns \#
// and \! into # and !, and trims surrounding blanks. It reports whether a
// double quote was left open.
func decomment(s string) (out string, openQuote bool) {
	s = strings.TrimLeft(s, " \t")
	var b strings.Builder
	quote := false
	cont := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			quote = !quote
		case c == '\\':
			if i+1 >= len(s) {
				cont = true
				i = len(s)
				continue
			}
			if !quote && (s[i+1] == '#' || s[i+1] == '!') {
				b.WriteByte(s[i+1])
				i++
				continue
			}
			b.WriteByte(c)
			b.WriteByte(s[i+1])
			i++
			continue
		case !quote && (c == '#' || c == '!'):
			i = len(s)
			continue
		}
		b.WriteByte(c)
	}
	out = strings.TrimRight(b.String(), " \t")
	if cont {
		out += `\`
	}
	return out, quote
}

// splitWords is keepalived's alloc_strvec: words separated by white space;
// a word that starts with '"' runs to the next '"' (no escapes) and loses
// its quotes; an unquoted word also ends at a '"'. ok is false when a quote
// is not closed (the words before it are kept).
func splitWords(s string) (words []string, ok bool) {
	i := 0
	for {
		for i < len(s) && strings.IndexByte(whiteSpace, s[i]) >= 0 {
			i++
		}
		if i >= len(s) {
			return words, true
		}
		if s[i] == '"' {
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return words, false
			}
			words = append(words, s[i+1:i+1+end])
			i += end + 2
			continue
		}
		start := i
		for i < len(s) && strings.IndexByte(whiteSpace+`"`, s[i]) < 0 {
			i++
		}
		words = append(words, s[start:i])
	}
}

// SplitCommand cuts a script or notify command line into words exactly as
// keepalived 2.2.7 does (see splitQuotedEscaped); the runtime (package
// track) uses it for command lines that do not come from a config file.
func SplitCommand(s string) ([]string, error) {
	words, msg, _ := splitQuotedEscaped(s)
	if msg != "" {
		return nil, errors.New(msg)
	}
	return words, nil
}

// splitQuotedEscaped is keepalived's alloc_strvec_quoted_escaped, used for
// script and notify command lines: single or double quotes group words
// (and may appear inside a word), and a backslash escapes the next
// character (\n, \t, \xHH, \0oo, \cX, ...). errMsg is set, and words nil,
// when a quote is not closed or a backslash ends the text.
func splitQuotedEscaped(s string) (words []string, errMsg string, logOnly bool) {
	i := 0
	for {
		for i < len(s) && strings.IndexByte(whiteSpace, s[i]) >= 0 {
			i++
		}
		if i >= len(s) {
			return words, "", false
		}
		var w []byte
		var quote byte
	word:
		for i < len(s) {
			c := s[i]
			switch {
			case c == '\\':
				i++
				if i >= len(s) {
					return nil, "Missing escape char at end: '" + s + "'", true
				}
				var out byte
				switch {
				case s[i] == 'x' && i+1 < len(s) && isHex(s[i+1]):
					i++
					for i < len(s) && isHex(s[i]) {
						out = out<<4 | hexVal(s[i])
						i++
					}
				case s[i] == 'c' && i+1 < len(s):
					out = s[i+1] & 0x1f
					i += 2
				case s[i] >= '0' && s[i] <= '7':
					out = s[i] - '0'
					i++
					for k := 0; k < 2 && i < len(s) && s[i] >= '0' && s[i] <= '7'; k++ {
						out = out<<3 + (s[i] - '0')
						i++
					}
				default:
					out = map[byte]byte{'a': '\a', 'b': '\b', 'E': 0x1b, 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}[s[i]]
					if out == 0 {
						out = s[i]
					}
					i++
				}
				w = append(w, out)
			case quote != 0 && c == quote:
				quote = 0
				i++
			case quote != 0:
				w = append(w, c)
				i++
			case c == '"' || c == '\'':
				quote = c
				i++
			case strings.IndexByte(whiteSpace, c) >= 0:
				break word
			default:
				w = append(w, c)
				i++
			}
		}
		if quote != 0 {
			return nil, "String '" + s + "': missing terminating " + string(quote), false
		}
		words = append(words, string(w))
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// frame is one open file on the include stack.
type frame struct {
	display string // name shown in diagnostics (as keepalived shows it)
	dir     string // directory relative includes are resolved against
	lines   []string
	next    int
	named   bool   // keepalived prints the file name even in the parent's pass
	path    string // recorded in Config.Files when reading starts
}

// reader yields logical lines from the main file and its includes.
type reader struct {
	p       *parser
	stack   []*frame
	residue string // rest of a line after a split brace
	resPos  Pos
	hasRes  bool
	depth   int // '{' minus '}' seen, for "Extra '}' found"
	last    Pos // position of the line last read
}

func (r *reader) top() *frame {
	if len(r.stack) == 0 {
		return nil
	}
	return r.stack[len(r.stack)-1]
}

// pos is the position of the line last read.
func (r *reader) pos() Pos {
	if f := r.top(); f != nil {
		return Pos{File: f.display, Line: f.next}
	}
	return Pos{}
}

func splitLines(src []byte) []string {
	s := string(src)
	lines := strings.Split(s, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// physical returns the next non-empty decommented line, or false at the end
// of all files.
func (r *reader) physical() (string, Pos, bool) {
	for {
		f := r.top()
		if f == nil {
			return "", Pos{}, false
		}
		if f.path != "" {
			r.p.cfg.Files = append(r.p.cfg.Files, f.path)
			f.path = ""
		}
		if f.next >= len(f.lines) {
			r.stack = r.stack[:len(r.stack)-1]
			continue
		}
		s := f.lines[f.next]
		f.next++
		s = strings.TrimRight(s, "\r\n")
		if s == "" {
			continue
		}
		pos := Pos{File: f.display, Line: f.next}
		out, open := decomment(s)
		if open {
			r.p.readerReport(pos, Error, classGeneral, "Unterminated quote '%s'", out)
		}
		if out == "" {
			continue
		}
		return out, pos, true
	}
}

// next returns the next logical line.
func (r *reader) next() (line, bool) {
	for {
		if r.p.aborted {
			return line{}, false
		}
		var s string
		var pos Pos
		if r.hasRes {
			s, pos = r.residue, r.resPos
			r.hasRes = false
		} else {
			var ok bool
			s, pos, ok = r.physical()
			if !ok {
				return line{}, false
			}
		}
		r.last = pos
		s, keep := r.configID(s)
		if !keep || s == "" {
			continue
		}
		if s[0] == '$' || strings.HasPrefix(s, "~SEQ") || strings.HasPrefix(s, "~LST") {
			// Parameter definitions, ~SEQ and ~LST are keepalived
			// features gkeepalived does not implement.
			r.p.readerReport(pos, Error, classGeneral, "gkeepalived does not support parameter definitions, ~SEQ or ~LST: '%s' - ignoring", s)
			continue
		}
		if r.include(s, pos) {
			continue
		}
		s = r.splitBrace(s, pos)
		switch s {
		case "{":
			r.depth++
		case "}":
			r.depth--
			if r.depth < 0 {
				r.p.readerReport(pos, Error, classUnexpectedEOB, "Extra '}' found")
				r.depth = 0
			}
		}
		words, ok := splitWords(s)
		if !ok {
			r.p.readerReport(pos, Error, classUnmatchedQuote, "Unmatched quote: '%s'", s)
		}
		if len(words) == 0 {
			continue
		}
		return line{words: words, raw: s, pos: pos}, true
	}
}

// configID applies keepalived's "@ID rest" and "@^ID rest" prefixes: the
// rest of the line is kept only if ID matches (or, with ^, does not match)
// the config id (-i, default the host name).
func (r *reader) configID(s string) (string, bool) {
	if s[0] != '@' {
		return s, true
	}
	ofs, rev := 1, false
	if len(s) > 1 && s[1] == '^' {
		ofs, rev = 2, true
	}
	sp := strings.IndexAny(s[ofs:], " \t")
	if sp < 0 {
		return "", false
	}
	id := s[ofs : ofs+sp]
	match := r.p.opts.ConfigID != "" && id == r.p.opts.ConfigID
	if match == rev {
		return "", false
	}
	return strings.TrimLeft(s[ofs+sp:], " \t"), true
}

// splitBrace keeps the text up to the first '{' or '}' outside double
// quotes for this line and saves the rest for the next call; a line that
// starts with a brace is that brace alone.
func (r *reader) splitBrace(s string, pos Pos) string {
	idx := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				break
			}
			i += j + 1
			continue
		}
		if s[i] == '{' || s[i] == '}' {
			idx = i
			break
		}
	}
	if idx < 0 {
		return strings.TrimRight(s, " \t")
	}
	var rest string
	if idx == 0 {
		rest = strings.TrimLeft(s[1:], " \t")
		s = s[:1]
	} else {
		rest = s[idx:]
		s = s[:idx]
	}
	rest = strings.TrimRight(rest, " \t")
	if rest != "" {
		r.residue, r.resPos, r.hasRes = rest, pos, true
	}
	return strings.TrimRight(s, " \t")
}

// include handles "include PATTERN" (and keepalived's includer/includem/...
// variants, treated as plain include): the files matching the glob, in
// order, are read in place of the line. A relative pattern is relative to
// the including file's directory, as keepalived changes directory to it.
func (r *reader) include(s string, pos Pos) bool {
	if !strings.HasPrefix(s, "include") || len(s) < 8 {
		return false
	}
	var rest string
	switch {
	case isSpace(s[7]):
		rest = s[8:]
	case len(s) > 8 && isSpace(s[8]) && strings.IndexByte("rmwba", s[7]) >= 0:
		rest = s[9:]
		// The checking variants turn missing or unreadable files into
		// errors that stop keepalived; gkeepalived does not check.
		r.p.readerReport(pos, Fatal, classUnsupported, "'%s' is not implemented by gkeepalived (%s) - refusing this configuration", s[:8], featInclude)
		r.p.diags[len(r.p.diags)-1].extra = true
	default:
		return false
	}
	pattern := strings.TrimLeft(rest, " \t")
	cur := r.top()
	dir := "."
	if cur != nil {
		dir = cur.dir
	}
	fsys := r.p.opts.FS
	type match struct{ path, display string }
	var matches []match
	missing := false
	for _, pat := range expandBraces(pattern) {
		full := pat
		if !filepath.IsAbs(pat) {
			full = filepath.Join(dir, pat)
		}
		m, err := fsys.Glob(full)
		if err != nil {
			r.p.readerReport(pos, Info, classOK, "Error reading config file(s): glob(\"%s\") returned %d, skipping.", pattern, 1)
			return true
		}
		if len(m) == 0 && !strings.ContainsAny(pat, "*?[") {
			missing = true
		}
		for _, name := range m {
			disp := name
			if !filepath.IsAbs(pat) {
				if rel, err := filepath.Rel(dir, name); err == nil {
					disp = rel
				}
			}
			matches = append(matches, match{name, disp})
		}
	}
	if len(matches) == 0 {
		if missing {
			r.p.readerReport(pos, Info, classOK, "Config files missing '%s'.", pattern)
		}
		return true
	}
	if missing {
		r.p.readerReport(pos, Info, classOK, "Some config files missing: \"%s\".", pattern)
	}
	var frames []*frame
	for _, m := range matches {
		if len(r.stack) >= maxIncludeDepth {
			r.p.readerReport(pos, Error, classGeneral, "include nesting deeper than %d - skipping '%s'", maxIncludeDepth, m.display)
			break
		}
		if st, err := fsys.Stat(m.path); err == nil && (st.IsDir() || !st.Mode().IsRegular() || st.Mode()&0o111 != 0) {
			if st.IsDir() {
				r.p.readerReport(pos, Info, classOK, "Configuration file '%s' is a directory - skipping", m.display+"/")
			} else {
				r.p.readerReport(pos, Info, classOK, "Configuration file '%s' is not a regular non-executable file - skipping", m.display)
			}
			continue
		}
		src, err := fsys.ReadFile(m.path)
		if err != nil {
			r.p.readerReport(pos, Info, classOK, "Configuration file '%s' open problem (%s) - skipping", m.display, err)
			continue
		}
		frames = append(frames, &frame{display: m.display, dir: filepath.Dir(m.path), lines: splitLines(src), named: true, path: m.path})
	}
	// The first match is read first: push in reverse.
	for i := len(frames) - 1; i >= 0; i-- {
		r.stack = append(r.stack, frames[i])
	}
	return true
}

// maxIncludeDepth stops include loops (keepalived recurses until it runs
// out of file descriptors).
const maxIncludeDepth = 32

func isSpace(c byte) bool { return strings.IndexByte(whiteSpace, c) >= 0 }
