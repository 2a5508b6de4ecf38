package track

import (
	"errors"
	"reflect"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"killall -0 haproxy", []string{"killall", "-0", "haproxy"}},
		{"  /usr/bin/check\t a  ", []string{"/usr/bin/check", "a"}},
		{`/bin/sh -c "pidof haproxy || exit 1"`, []string{"/bin/sh", "-c", "pidof haproxy || exit 1"}},
		{`a 'b c'd "e"'f'`, []string{"a", "b cd", "ef"}},
		{`a\ b`, []string{"a b"}},
		{`'it''s'`, []string{"its"}},
		{`"say \"hi\""`, []string{`say "hi"`}},
		{`'a\'b'`, []string{"a'b"}}, // unlike sh, \ escapes inside '...'
		{`x\ty\n`, []string{"x\ty\n"}},
		{`\x41\102\cA\E`, []string{"AB\x01\x1b"}},
		{`''`, []string{""}},
		{"$HOME *", []string{"$HOME", "*"}}, // no shell expansion
	} {
		got, err := Split(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Split(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{`"open`, `it's`, `trailing\`, "", "   "} {
		if got, err := Split(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("Split(%q) = %q, %v; want ErrSyntax", bad, got, err)
		}
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{"killall -0 haproxy", `a "b c" 'd'`, `\x4`, `\`, `"`, `\c`, `\777`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := Split(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error not ErrSyntax: %v", err)
			}
			return
		}
		if len(words) == 0 {
			t.Fatal("no words and no error")
		}
	})
}

func TestShellLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"/usr/bin/killall", "-0", "haproxy"}, `'/usr/bin/killall' '-0' 'haproxy'`},
		{[]string{"</etc/keepalived/flag"}, `</etc/keepalived/flag`},
	} {
		if got := (Command{Args: tc.args}).ShellLine(); got != tc.want {
			t.Errorf("ShellLine(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}
