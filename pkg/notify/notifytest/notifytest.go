// Package notifytest has a recording notify.Alerter and a scripted SMTP
// server that records what clients send.
package notifytest

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"strings"
	"sync"

	"hapair/pkg/notify"
)

// Alert is one recorded call.
type Alert struct {
	Group bool
	Name  string
	State notify.State
}

// Alerter records alerts.
type Alerter struct {
	mu     sync.Mutex
	alerts []Alert
}

// Alert implements notify.Alerter.
func (a *Alerter) Alert(_ context.Context, instance string, st notify.State) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.alerts = append(a.alerts, Alert{Name: instance, State: st})
}

// AlertGroup implements notify.Alerter.
func (a *Alerter) AlertGroup(_ context.Context, group string, st notify.State) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.alerts = append(a.alerts, Alert{Group: true, Name: group, State: st})
}

// Alerts returns the calls so far.
func (a *Alerter) Alerts() []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Alert(nil), a.alerts...)
}

// SMTPServer is a minimal SMTP server on 127.0.0.1 that answers like a
// plain MTA and records every byte each client sent. With Silent it
// accepts connections and never says anything.
type SMTPServer struct {
	Addr   string
	Silent bool
	// Reply, if set, overrides the reply to a command (by its first word,
	// upper case, e.g. "RCPT"): the full line without CRLF.
	Reply map[string]string

	ln       net.Listener
	mu       sync.Mutex
	sessions [][]byte
	wg       sync.WaitGroup
	conns    []net.Conn
}

// Start listens on a free loopback port.
func (s *SMTPServer) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.ln = ln
	s.Addr = ln.Addr().String()
	s.wg.Add(1)
	go s.serve()
	return nil
}

// Close stops the server and drops its connections.
func (s *SMTPServer) Close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Sessions returns, per finished connection, the bytes the client sent.
func (s *SMTPServer) Sessions() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.sessions...)
}

func (s *SMTPServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go s.session(c)
	}
}

func (s *SMTPServer) reply(cmd, def string) string {
	if r, ok := s.Reply[cmd]; ok {
		return r + "\r\n"
	}
	return def + "\r\n"
}

func (s *SMTPServer) session(c net.Conn) {
	defer s.wg.Done()
	var got bytes.Buffer
	recorded := false
	// Record before answering QUIT, so sessions keep the clients' order.
	record := func() {
		if !recorded {
			recorded = true
			s.mu.Lock()
			s.sessions = append(s.sessions, got.Bytes())
			s.mu.Unlock()
		}
	}
	defer func() {
		c.Close()
		record()
	}()
	r := bufio.NewReader(c)
	if s.Silent {
		buf := make([]byte, 512)
		for {
			n, err := r.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}
	c.Write([]byte(s.reply("CONNECT", "220 test.example ESMTP ready")))
	inData := false
	for {
		line, err := r.ReadString('\n')
		got.WriteString(line)
		if err != nil {
			return
		}
		if inData {
			if line == ".\r\n" {
				inData = false
				c.Write([]byte(s.reply("BODY", "250 2.0.0 queued")))
			}
			continue
		}
		cmd := strings.ToUpper(strings.Fields(line + " x")[0])
		switch cmd {
		case "DATA":
			out := s.reply("DATA", "354 go ahead")
			if strings.HasPrefix(out, "354") {
				inData = true
			}
			c.Write([]byte(out))
		case "QUIT":
			record()
			c.Write([]byte(s.reply("QUIT", "221 bye")))
			return
		case "HELO", "EHLO":
			c.Write([]byte(s.reply(cmd, "250 test.example")))
		default:
			c.Write([]byte(s.reply(cmd, "250 ok")))
		}
	}
}
