package stats_test

import (
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"hapair/pkg/health/healthtest"
)

// chromium runs headless Chromium with a fresh profile and returns its
// standard output.
func chromium(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not installed (apt-get install -y chromium)")
	}
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--user-data-dir=" + filepath.Join(t.TempDir(), "profile")}
	cmd := exec.Command(bin, append(base, args...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", args, err)
	}
	return string(out)
}

// TestStatsPageScreenshot renders the page in a real browser: the DOM it
// builds holds every proxy and server, and the screenshot shows haproxy's
// colours for an UP, a DOWN and a backup server and for the table headers.
func TestStatsPageScreenshot(t *testing.T) {
	ng := []*healthtest.Nginx{healthtest.StartNginx(t, "a"), healthtest.StartNginx(t, "b"), healthtest.StartNginx(t, "c")}
	cfg, st, _ := pageConfig(t, "", ng...)
	e := start(t, cfg)
	ng[1].Stop()
	healthtest.Eventually(t, "web02 down", func() bool { return !e.eng.Backend("web").Server("web02").Up() })
	url := fmt.Sprintf("http://admin:supersecret@127.0.0.1:%d/stats", st)

	dom := chromium(t, "--dump-dom", url)
	for _, want := range []string{"Statistics Report for pid", `href="#web/web01">web01</a>`, `href="#web/web02">web02</a>`, `href="#web/bk">bk</a>`, "OPEN", "DOWN", "L4CON in"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}

	shot := filepath.Join(t.TempDir(), "stats.png")
	chromium(t, "--window-size=1400,900", "--screenshot="+shot, url)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	counts := colourCounts(img)
	for name, rgb := range map[string][3]uint8{
		"active_up #c0ffc0": {0xc0, 0xff, 0xc0}, "active_down #ff9090": {0xff, 0x90, 0x90},
		"backup_up #b0d0ff": {0xb0, 0xd0, 0xff}, "titre #20d0d0": {0x20, 0xd0, 0xd0}, "pxname #b00040": {0xb0, 0x00, 0x40},
	} {
		// A table row of 30 cells at 1400 px is well over 2000 pixels.
		if n := counts[rgb]; n < 2000 {
			t.Errorf("screenshot has %d pixels of %s, want a coloured row", n, name)
		}
	}
	if t.Failed() {
		keep := filepath.Join(os.TempDir(), "gproxy-stats-failed.png")
		if b, err := os.ReadFile(shot); err == nil && os.WriteFile(keep, b, 0o644) == nil {
			t.Logf("screenshot kept at %s", keep)
		}
	}
}

func colourCounts(img image.Image) map[[3]uint8]int {
	m := map[[3]uint8]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			m[[3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8)}]++
		}
	}
	return m
}
