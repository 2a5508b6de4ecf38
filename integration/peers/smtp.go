package peers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"hapair/integration/lab"
)

// Python is Debian's interpreter, which has python3-aiosmtpd; the python3
// on PATH may be another one without it.
const Python = "/usr/bin/python3"

// SMTP is aiosmtpd listening on port 25 and storing each mail it accepts
// in a Maildir (aiosmtpd.handlers.Mailbox).
type SMTP struct {
	*Service
	Maildir string // outside the host
}

// Mail is one received message.
type Mail struct {
	File    string
	From    string
	To      string
	Subject string
	Date    time.Time
	Body    string
	Raw     []byte
}

// Aiosmtpd starts `/usr/bin/python3 -m aiosmtpd -n -l ADDR:25` on h with a
// Maildir handler. It returns once port 25 listens.
func Aiosmtpd(ctx context.Context, l *lab.Lab, h *lab.Host) (*SMTP, error) {
	dir, err := serviceDir(l, h, "smtp")
	if err != nil {
		return nil, err
	}
	s := &SMTP{
		Service: &Service{Host: h, Name: "smtp", Process: "python3", Pidfile: "", Dir: dir},
		Maildir: filepath.Join(dir, "maildir"),
	}
	if s.Proc, err = h.Start("smtp", Python, "-m", "aiosmtpd", "-n", "-l", h.Addr().String()+":25",
		"-c", "aiosmtpd.handlers.Mailbox", s.Maildir); err != nil {
		return nil, err
	}
	if err := waitListening(ctx, s.Service, "tcp", 25, 15*time.Second); err != nil {
		return s, err
	}
	return s, nil
}

// Mails returns the mails received so far, oldest first.
func (s *SMTP) Mails() ([]Mail, error) {
	var mails []Mail
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(s.Maildir, sub))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("smtp on %s: %w", s.Host.Name(), err)
		}
		for _, e := range entries {
			path := filepath.Join(s.Maildir, sub, e.Name())
			raw, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("smtp on %s: %w", s.Host.Name(), err)
			}
			m := Mail{File: path, Raw: raw}
			if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
				m.From = msg.Header.Get("From")
				m.To = msg.Header.Get("To")
				m.Subject = strings.TrimSpace(msg.Header.Get("Subject"))
				m.Date, _ = msg.Header.Date()
				body, _ := io.ReadAll(msg.Body)
				m.Body = string(body)
			}
			mails = append(mails, m)
		}
	}
	sort.SliceStable(mails, func(i, j int) bool { return seq(mails[i].File) < seq(mails[j].File) })
	return mails, nil
}

// seq is the delivery counter in a Maildir file name written by Python's
// mailbox module ("<time>.M<usec>P<pid>Q<counter>.<host>"): the order of
// arrival, finer than the Date header's seconds.
func seq(path string) int {
	name := filepath.Base(path)
	i := strings.LastIndex(name, "Q")
	if i < 0 {
		return 0
	}
	n := 0
	for _, c := range name[i+1:] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}
