package keepalived_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIntegrationSystemdNotifyFromMainPID runs gkeepalived as Debian's unit
// does (--dont-fork, Type=notify) against a stand-in for systemd's notify
// socket that reads the sender's credentials: READY=1, RELOADING=1 then
// READY=1 on SIGHUP, and STOPPING=1 on SIGTERM must all come from the
// process systemd started (its MAINPID; NotifyAccess=main drops the
// others), not from the VRRP process it supervises. The daemon runs in a
// private network namespace on a veth pair.
func TestIntegrationSystemdNotifyFromMainPID(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: run as root (CI does)")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	f, err := conn.File()
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.SetsockoptInt(int(f.Fd()), syscall.SOL_SOCKET, syscall.SO_PASSCRED, 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte("vrrp_instance VI_1 {\n    interface v0\n    state BACKUP\n    priority 100\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.0.2.84\n    }\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// unshare and sh exec in place: the pid started is the daemon's.
	script := `ip link add v0 type veth peer name v1 && ip link set v1 up && ip link set v0 up && ip addr add 192.0.2.1/24 dev v0 && exec "$0" --dont-fork -l -G -f "$1" -p "$2/k.pid" -r "$2/v.pid"`
	cmd := exec.Command("unshare", "--net", "sh", "-c", script, gkBin, conf, dir)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	main := cmd.Process.Pid

	type msg struct {
		text string
		pid  int32
	}
	next := func(what string) msg {
		t.Helper()
		buf, oob := make([]byte, 256), make([]byte, 256)
		_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil {
			t.Fatalf("waiting for %s: %v\n%s", what, err, out.String())
		}
		var m msg
		m.text = string(buf[:n])
		if scms, err := syscall.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, s := range scms {
				if cred, err := syscall.ParseUnixCredentials(&s); err == nil {
					m.pid = cred.Pid
				}
			}
		}
		return m
	}
	expect := func(want string) {
		t.Helper()
		m := next(want)
		if m.text != want {
			t.Fatalf("got %q, want %q", m.text, want)
		}
		if m.pid != int32(main) {
			t.Fatalf("%s came from pid %d, not from the main pid %d: systemd would drop it", want, m.pid, main)
		}
	}
	expect("READY=1")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	expect("RELOADING=1")
	expect("READY=1")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	expect("STOPPING=1")
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("the daemon did not exit after SIGTERM\n%s", out.String())
	}
	if !strings.Contains(out.String(), "Starting VRRP child process, pid=") {
		t.Errorf("no VRRP process was started:\n%s", out.String())
	}
}
