package keepalived

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/vrrp/vrrptest"
)

// TestDaemonTrackFile: an instance tracking a file (weight 3) starts from
// the file's number (2: priority 100+6) and follows it when the file is
// written (-4: 88) or goes (0: 100); the data dump lists the file.
func TestDaemonTrackFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tf")
	if err := os.WriteFile(path, []byte("2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := "track_file tf {\n  file " + path + "\n  weight 3\n}\n" +
		"vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority 100\n" +
		"  virtual_ipaddress {\n    192.168.1.84\n  }\n  track_file {\n    tf\n  }\n}\n"
	opts := keepalivedcfg.DefaultOptions()
	opts.FS = nil
	cfg, _, err := keepalivedcfg.Parse("keepalived.conf", []byte(src), opts)
	if err != nil {
		t.Fatal(err)
	}
	n := startTestNode(t, vrrptest.NewLink(), "lb1", 2, "192.168.1.80/24", cfg)
	prio := func(want int) {
		t.Helper()
		waitFor(t, 5*time.Second, "effective priority", func() bool {
			st, ok := n.d.Status("VI_1")
			return ok && st.EffectivePriority == want
		})
	}
	prio(106)
	os.WriteFile(path, []byte("-4"), 0o644)
	prio(88)
	os.Remove(path)
	prio(100)
	if d := n.d.DataDump(); !strings.Contains(d, " Track file = tf\n   File = "+path+"\n") {
		t.Errorf("data dump lacks the track file:\n%s", d)
	}
}
