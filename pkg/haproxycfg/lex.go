package haproxycfg

import (
	"fmt"
	"strconv"
	"strings"
)

// maxLineArgs is haproxy's MAX_LINE_ARGS: words beyond it are an error.
const maxLineArgs = 64

// lexError is a tokenizer failure on one line. Col is the 1-based column
// in the raw line haproxy reports as "position"; Caret is the 0-based
// offset in the line with its leading blanks removed, where haproxy's
// second diagnostic line puts its '^'.
type lexError struct {
	What  string
	Col   int
	Caret int
}

// lexResult is one tokenized line.
type lexResult struct {
	Args []string
	// Trimmed is the line without its leading blanks and line ending, as
	// haproxy echoes it under a tokenizer error.
	Trimmed string
}

// isSpace matches C's isspace() minus the line endings, which end the line
// before reaching it.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\v' || c == '\f'
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func isAlnum(c byte) bool { return isAlpha(c) || (c >= '0' && c <= '9') }

// envFunc looks up an environment variable; vars holds haproxy's
// pseudo-variables (.FILE, .LINE, .SECTION).
type envFunc func(name string) (string, bool)

// tokenize splits one configuration line into words the way haproxy 2.6
// does (configuration manual section 2.2, "Quoting and escaping"):
//
//   - blanks separate words; '#' outside quotes starts a comment, even in
//     the middle of a word;
//   - inside "double quotes" blanks and '#' are literal and environment
//     variables ($NAME, ${NAME}, ${NAME-default}, ${NAME[*]}) are expanded;
//     outside double quotes a '$' is literal;
//   - inside 'single quotes' everything is literal;
//   - a backslash outside single quotes escapes ' ', '\', '#', '\”, '"',
//     '$' (in double quotes only), and writes \t, \n, \r and \xHH; before
//     any other character it stays a literal backslash;
//   - quoted and unquoted parts of a word concatenate;
//   - an empty last word (for example a trailing "") is dropped, as haproxy
//     does.
func tokenize(line string, env envFunc) (lexResult, *lexError) {
	// Leading blanks are skipped before parsing, so haproxy's caret
	// offsets are relative to the trimmed line.
	lead := 0
	for lead < len(line) && isSpace(line[lead]) {
		lead++
	}
	in := line[lead:]
	if i := strings.IndexAny(in, "\r\n\x00"); i >= 0 {
		in = in[:i]
	}
	res := lexResult{Trimmed: in}
	// haproxy ends a ${NAME-default} default value by writing a NUL over
	// the '}' in its line buffer, so the line it echoes under a later
	// error stops there; we echo the same.
	cut := -1
	fail := func(what string, at int) (lexResult, *lexError) {
		if cut >= 0 {
			res.Trimmed = in[:cut]
		}
		return res, &lexError{What: what, Col: lead + at + 1, Caret: at}
	}

	var (
		args    []string
		cur     strings.Builder
		squote  bool
		dquote  bool
		quoteAt = -1
		outPos  int // position in haproxy's output buffer, for "too many words"
		tooMany = -1
	)
	newWord := func() {
		args = append(args, cur.String())
		outPos += cur.Len() + 1
		cur.Reset()
		if len(args) == maxLineArgs && tooMany < 0 {
			tooMany = outPos
		}
	}
	i := 0
	for i < len(in) {
		c := in[i]
		switch {
		case c == '#' && !squote && !dquote:
			i = len(in)
		case c == '"' && !squote:
			if dquote {
				dquote, quoteAt = false, -1
			} else {
				dquote, quoteAt = true, i
			}
			i++
		case c == '\'' && !dquote:
			if squote {
				squote, quoteAt = false, -1
			} else {
				squote, quoteAt = true, i
			}
			i++
		case c == '\\' && !squote:
			if i+1 >= len(in) {
				cur.WriteByte('\\')
				i++
				break
			}
			switch n := in[i+1]; n {
			case ' ', '\\', '#', '\'', '"':
				cur.WriteByte(n)
				i += 2
			case 't':
				cur.WriteByte('\t')
				i += 2
			case 'n':
				cur.WriteByte('\n')
				i += 2
			case 'r':
				cur.WriteByte('\r')
				i += 2
			case '$':
				if dquote {
					cur.WriteByte('$')
					i += 2
				} else {
					cur.WriteByte('\\')
					i++
				}
			case 'x':
				if i+3 >= len(in) || !isHex(in[i+2]) || !isHex(in[i+3]) {
					return fail("truncated or invalid hexadecimal sequence", i)
				}
				v, _ := strconv.ParseUint(in[i+2:i+4], 16, 8)
				cur.WriteByte(byte(v))
				i += 4
			default:
				cur.WriteByte('\\')
				i++
			}
		case isSpace(c) && !squote && !dquote:
			for i < len(in) && isSpace(in[i]) {
				i++
			}
			newWord()
		case c == '$' && dquote:
			i++
			brace := -1
			if i < len(in) && in[i] == '{' {
				brace = i
				i++
			}
			if i >= len(in) || !(isAlpha(in[i]) || in[i] == '_' || in[i] == '.') {
				return fail("forbidden first char in environment variable name", i)
			}
			start := i
			if in[i] == '.' {
				i++
			}
			for i < len(in) && (isAlnum(in[i]) || in[i] == '_') {
				i++
			}
			name := in[start:i]
			value, ok := "", false
			if env != nil {
				value, ok = env(name)
			}
			if name[0] == '.' && !ok {
				return fail("forbidden first char in environment variable name", start)
			}
			expand := false
			if brace >= 0 && i < len(in) && in[i] == '[' {
				if !strings.HasPrefix(in[i:], "[*]") {
					return fail("invalid word expansion sequence", i)
				}
				expand = true
				i += 3
			}
			if brace >= 0 {
				if i < len(in) && in[i] == '-' {
					end := strings.IndexByte(in[i:], '}')
					if end < 0 {
						return fail("unmatched brace in environment variable name", brace)
					}
					if !ok {
						value, ok = in[i+1:i+end], true
					}
					i += end
					if cut < 0 {
						cut = i
					}
				} else if i >= len(in) || in[i] != '}' {
					return fail("unmatched brace in environment variable name", brace)
				}
				i++ // the closing brace
			}
			if !ok {
				break
			}
			if !expand {
				cur.WriteString(value)
				break
			}
			for j := 0; j < len(value); {
				if isSpace(value[j]) || value[j] == '\n' || value[j] == '\r' {
					newWord()
					for j < len(value) && (isSpace(value[j]) || value[j] == '\n' || value[j] == '\r') {
						j++
					}
					continue
				}
				cur.WriteByte(value[j])
				j++
			}
		default:
			cur.WriteByte(c)
			i++
		}
	}
	// haproxy does not count an empty last word (trailing blanks, or a
	// trailing "").
	if cur.Len() > 0 {
		newWord()
	}
	if quoteAt >= 0 {
		return fail("unmatched quote", quoteAt)
	}
	if len(args) > maxLineArgs {
		res.Args = args[:maxLineArgs]
		return res, &lexError{
			What: fmt.Sprintf("too many words, truncating after word %d, position %d: <%s>",
				maxLineArgs, tooMany-len(args[maxLineArgs-1])-1+1, args[maxLineArgs-1]),
			Col: -1,
		}
	}
	res.Args = args
	return res, nil
}
