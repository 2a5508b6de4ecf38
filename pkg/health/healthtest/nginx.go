// Package healthtest runs real nginx web servers on loopback for tests of
// health checks, stats and the engine behind them.
package healthtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"hapair/pkg/porttest"
)

// Nginx is one nginx process serving on 127.0.0.1:Port. GET / answers
// Name followed by a newline; GET /health answers 200 while the file
// Dir/health exists and 404 otherwise.
type Nginx struct {
	Name string
	Port int
	Dir  string
	t    testing.TB
	cmd  *exec.Cmd
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	return porttest.Free(t)
}

// StartNginx starts nginx with its own config, pid and temp directories;
// the test's cleanup stops it.
func StartNginx(t testing.TB, name string) *Nginx {
	t.Helper()
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Fatalf("nginx not installed (apt-get install nginx-light): %v", err)
	}
	n := &Nginx{Name: name, Port: FreePort(t), Dir: t.TempDir(), t: t}
	conf := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 256; }
http {
  access_log %[1]s/access.log;
  client_body_temp_path %[1]s/t1; proxy_temp_path %[1]s/t2; fastcgi_temp_path %[1]s/t3;
  uwsgi_temp_path %[1]s/t4; scgi_temp_path %[1]s/t5;
  server {
    listen 127.0.0.1:%[2]d;
    location = /health { root %[1]s/www; try_files /health =404; }
    location / { default_type text/plain; return 200 "%[3]s\n"; }
  }
}
`, n.Dir, n.Port, name)
	if err := os.MkdirAll(filepath.Join(n.Dir, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(n.Dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.SetHealthy(true)
	n.Start()
	t.Cleanup(n.Stop)
	return n
}

// Addr is 127.0.0.1:Port.
func (n *Nginx) Addr() string { return "127.0.0.1:" + strconv.Itoa(n.Port) }

// SetHealthy makes /health answer 200 (true) or 404 (false).
func (n *Nginx) SetHealthy(ok bool) {
	p := filepath.Join(n.Dir, "www", "health")
	if ok {
		if err := os.WriteFile(p, []byte("ok\n"), 0o644); err != nil {
			n.t.Fatal(err)
		}
		return
	}
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		n.t.Fatal(err)
	}
}

// Start (re)starts the process and waits until it accepts connections.
func (n *Nginx) Start() {
	n.t.Helper()
	if n.cmd != nil {
		return
	}
	cmd := exec.Command("nginx", "-c", filepath.Join(n.Dir, "nginx.conf"), "-p", n.Dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("nginx %s: %v", n.Name, err)
	}
	n.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", n.Addr(), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("nginx %s does not accept on %s: %v", n.Name, n.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the process and waits for it to exit.
func (n *Nginx) Stop() {
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Kill()
	_ = n.cmd.Wait()
	n.cmd = nil
}

// AccessLines counts the requests nginx logged.
func (n *Nginx) AccessLines() int {
	b, _ := os.ReadFile(filepath.Join(n.Dir, "access.log"))
	c := 0
	for _, x := range b {
		if x == '\n' {
			c++
		}
	}
	return c
}
