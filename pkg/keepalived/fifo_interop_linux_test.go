package keepalived_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIntegrationInteropNotifyFIFO: keepalived 2.2.7 (lb1) and
// gkeepalived (lb2), each alone on its VRID, with notify_fifo and
// notify_fifo_script (a script that records its arguments, then copies
// the FIFO to a file): both pass the FIFO's path as the script's last
// argument, create the FIFO with mode 0600 (0644 under keepalived's umask 0177), write the same
// lines (`INSTANCE "VI_1" BACKUP 100`, then MASTER, then with
// vrrp_notify_priority_changes `MASTER_PRIORITY 103` when a tracked file
// changes the priority; on SIGTERM the script
// is stopped before any STOP line reaches it) and, with no
// vrrp_notify_fifo, leave the FIFO behind at exit.
func TestIntegrationInteropNotifyFIFO(t *testing.T) {
	p := newPair(t, kd, gk, false)
	p.failLogs()
	conf := func(n *lb, vrid string) []byte {
		dir := filepath.Dir(n.fake)
		script := filepath.Join(dir, "fifo.sh")
		if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"args: $*\" > "+dir+"/fifo.out\nfor a; do f=$a; done\nexec cat \"$f\" >> "+dir+"/fifo.out\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return seedConf(t, false, authNone,
			[2]string{"    smtp_connect_timeout 30\n", "    smtp_connect_timeout 30\n    vrrp_notify_priority_changes\n    notify_fifo /run/gk.fifo\n    notify_fifo_script \"" + script + " one\"\n    enable_script_security\n    script_user root\n"},
			[2]string{"virtual_router_id 51", "virtual_router_id " + vrid},
			[2]string{"state MASTER", "state BACKUP"},
			[2]string{"priority 101", "priority 100"},
			[2]string{"    track_script {\n        chk_haproxy\n    }\n", "    track_file {\n        tf\n    }\n"},
			[2]string{"vrrp_script chk_haproxy {", "track_file tf {\n    file /run/gk-tf\n    init_file 0\n}\nvrrp_script chk_haproxy {"},
			[2]string{"    smtp_alert # Activate SMTP notifications\n", ""},
		)
	}
	p.lb1.startDaemon(conf(p.lb1, "61"))
	p.lb2.startDaemon(conf(p.lb2, "62"))
	out := func(n *lb) string {
		b, _ := os.ReadFile(filepath.Join(filepath.Dir(n.fake), "fifo.out"))
		return string(b)
	}
	mode := map[*lb]string{}
	for _, n := range []*lb{p.lb1, p.lb2} {
		poll(t, 15*time.Second, n.String()+" wrote MASTER to the FIFO", func() bool { return strings.Contains(out(n), "MASTER") })
		ls, err := n.h.Run(t.Context(), "ls", "-l", "/run/gk.fifo")
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		mode[n] = strings.Fields(string(ls))[0]
		// A priority change as MASTER: vrrp_notify_priority_changes.
		if _, err := n.h.Run(t.Context(), "sh", "-c", "echo 3 > /run/gk-tf"); err != nil {
			t.Fatal(err)
		}
		poll(t, 10*time.Second, n.String()+" wrote MASTER_PRIORITY to the FIFO", func() bool { return strings.Contains(out(n), "MASTER_PRIORITY") })
	}
	for _, n := range []*lb{p.lb1, p.lb2} {
		if err := n.daemon.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []*lb{p.lb1, p.lb2} {
		poll(t, 15*time.Second, n.String()+" exits", n.daemon.Exited)
	}
	want := "args: one /run/gk.fifo\nINSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_1\" MASTER 100\nINSTANCE \"VI_1\" MASTER_PRIORITY 103\n"
	k, g := out(p.lb1), out(p.lb2)
	if !strings.HasPrefix(k, want) {
		t.Fatalf("keepalived's FIFO lines (the reference) are not as expected:\n%s", k)
	}
	if k != g {
		t.Errorf("FIFO lines differ\nkeepalived:\n%s\ngkeepalived:\n%s", k, g)
	}
	if mode[p.lb1] != "prw-------" || mode[p.lb2] != mode[p.lb1] {
		t.Errorf("FIFO modes: keepalived %s, gkeepalived %s", mode[p.lb1], mode[p.lb2])
	}
	for _, n := range []*lb{p.lb1, p.lb2} {
		if _, err := n.h.Run(t.Context(), "test", "-p", "/run/gk.fifo"); err != nil {
			t.Errorf("%s removed /run/gk.fifo (keepalived leaves a lone notify_fifo)", n)
		}
	}
}
