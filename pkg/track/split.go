package track

import (
	"errors"
	"fmt"

	"hapair/pkg/keepalivedcfg"
)

// ErrSyntax is returned (wrapped) by Split for an unterminated quote or a
// trailing backslash.
var ErrSyntax = errors.New("track: bad script command line")

// Split cuts a script command line into words as keepalived 2.2.7 does
// (lib/parser.c alloc_strvec_quoted_escaped): words are separated by white
// space; single or double quotes group text (the quotes are dropped, and
// quoted and unquoted text join into one word); a backslash escapes the
// next character everywhere, even inside single quotes, with C escapes
// \a \b \E \f \n \r \t \v, \xHH, \cX and octal \NNN. No other shell
// syntax: no variables, globs, pipes or redirections. The grammar is the
// config parser's, so a script runs with the words `keepalived -t` showed.
func Split(s string) ([]string, error) {
	words, err := keepalivedcfg.SplitCommand(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("%w: empty command", ErrSyntax)
	}
	return words, nil
}
