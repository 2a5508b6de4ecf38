package haproxycfg

import (
	"reflect"
	"strings"
	"testing"
)

func TestTokenize(t *testing.T) {
	env := func(name string) (string, bool) {
		v, ok := map[string]string{
			"HOST": "10.0.0.1", "PORT": "8080", "TWO": "a  b", "EMPTY": "", ".LINE": "7",
		}[name]
		return v, ok
	}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"blank", " \t ", nil},
		{"comment only", "   # a comment", nil},
		{"words", "server web01 192.168.1.68:80 maxconn 5000", []string{"server", "web01", "192.168.1.68:80", "maxconn", "5000"}},
		{"leading blanks and tabs", " \t listen https 192.168.1.84:443", []string{"listen", "https", "192.168.1.84:443"}},
		{"trailing comment", "listen stats 192.168.1.80:80 # or 192.168.1.81:80 for second HAProxy host",
			[]string{"listen", "stats", "192.168.1.80:80"}},
		{"comment glued to word", "mode http#comment", []string{"mode", "http"}},
		{"escaped space", `stats realm HAProxy\ Statistics`, []string{"stats", "realm", "HAProxy Statistics"}},
		{"escaped hash", `a b\#c`, []string{"a", "b#c"}},
		{"escaped backslash", `a b\\c`, []string{"a", `b\c`}},
		{"escaped quotes", `a \"b\' c`, []string{"a", `"b'`, "c"}},
		{"other escapes kept", `a \1\d`, []string{"a", `\1\d`}},
		{"control escapes", `a \t\n\r`, []string{"a", "\t\n\r"}},
		{"hex escape", `a \x41\x62`, []string{"a", "Ab"}},
		{"double quotes", `stats realm "HAProxy Statistics"`, []string{"stats", "realm", "HAProxy Statistics"}},
		{"single quotes", `stats realm 'HAProxy Statistics'`, []string{"stats", "realm", "HAProxy Statistics"}},
		{"hash in quotes", `a "b # c" 'd#e'`, []string{"a", "b # c", "d#e"}},
		{"concatenation", `a "b"c'd'e`, []string{"a", "bcde"}},
		{"no escapes in single quotes", `a '\x41\ $HOST'`, []string{"a", `\x41\ $HOST`}},
		{"escapes in double quotes", `a "\x41\"\\"`, []string{"a", `A"\`}},
		{"empty quoted word in the middle", `a "" b`, []string{"a", "", "b"}},
		{"empty quoted last word dropped", `a ""`, []string{"a"}},
		{"empty quoted word before blank kept", `a "" `, []string{"a", ""}},
		{"env in double quotes", `bind "${HOST}:$PORT"`, []string{"bind", "10.0.0.1:8080"}},
		{"env not expanded outside quotes", `bind ${HOST}:$PORT`, []string{"bind", "${HOST}:$PORT"}},
		{"env not expanded in single quotes", `a '$HOST'`, []string{"a", "$HOST"}},
		{"escaped dollar in double quotes", `a "\$HOST"`, []string{"a", "$HOST"}},
		{"unset env is empty", `a "x${NOPE}y"`, []string{"a", "xy"}},
		{"env default", `a "${NOPE-dflt}" "${HOST-dflt}"`, []string{"a", "dflt", "10.0.0.1"}},
		{"env with spaces stays one word", `a "${TWO}"`, []string{"a", "a  b"}},
		{"env word expansion", `a "${TWO[*]}" c`, []string{"a", "a", "b", "c"}},
		{"empty env alone dropped", `a "${EMPTY}"`, []string{"a"}},
		{"pseudo variable", `a "${.LINE}"`, []string{"a", "7"}},
		{"crlf", "a b\r\n", []string{"a", "b"}},
		{"backslash at end", `a b\`, []string{"a", `b\`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tokenize(tc.in, env)
			if err != nil {
				t.Fatalf("tokenize(%q): %+v", tc.in, err)
			}
			if !reflect.DeepEqual(got.Args, tc.want) {
				t.Errorf("tokenize(%q) = %q, want %q", tc.in, got.Args, tc.want)
			}
		})
	}
}

// TestTokenizeErrors: haproxy's messages and "position" (1-based column
// in the raw line) for malformed lines, as haproxy 2.6.12 prints them.
func TestTokenizeErrors(t *testing.T) {
	tests := []struct {
		in    string
		what  string
		col   int
		caret int
	}{
		{`  log "127.0.0.1 local0`, "unmatched quote", 7, 4},
		{`  log '127.0.0.1 local0`, "unmatched quote", 7, 4},
		{`  log "${FOO" local0`, "unmatched brace in environment variable name", 9, 6},
		{`  log "$1" local0`, "forbidden first char in environment variable name", 9, 6},
		{`  log \xZZ local0`, "truncated or invalid hexadecimal sequence", 7, 4},
		{`a \x4`, "truncated or invalid hexadecimal sequence", 3, 2},
		{`a "${.NOPE}"`, "forbidden first char in environment variable name", 6, 5},
	}
	for _, tc := range tests {
		_, err := tokenize(tc.in, func(string) (string, bool) { return "", false })
		if err == nil {
			t.Errorf("tokenize(%q): no error, want %q", tc.in, tc.what)
			continue
		}
		if err.What != tc.what || err.Col != tc.col || err.Caret != tc.caret {
			t.Errorf("tokenize(%q) = %+v, want %q at %d (caret %d)", tc.in, *err, tc.what, tc.col, tc.caret)
		}
	}
	// 70 words: haproxy keeps 64 and reports the last one kept.
	long := "  log " + strings.TrimSpace(strings.Repeat("x ", 69))
	res, err := tokenize(long, nil)
	if err == nil || !strings.HasPrefix(err.What, "too many words, truncating after word 64") || len(res.Args) != 64 {
		t.Errorf("70 words: %+v, %d args", err, len(res.Args))
	}
}
