package keepalived

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/track/tracktest"
	"hapair/pkg/vip/viptest"
	"hapair/pkg/vrrp/vrrptest"
)

// lvsConf is a keepalived.conf with an LVS virtual_server on line 4.
const lvsConf = `global_defs {
  router_id lb1
}
virtual_server 192.0.2.10 80 {
  delay_loop 6
  lb_algo rr
  real_server 192.0.2.11 80 {
    TCP_CHECK {
      connect_timeout 3
    }
  }
}
`

func writeConf(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMainConfigTestRefusesLVS: `gkeepalived -t` on a config with a
// virtual_server fails (exit 5, keepalived's code for a config error) and
// names the file, the line and what to do; before, it warned and exited 0.
func TestMainConfigTestRefusesLVS(t *testing.T) {
	path := writeConf(t, lvsConf)
	var stdout, stderr bytes.Buffer
	code := Main([]string{"gkeepalived", "-t", "-f", path}, &stdout, &stderr)
	if code != 5 {
		t.Errorf("exit %d, want 5\n%s", code, stderr.String())
	}
	want := "(Line 4) 'virtual_server' needs LVS (IPVS), which gkeepalived does not have: keep Debian's keepalived on LVS hosts"
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
	}
}

// TestMainRefusedOption: an option gkeepalived does not implement stops
// it with a message naming the option.
func TestMainRefusedOption(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"gkeepalived", "-n", "-C"}, &stdout, &stderr); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "option -C, --check: gkeepalived has no health-checker") {
		t.Errorf("stderr: %s", stderr.String())
	}
}

// TestMainSignum: --signum prints keepalived's numbers.
func TestMainSignum(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"gkeepalived", "--signum=RELOAD"}, &stdout, &stderr); code != 0 || stdout.String() != "1\n" {
		t.Errorf("--signum=RELOAD: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := Main([]string{"gkeepalived", "--signum=FOO"}, &stdout, &stderr); code != 1 || stderr.String() != "Unknown sigfunc FOO\n" {
		t.Errorf("--signum=FOO: exit %d, stderr %q", code, stderr.String())
	}
}

// TestUmaskApplied: -u sets the process umask, as keepalived.
func TestUmaskApplied(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	applyUmask(Args{Umask: 0o077})
	if got := syscall.Umask(0o022); got != 0o077 {
		t.Errorf("umask %o, want 077", got)
	}
	applyUmask(Args{Umask: -1})
	if got := syscall.Umask(0o022); got != 0o022 {
		t.Errorf("umask changed without -u: %o", got)
	}
}

// TestConfigOptionsUseConfigID: -i selects the "@ID" lines.
func TestConfigOptionsUseConfigID(t *testing.T) {
	if got := configOptions(Args{ConfigID: "lb2"}, true).ConfigID; got != "lb2" {
		t.Errorf("config id %q, want lb2", got)
	}
	host, _ := os.Hostname()
	if got := configOptions(Args{}, true).ConfigID; got != host {
		t.Errorf("default config id %q, want the host name %q", got, host)
	}
	if configOptions(Args{}, false).Interfaces == nil {
		t.Error("interfaces are not checked at start")
	}
}

// TestDumpConf: -d logs the configuration as keepalived's dump_data_vrrp.
func TestDumpConf(t *testing.T) {
	var buf syncBuilder
	log := zerolog.New(&buf)
	d := NewDaemon(testEnv(vrrptest.NewLink(), 2, "192.168.1.80/24", viptest.New("eth0"), log, tracktest.NewStarter(), tracktest.NewStarter()))
	if err := d.Start(context.Background(), seedConfig(t, true)); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.Stop(ctx)
	}()
	dumpConf(d, log)
	for _, want := range []string{"------< Global definitions >------", " VRRP Instance = VI_1"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, buf.String())
		}
	}
}
