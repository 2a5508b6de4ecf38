package notify_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/notify"
	"hapair/pkg/track"
	"hapair/pkg/track/tracktest"
)

func TestEventArgs(t *testing.T) {
	cmd := track.Command{Args: []string{"/etc/keepalived/notify.sh", "--verbose"}}
	for _, tc := range []struct {
		ev   notify.Event
		want string
	}{
		{notify.Event{Name: "VI_1", State: notify.Master, Priority: 103}, "/etc/keepalived/notify.sh --verbose INSTANCE VI_1 MASTER 103"},
		{notify.Event{Name: "VI_1", State: notify.Backup, Priority: 100}, "/etc/keepalived/notify.sh --verbose INSTANCE VI_1 BACKUP 100"},
		{notify.Event{Name: "VI_1", State: notify.Fault}, "/etc/keepalived/notify.sh --verbose INSTANCE VI_1 FAULT 0"},
		{notify.Event{Name: "VI_1", State: notify.Stop, Priority: 101}, "/etc/keepalived/notify.sh --verbose INSTANCE VI_1 STOP 101"},
		{notify.Event{Name: "VI_1", State: notify.Deleted, Priority: 101}, "/etc/keepalived/notify.sh --verbose INSTANCE VI_1 DELETED 101"},
		{notify.Event{Group: true, Name: "G1", State: notify.Master, Priority: 101}, "/etc/keepalived/notify.sh --verbose GROUP G1 MASTER 0"},
	} {
		if got := strings.Join(tc.ev.Args(cmd), " "); got != tc.want {
			t.Errorf("Args = %q, want %q", got, tc.want)
		}
	}
	if len(cmd.Args) != 2 {
		t.Error("Args modified the script's own words")
	}
}

func TestNotifyArgs(t *testing.T) {
	st := tracktest.NewStarter()
	st.Auto = func(track.Command) track.Exit { return track.Exit{Exited: true} }
	n := &notify.Notifier{Starter: st, Log: zerolog.New(io.Discard)}
	s := notify.Scripts{
		Master: &track.Command{Args: []string{"/usr/local/bin/to-master", "a b"}},
		Backup: &track.Command{Args: []string{"/usr/local/bin/to-backup"}},
		Notify: &track.Command{Args: []string{"/usr/local/bin/notify"}},
	}
	n.Notify(s, notify.Event{Name: "VI_1", State: notify.Master, Priority: 103})
	n.Notify(s, notify.Event{Name: "VI_1", State: notify.Fault, Priority: 0}) // no notify_fault: generic only
	var got []string
	for i := 0; i < 3; i++ {
		select {
		case p := <-st.Started:
			got = append(got, strings.Join(p.Cmd.Args, "|"))
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d scripts started: %q", i, got)
		}
	}
	want := []string{
		"/usr/local/bin/to-master|a b",
		"/usr/local/bin/notify|INSTANCE|VI_1|MASTER|103",
		"/usr/local/bin/notify|INSTANCE|VI_1|FAULT|0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("started\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := n.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestStopScriptKilled: keepalived gives STOP scripts one second, then
// kills their process group; other states are not limited by default.
func TestStopScriptKilled(t *testing.T) {
	st := tracktest.NewStarter()
	clk := tracktest.NewClock(time.Unix(0, 0))
	n := &notify.Notifier{Starter: st, Clock: clk, Log: zerolog.New(io.Discard)}
	n.Notify(notify.Scripts{Stop: &track.Command{Args: []string{"/hang"}}}, notify.Event{Name: "VI_1", State: notify.Stop})
	p := <-st.Started
	if clk.Waiters() != 1 {
		t.Fatal("no kill timer for the STOP script")
	}
	start := clk.Now()
	clk.Step()
	if clk.Now().Sub(start) != time.Second {
		t.Errorf("killed after %v, want 1s", clk.Now().Sub(start))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if s := p.Signals(); len(s) != 1 || s[0] != syscall.SIGKILL {
		t.Errorf("signals %v, want [SIGKILL]", s)
	}

	// A MASTER script without Timeout runs as long as it likes.
	n.Notify(notify.Scripts{Master: &track.Command{Args: []string{"/hang"}}}, notify.Event{Name: "VI_1", State: notify.Master})
	p = <-st.Started
	if clk.Waiters() != 0 {
		t.Error("a kill timer was armed for a MASTER script with no Timeout")
	}
	p.Exit(0)
	if err := n.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestProcessNotify runs a real notify script and reads back the arguments
// it was given, as a user's script would see them.
func TestProcessNotify(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "args")
	script := filepath.Join(dir, "notify.sh")
	body := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > " + out + ".tmp && mv " + out + ".tmp " + out + "\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd, err := track.Prepare(script+` "first arg"`, track.Options{}, zerolog.New(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	n := &notify.Notifier{Log: zerolog.New(io.Discard), Timeout: 10 * time.Second}
	start := time.Now()
	n.Notify(notify.Scripts{Notify: &cmd}, notify.Event{Name: "VI_1", State: notify.Backup, Priority: 100})
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("Notify blocked for %v", took)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := n.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "first arg\nINSTANCE\nVI_1\nBACKUP\n100\n"; got != want {
		t.Errorf("script saw %q, want %q", got, want)
	}
}
