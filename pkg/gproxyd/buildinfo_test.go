package gproxyd

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const referenceHAProxy = "/usr/sbin/haproxy"

// TestCheckConditionLikeHAProxy: `-cc EXPR` exits as haproxy 2.6 does
// (0 true, 1 false, 2 unparsable) on the expressions of haproxy's own
// startup/check_condition test, quotes and variables included.
func TestCheckConditionLikeHAProxy(t *testing.T) {
	if _, err := os.Stat(referenceHAProxy); err != nil {
		t.Fatalf("needs the reference haproxy (apt-get install haproxy): %v", err)
	}
	t.Setenv("TESTVAR", "1")
	for _, expr := range []string{
		"version_atleast(2.4)", "version_atleast(1024)", "version_atleast(2.5-dev0)", "version_before(2.7)",
		"streq(foo,'foo')", `streq("foo bar",'foo bar')`, "streq(foo,bar)",
		`defined(TESTVAR) && streq("$TESTVAR","1")`, "defined(NO_SUCH_VAR_HERE)",
		"feature(OPENSSL) || !feature(OPENSSL)", "feature(QUIC)", "feature(LUA)",
		"1&&!0&&!((streq(a,b)||!streq(a,a)&&1)||strneq(a,a))",
		"1 && !0 && !((streq(a,a) || !streq(a,a) && 1) || strneq(a,a))",
		"", "-1000 && 200", "200rrr", "!(0))", `streq(a,"a)`,
	} {
		got := Main([]string{"gproxy", "-cc", expr}, io.Discard, io.Discard)
		want := 0
		if err := exec.Command(referenceHAProxy, "-cc", expr).Run(); err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatal(err)
			}
			want = ee.ExitCode()
		}
		if got != want {
			t.Errorf("-cc %q: exit %d, haproxy exits %d", expr, got, want)
		}
	}
}

// TestBuildInfoLikeHAProxy: the lines of -vv that haproxy's
// run-regtests.sh reads (version, TARGET, Feature list, services) select
// the same tests as the reference's.
func TestBuildInfoLikeHAProxy(t *testing.T) {
	ref, err := exec.Command(referenceHAProxy, "-vv").Output()
	if err != nil {
		t.Fatalf("needs the reference haproxy: %v", err)
	}
	var out bytes.Buffer
	if code := Main([]string{"gproxy", "-vv"}, &out, io.Discard); code != 0 {
		t.Fatalf("-vv exit %d", code)
	}
	line := func(s, prefix string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), prefix) {
				return strings.TrimSpace(l)
			}
		}
		return ""
	}
	for _, p := range []string{"Feature list :", "TARGET  =", "Available services :"} {
		if got, want := line(out.String(), p), line(string(ref), p); got != want || got == "" {
			t.Errorf("%q line: %q, haproxy has %q", p, got, want)
		}
	}
	if v := line(out.String(), "HAProxy version 2.6."); v == "" {
		t.Errorf("no 'HAProxy version 2.6.x' line in:\n%s", out.String())
	}
}

// TestDebugFlag: -d (VTest starts haproxy with it) is foreground debug
// mode, never quiet.
func TestDebugFlag(t *testing.T) {
	a, err := ParseArgs([]string{"-d", "-q", "-f", "x.cfg"})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Debug || !a.Foreground {
		t.Errorf("-d gives %+v", a)
	}
	p := &process{args: a}
	if p.quiet(nil) {
		t.Error("-d -q is quiet; haproxy's debug mode never is")
	}
}
