package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/notify"
	"hapair/pkg/notify/notifytest"
	"hapair/pkg/porttest"
)

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitLog polls (up to limit) until the log contains s.
func (l *logBuf) waitLog(s string, limit time.Duration) bool {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(l.String(), s) {
			return true
		}
	}
	return false
}

func newLogger() (*logBuf, zerolog.Logger) {
	lb := &logBuf{}
	w := zerolog.ConsoleWriter{Out: lb, NoColor: true, PartsOrder: []string{zerolog.MessageFieldName}}
	return lb, zerolog.New(w).Level(zerolog.InfoLevel)
}

// startMailer runs a Mailer until the test ends.
func startMailer(t *testing.T, m *notify.Mailer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestDialogueMatchesKeepalived replays the SMTP sessions keepalived 2.2.7
// had with a recording server (testdata/keepalived-2.2.7-*.smtp, made from
// testdata/keepalived-2.2.7-smtp.conf) and compares every byte we send.
func TestDialogueMatchesKeepalived(t *testing.T) {
	for _, tc := range []struct {
		file  string
		state notify.State
	}{
		{"testdata/keepalived-2.2.7-backup.smtp", notify.Backup},
		{"testdata/keepalived-2.2.7-master.smtp", notify.Master},
	} {
		t.Run(tc.state.String(), func(t *testing.T) {
			want, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			date := regexp.MustCompile(`Date: (.*)\r\n`).FindSubmatch(want)
			when, err := time.Parse("Mon, 02 Jan 2006 15:04:05 -0700", string(date[1]))
			if err != nil {
				t.Fatal(err)
			}
			srv := &notifytest.SMTPServer{}
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			_, log := newLogger()
			m := &notify.Mailer{
				Server: srv.Addr, From: "keepalived@haproxy01.example.com",
				To:       []string{"sysadmin@example.com", "second@example.com"},
				RouterID: "LB_TEST", Hostname: "vm", Log: log,
				Now: func() time.Time { return when },
			}
			startMailer(t, m)
			m.Alert(context.Background(), "VI_1", tc.state)
			var got []byte
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				if s := srv.Sessions(); len(s) > 0 {
					got = s[0]
					break
				}
			}
			if !bytes.Equal(got, want) {
				t.Errorf("dialogue differs from keepalived's\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	when := time.Date(2026, 3, 1, 9, 4, 8, 0, time.FixedZone("CET", 3600))
	got := string(notify.Message(when, "a@b", "[lb1] VRRP Instance VI_1 - Entering FAULT state",
		[]string{"x@y"}, "=> VRRP Instance is no longer owning VRRP VIPs <="))
	want := "Date: Sun, 01 Mar 2026 09:04:08 +0100\r\nFrom: a@b\r\n" +
		"Subject: [lb1] VRRP Instance VI_1 - Entering FAULT state\r\nX-Mailer: Keepalived\r\nTo: x@y\r\n\r\n" +
		"=> VRRP Instance is no longer owning VRRP VIPs <=\r\n\r\n.\r\n"
	if got != want {
		t.Errorf("Message\n got %q\nwant %q", got, want)
	}
}

func TestSubjects(t *testing.T) {
	srv := &notifytest.SMTPServer{}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	_, log := newLogger()
	m := &notify.Mailer{Server: srv.Addr, From: "f@h", To: []string{"t@h"}, RouterID: "lb1", Hostname: "h", Log: log}
	startMailer(t, m)
	ctx := context.Background()
	m.Alert(ctx, "VI_1", notify.Backup)
	m.Alert(ctx, "VI_1", notify.Fault)
	m.Alert(ctx, "VI_1", notify.Stop)
	m.Alert(ctx, "VI_1", notify.Deleted)
	m.AlertGroup(ctx, "G1", notify.Master)
	want := [][2]string{
		{"[lb1] VRRP Instance VI_1 - Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <="},
		{"[lb1] VRRP Instance VI_1 - Entering FAULT state", "=> VRRP Instance is no longer owning VRRP VIPs <="},
		{"[lb1] VRRP Instance VI_1 - Stopping", "=> VRRP Instance stopping <="},
		{"[lb1] VRRP Instance VI_1 - Deleted", "=> VRRP Deleted at reload <="},
		{"[lb1] VRRP Group G1 - Entering MASTER state", "=> All VRRP group instances are now in MASTER state <="},
	}
	var sessions [][]byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if sessions = srv.Sessions(); len(sessions) == len(want) {
			break
		}
	}
	if len(sessions) != len(want) {
		t.Fatalf("%d sessions, want %d", len(sessions), len(want))
	}
	for i, w := range want {
		s := string(sessions[i])
		if !strings.Contains(s, "\r\nSubject: "+w[0]+"\r\n") || !strings.Contains(s, "\r\n\r\n"+w[1]+"\r\n\r\n.\r\n") {
			t.Errorf("mail %d lacks subject %q / body %q:\n%s", i, w[0], w[1], s)
		}
	}
}

// TestAiosmtpd sends an alert to Debian's aiosmtpd, a real SMTP server,
// and checks what it stored.
func TestAiosmtpd(t *testing.T) {
	const py = "/usr/bin/python3" // Debian's, with python3-aiosmtpd
	if _, err := os.Stat(py); err != nil {
		t.Fatalf("%s: %v (install python3-aiosmtpd)", py, err)
	}
	dir := t.TempDir()
	addr := porttest.FreeAddr(t)
	td, _ := filepath.Abs("testdata")
	cmd := exec.Command(py, "-m", "aiosmtpd", "-n", "-l", addr, "-c", "smtpsink.Sink", dir)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+td)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	up := false
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && !up; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			up = true
		}
	}
	if !up {
		t.Fatalf("aiosmtpd did not listen on %s: %s", addr, stderr.String())
	}

	lb, log := newLogger()
	m := &notify.Mailer{Server: addr, From: "keepalived@haproxy01.example.com",
		To: []string{"sysadmin@example.com", "ops@example.com"}, Hostname: "lb1.example.com", Log: log}
	startMailer(t, m)
	m.Alert(context.Background(), "VI_1", notify.Master)

	var eml []byte
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(dir, "msg001.eml")); err == nil {
			eml = b
			break
		}
	}
	if eml == nil {
		t.Fatalf("aiosmtpd stored no message; our log:\n%s\naiosmtpd:\n%s", lb.String(), stderr.String())
	}
	var meta struct {
		Helo string
		Ehlo bool
		From string
		To   []string
	}
	b, _ := os.ReadFile(filepath.Join(dir, "msg001.json"))
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Helo != "lb1.example.com" || meta.Ehlo || meta.From != "keepalived@haproxy01.example.com" ||
		strings.Join(meta.To, ",") != "sysadmin@example.com,ops@example.com" {
		t.Errorf("envelope %+v", meta)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(eml))
	if err != nil {
		t.Fatalf("stored message does not parse: %v\n%s", err, eml)
	}
	h := msg.Header
	if _, err := h.Date(); err != nil {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	for k, v := range map[string]string{
		"From":     "keepalived@haproxy01.example.com",
		"Subject":  "[lb1.example.com] VRRP Instance VI_1 - Entering MASTER state", // router_id defaults to the host name
		"X-Mailer": "Keepalived",
		"To":       "sysadmin@example.com, ops@example.com",
	} {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	body := new(bytes.Buffer)
	body.ReadFrom(msg.Body)
	if body.String() != "=> VRRP Instance is now owning VRRP VIPs <=\r\n\r\n" {
		t.Errorf("body %q", body.String())
	}
}

// TestSilentServer: a server that accepts and never answers costs the
// caller nothing; the mail is given up after the timeout, and logged.
func TestSilentServer(t *testing.T) {
	srv := &notifytest.SMTPServer{Silent: true}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	lb, log := newLogger()
	m := &notify.Mailer{Server: srv.Addr, To: []string{"t@h"}, From: "f@h", Hostname: "h",
		ConnectTimeout: 300 * time.Millisecond, Log: log}
	startMailer(t, m)
	start := time.Now()
	for i := 0; i < 3; i++ {
		m.Alert(context.Background(), "VI_1", notify.Master)
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Errorf("Alert blocked the caller for %v", took)
	}
	want := "Timeout reading data to remote SMTP server [127.0.0.1]:" + strings.Split(srv.Addr, ":")[1] + "."
	if !lb.waitLog(want, 15*time.Second) {
		t.Fatalf("log lacks %q:\n%s", want, lb.String())
	}
	// After the timeout keepalived says QUIT; so do we, then the next mail.
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if len(srv.Sessions()) >= 1 {
			break
		}
	}
	s := srv.Sessions()
	if len(s) == 0 || string(s[0]) != "QUIT\r\n" {
		t.Errorf("client sent %q to a silent server, want QUIT only", s)
	}
}

func TestNoServer(t *testing.T) {
	addr := porttest.FreeAddr(t) // nothing listens there now
	lb, log := newLogger()
	m := &notify.Mailer{Server: addr, To: []string{"t@h"}, From: "f@h", Hostname: "h", Log: log}
	startMailer(t, m)
	m.Alert(context.Background(), "VI_1", notify.Master)
	want := "SMTP connection ERROR to [127.0.0.1]:" + strings.Split(addr, ":")[1] + "."
	if !lb.waitLog(want, 15*time.Second) {
		t.Fatalf("log lacks %q:\n%s", want, lb.String())
	}
}

func TestRejectedRecipient(t *testing.T) {
	srv := &notifytest.SMTPServer{Reply: map[string]string{"RCPT": "550 5.1.1 no such user"}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	lb, log := newLogger()
	m := &notify.Mailer{Server: srv.Addr, To: []string{"t@h"}, From: "f@h", Hostname: "h", Log: log}
	startMailer(t, m)
	m.Alert(context.Background(), "VI_1", notify.Master)
	want := "Error processing RCPT cmd on SMTP server [127.0.0.1]:" + strings.Split(srv.Addr, ":")[1] + ". SMTP status code = 550"
	if !lb.waitLog(want, 15*time.Second) {
		t.Fatalf("log lacks %q:\n%s", want, lb.String())
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(srv.Sessions()) == 0; time.Sleep(5 * time.Millisecond) {
	}
	s := srv.Sessions()
	if len(s) != 1 || !strings.HasSuffix(string(s[0]), "RCPT TO:<t@h>\r\nQUIT\r\n") || strings.Contains(string(s[0]), "DATA") {
		t.Errorf("session %q: want QUIT right after the refused RCPT", s)
	}
}

func TestQueueBound(t *testing.T) {
	lb, log := newLogger()
	m := &notify.Mailer{Server: "127.0.0.1:1", To: []string{"t@h"}, Queue: 2, Log: log, RouterID: "r"}
	// Run is not started: nothing drains the queue.
	if err := m.Enqueue("a", "b"); err != nil {
		t.Fatal(err)
	}
	if err := m.Enqueue("a", "b"); err != nil {
		t.Fatal(err)
	}
	if err := m.Enqueue("a", "b"); !errors.Is(err, notify.ErrQueueFull) {
		t.Fatalf("third mail: %v, want ErrQueueFull", err)
	}
	m.Alert(context.Background(), "VI_1", notify.Master) // dropped, logged, not blocking
	if !strings.Contains(lb.String(), "SMTP alert dropped") {
		t.Errorf("drop not logged: %q", lb.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	m.Close(ctx)
	if err := m.Enqueue("a", "b"); !errors.Is(err, notify.ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}

func TestDefaults(t *testing.T) {
	srv := &notifytest.SMTPServer{}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	_, log := newLogger()
	m := &notify.Mailer{Server: srv.Addr, To: []string{"t@h"}, Log: log}
	startMailer(t, m)
	m.Alert(context.Background(), "VI_1", notify.Master)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(srv.Sessions()) == 0; time.Sleep(5 * time.Millisecond) {
	}
	s := srv.Sessions()
	if len(s) != 1 {
		t.Fatal("no session")
	}
	host := notify.LocalName()
	for _, want := range []string{
		"HELO " + host + "\r\n",
		"MAIL FROM:<root@" + host + ">\r\n",
		"Subject: [" + host + "] VRRP Instance VI_1 - Entering MASTER state\r\n",
	} {
		if !strings.Contains(string(s[0]), want) {
			t.Errorf("session lacks %q:\n%s", want, s[0])
		}
	}
}

// fullListener returns a loopback address whose listen queue (backlog 0,
// never accepted) is already full, so a new connection attempt hangs.
func fullListener(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	// Fill the queue: connections complete until it is full.
	for i := 0; i < 8; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("listen queue never filled")
	return ""
}

func TestConnectTimeout(t *testing.T) {
	addr := fullListener(t)
	lb, log := newLogger()
	m := &notify.Mailer{Server: addr, To: []string{"t@h"}, From: "f@h", Hostname: "h",
		ConnectTimeout: 300 * time.Millisecond, Log: log}
	startMailer(t, m)
	m.Alert(context.Background(), "VI_1", notify.Master)
	want := "Timeout opening connection to remote SMTP server [127.0.0.1]:" + strings.Split(addr, ":")[1] + "."
	if !lb.waitLog(want, 15*time.Second) {
		t.Fatalf("log lacks %q:\n%s", want, lb.String())
	}
}

func TestParseState(t *testing.T) {
	for _, s := range []string{"MASTER", "BACKUP", "FAULT", "STOP", "DELETED"} {
		st, ok := notify.ParseState(s)
		if !ok || st.String() != s {
			t.Errorf("ParseState(%q) = %v, %v", s, st, ok)
		}
	}
	if _, ok := notify.ParseState("master"); ok {
		t.Error("lower case accepted")
	}
}
