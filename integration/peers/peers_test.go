package peers_test

import (
	"context"
	"net/netip"
	"net/smtp"
	"os/exec"
	"strings"
	"testing"
	"time"

	"hapair/integration/lab"
	"hapair/integration/peers"
)

func TestIntegrationPeers(t *testing.T) {
	l := lab.NewT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	add := func(name, addr string) *lab.Host {
		h, err := l.AddHost(name, netip.MustParsePrefix(addr))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	web := add("web1", "192.168.1.68/24")
	logs := add("syslog", "192.168.1.34/24")
	mx := add("smtp", "192.168.1.119/24")
	client := add("client", "192.168.1.10/24")

	ng, err := peers.Nginx(ctx, l, web, "web01")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := peers.Rsyslog(ctx, l, logs)
	if err != nil {
		t.Fatal(err)
	}
	mta, err := peers.Aiosmtpd(ctx, l, mx)
	if err != nil {
		t.Fatal(err)
	}

	for _, url := range []string{"http://192.168.1.68/", "https://192.168.1.68/"} {
		code, body, err := client.Get(ctx, url, 3*time.Second)
		if err != nil || code != 200 || string(body) != "web01\n" {
			t.Errorf("GET %s = %d %q, %v; want 200 \"web01\\n\"", url, code, body, err)
		}
	}
	if pid, err := ng.Pid(); err != nil || pid <= 1 {
		t.Errorf("nginx pid = %d, %v", pid, err)
	}

	if _, err := client.Run(ctx, "logger", "--udp", "-n", "192.168.1.34", "-P", "514", "-t", "labtest", "hello from the client"); err != nil {
		t.Fatal(err)
	}
	var msgs []peers.Message
	deadline := time.Now().Add(5 * time.Second)
	for len(msgs) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if msgs, err = rs.Messages(); err != nil {
			t.Fatal(err)
		}
	}
	if len(msgs) != 1 || msgs[0].From != client.Addr() || !strings.HasPrefix(msgs[0].Raw, "<13>") || !strings.Contains(msgs[0].Raw, "labtest") || !strings.HasSuffix(msgs[0].Raw, "hello from the client") {
		t.Errorf("syslog received %+v; want one raw user.notice message from %s", msgs, client.Addr())
	}

	conn, err := client.DialContext(ctx, "tcp", "192.168.1.119:25")
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.NewClient(conn, "192.168.1.119")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("keepalived@haproxy01.example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("sysadmin@example.com"); err != nil {
		t.Fatal(err)
	}
	w, _ := c.Data()
	w.Write([]byte("From: keepalived@haproxy01.example.com\r\nTo: sysadmin@example.com\r\nSubject: [lb1] VRRP Instance VI_1 - Entering MASTER state\r\n\r\n=> test <=\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	mails, err := mta.Mails()
	if err != nil {
		t.Fatal(err)
	}
	if len(mails) != 1 || mails[0].Subject != "[lb1] VRRP Instance VI_1 - Entering MASTER state" || mails[0].To != "sysadmin@example.com" {
		t.Errorf("mails = %+v", mails)
	}

	if err := ng.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.Get(ctx, "http://192.168.1.68/", time.Second); err == nil {
		t.Error("GET succeeded after nginx was stopped")
	}
}

// A drop-in started under the name the track script looks for: our gproxy
// runs as "haproxy" (a symlink), so `killall -0 haproxy` finds it.
func TestIntegrationDaemonProcessName(t *testing.T) {
	l := lab.NewT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h, err := l.AddHost("lb1", netip.MustParsePrefix("192.168.1.80/24"))
	if err != nil {
		t.Fatal(err)
	}
	fake := l.Dir() + "/fakeproxy"
	if out, err := exec.Command("cp", "/bin/sleep", fake).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	d := peers.Daemon{Name: "proxy", Path: fake, Process: "haproxy", Args: []string{"300"}}
	s, err := peers.StartDaemon(ctx, l, h, d, "unused.cfg", []byte("# unused\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Running(ctx) || !h.Running(ctx, "haproxy") {
		t.Fatal("killall -0 haproxy does not see the drop-in started as haproxy")
	}
	if h.Running(ctx, "fakeproxy") {
		t.Error("the drop-in runs under its own name, not haproxy")
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if h.Running(ctx, "haproxy") {
		t.Error("killall -0 haproxy still succeeds after Stop")
	}
}
