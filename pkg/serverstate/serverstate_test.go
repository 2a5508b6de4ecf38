package serverstate

import (
	"os"
	"path/filepath"
	"testing"

	"hapair/pkg/haproxycfg"
)

func TestReadAndPath(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state")
	text := "1\n# be_id be_name ...\n2 b 1 s1 127.0.0.9 0 1 5 10 10 1 0 2 0 0 0 0 name.test 81 - 0 0 - - 0\n"
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	want := Line{Backend: "b", Server: "s1", Addr: "127.0.0.9", OpState: 0, AdminState: AdminFMaint, UWeight: 5, IWeight: 10, Port: 81}
	if got := m["b s1"]; got != want {
		t.Errorf("Read = %+v, want %+v", got, want)
	}
	for _, bad := range []string{"", "2\n", "1\n2 b 1 s1 short\n"} {
		if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(p); err == nil {
			t.Errorf("Read(%q): no error", bad)
		}
	}
	g := &haproxycfg.Global{ServerStateBase: "/var/lib/haproxy/"}
	if got := Path(g, "state"); got != "/var/lib/haproxy/state" {
		t.Errorf("Path under base = %q", got)
	}
	if got := Path(g, "/etc/state"); got != "/etc/state" {
		t.Errorf("absolute Path = %q", got)
	}
}
