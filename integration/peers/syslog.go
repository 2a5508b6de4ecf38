package peers

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"hapair/integration/lab"
)

// Syslog is rsyslog receiving on UDP 514 and writing every message, raw as
// it arrived (`%rawmsg%`: "<PRI>timestamp ..."), one per line after the
// sender's address, to a file.
type Syslog struct {
	*Service
	File string // received messages, outside the host
}

const rsyslogConf = `# rsyslog as the lab's syslog server; written by integration/peers.
global(workDirectory="{{dir}}/work" net.enableDNS="off")
module(load="imudp")
input(type="imudp" address="{{addr}}" port="514")
template(name="raw" type="string" string="%fromhost-ip% %rawmsg%\n")
action(type="omfile" file="{{dir}}/received.log" template="raw")
`

// Rsyslog starts rsyslogd on h listening on h's address, UDP port 514.
// It returns once the port is bound.
func Rsyslog(ctx context.Context, l *lab.Lab, h *lab.Host) (*Syslog, error) {
	dir, err := serviceDir(l, h, "rsyslog")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "work"), 0o755); err != nil {
		return nil, err
	}
	conf := strings.NewReplacer("{{dir}}", dir, "{{addr}}", h.Addr().String()).Replace(rsyslogConf)
	cfg := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	s := &Syslog{
		Service: &Service{Host: h, Name: "rsyslog", Process: "rsyslogd", Pidfile: "/run/rsyslogd.pid", Dir: dir},
		File:    filepath.Join(dir, "received.log"),
	}
	if s.Proc, err = h.Start("rsyslog", "rsyslogd", "-n", "-f", cfg, "-i", s.Pidfile); err != nil {
		return nil, err
	}
	if err := waitListening(ctx, s.Service, "udp", 514, 10*time.Second); err != nil {
		return s, err
	}
	return s, nil
}

// Message is one received syslog message.
type Message struct {
	From netip.Addr // the sender's address
	Raw  string     // the message as it arrived, e.g. "<134>Nov 24 23:40:01 haproxy[7]: ..."
}

// Messages returns the messages received so far, oldest first.
func (s *Syslog) Messages() ([]Message, error) {
	lines, err := s.lines()
	if err != nil {
		return nil, err
	}
	msgs := make([]Message, 0, len(lines))
	for _, line := range lines {
		from, raw, _ := strings.Cut(line, " ")
		addr, _ := netip.ParseAddr(from)
		msgs = append(msgs, Message{From: addr, Raw: raw})
	}
	return msgs, nil
}

func (s *Syslog) lines() ([]string, error) {
	b, err := os.ReadFile(s.File)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("syslog on %s: %w", s.Host.Name(), err)
	}
	var lines []string
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" {
			lines = append(lines, line)
		}
	}
	return lines, nil
}
