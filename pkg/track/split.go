package track

import (
	"errors"
	"fmt"
	"strings"
)

// ErrSyntax is returned (wrapped) by Split for an unterminated quote or a
// trailing backslash.
var ErrSyntax = errors.New("track: bad script command line")

const whiteSpace = " \t\f\n\r\v"

// Split cuts a script command line into words as keepalived 2.2.7 does
// (lib/parser.c alloc_strvec_quoted_escaped): words are separated by white
// space; single or double quotes group text (the quotes are dropped, and
// quoted and unquoted text join into one word); a backslash escapes the
// next character everywhere, even inside single quotes, with C escapes
// \a \b \E \f \n \r \t \v, \xHH, \cX and octal \NNN. No other shell
// syntax: no variables, globs, pipes or redirections.
func Split(s string) ([]string, error) {
	var words []string
	i := 0
	for i < len(s) {
		for i < len(s) && strings.IndexByte(whiteSpace, s[i]) >= 0 {
			i++
		}
		if i >= len(s) {
			break
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
					return nil, fmt.Errorf("%w: missing escape char at end: %q", ErrSyntax, s)
				}
				var b byte
				b, i = unescape(s, i)
				w = append(w, b)
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
			return nil, fmt.Errorf("%w: string %q: missing terminating %c", ErrSyntax, s, quote)
		}
		words = append(words, string(w))
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("%w: empty command", ErrSyntax)
	}
	return words, nil
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

// unescape reads the escape starting at s[i] (just after the backslash) and
// returns the byte and the index after it.
func unescape(s string, i int) (byte, int) {
	c := s[i]
	switch {
	case c == 'x' && i+1 < len(s) && isHex(s[i+1]):
		var b byte
		i++
		for i < len(s) && isHex(s[i]) { // keepalived reads every hex digit
			b = b<<4 | hexVal(s[i])
			i++
		}
		return b, i
	case c == 'c' && i+1 < len(s):
		return s[i+1] & 0x1f, i + 2
	case c >= '0' && c <= '7':
		b := c - '0'
		i++
		for n := 0; n < 2 && i < len(s) && s[i] >= '0' && s[i] <= '7'; n++ {
			b = b<<3 + (s[i] - '0')
			i++
		}
		return b, i
	}
	m := map[byte]byte{'a': '\a', 'b': '\b', 'E': 0x1b, 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}
	if b, ok := m[c]; ok {
		return b, i + 1
	}
	return c, i + 1
}
