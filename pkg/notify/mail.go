package notify

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// DefaultConnectTimeout is smtp_connect_timeout's default (global_data.h).
const DefaultConnectTimeout = 30 * time.Second

// DefaultQueue bounds the mails waiting to be sent.
const DefaultQueue = 32

// ErrQueueFull is logged (and returned by Enqueue) when an alert is
// dropped because DefaultQueue (or Mailer.Queue) mails are waiting.
var ErrQueueFull = errors.New("notify: SMTP alert queue full")

// ErrClosed is returned by Enqueue after Close.
var ErrClosed = errors.New("notify: mailer closed")

// Mail texts of keepalived 2.2.7 (vrrp_notify.c vrrp_smtp_notifier,
// vrrp_sync_smtp_notifier): subject suffix and body per state.
var (
	instanceText = map[State][2]string{
		Master:  {"Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="},
		Backup:  {"Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <="},
		Fault:   {"Entering FAULT state", "=> VRRP Instance is no longer owning VRRP VIPs <="},
		Stop:    {"Stopping", "=> VRRP Instance stopping <="},
		Deleted: {"Deleted", "=> VRRP Deleted at reload <="},
	}
	groupText = map[State][2]string{
		Master: {"Entering MASTER state", "=> All VRRP group instances are now in MASTER state <="},
		Backup: {"Entering BACKUP state", "=> All VRRP group instances are now in BACKUP state <="},
		Fault:  {"Entering FAULT state", "=> All VRRP group instances are now in FAULT state <="},
		Stop:   {"Stopping", "=> All VRRP group instances are now stopping <="},
	}
)

// keepalived's buffer limits (smtp.h): longer texts are cut.
const (
	maxSubject = 256 - 1
	maxBody    = 512 - 1
)

// Mailer sends keepalived's alert mails from a queue, so a slow or absent
// SMTP server never delays the caller. Set the fields, then run Run in a
// goroutine.
type Mailer struct {
	// Server is smtp_server: "host" (port 25) or "host:port".
	Server string
	// ConnectTimeout is smtp_connect_timeout, for the connection and for
	// each reply; 0 means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// From is notification_email_from; empty means user@Hostname.
	From string
	// To is notification_email.
	To []string
	// RouterID is router_id; empty means Hostname.
	RouterID string
	// Hostname is smtp_helo_name, the HELO argument; empty means
	// LocalName().
	Hostname string
	// Queue bounds waiting mails; 0 means DefaultQueue.
	Queue int
	// Now dates the mails; nil means time.Now (local time, as keepalived).
	Now func() time.Time
	Log zerolog.Logger

	once    sync.Once
	mu      sync.Mutex
	q       chan mail
	closed  bool
	stopped chan struct{}
}

type mail struct{ subject, body string }

// LocalName is the host's canonical name as keepalived finds it
// (utils.c get_local_name: the node name resolved with AI_CANONNAME),
// or the plain host name.
func LocalName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	if c, err := net.LookupCNAME(h); err == nil && c != "" {
		return strings.TrimSuffix(c, ".")
	}
	return h
}

func (m *Mailer) init() {
	m.once.Do(func() {
		n := m.Queue
		if n <= 0 {
			n = DefaultQueue
		}
		m.q = make(chan mail, n)
		m.stopped = make(chan struct{})
	})
}

func (m *Mailer) hostname() string {
	if m.Hostname != "" {
		return m.Hostname
	}
	return LocalName()
}

func (m *Mailer) from() string {
	if m.From != "" {
		return m.From
	}
	name := "root"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return name + "@" + m.hostname()
}

func (m *Mailer) routerID() string {
	if m.RouterID != "" {
		return m.RouterID
	}
	return m.hostname()
}

// serverAddr returns the address to dial and keepalived's way of naming
// it in logs, "[127.0.0.1]:25".
func (m *Mailer) serverAddr() (dial, show string) {
	host, port, err := net.SplitHostPort(m.Server)
	if err != nil {
		host, port = strings.Trim(m.Server, "[]"), "25"
	}
	return net.JoinHostPort(host, port), "[" + host + "]:" + port
}

// Alert queues the mail keepalived sends when VRRP instance `instance`
// enters state st: subject "[<router_id>] VRRP Instance <name> - Entering
// MASTER state". It never blocks; when the queue is full the mail is
// dropped and logged. ctx only stops a mail from being queued once done.
func (m *Mailer) Alert(ctx context.Context, instance string, st State) {
	t, ok := instanceText[st]
	if !ok || ctx.Err() != nil {
		return
	}
	m.Send(fmt.Sprintf("[%s] VRRP Instance %s - %s", m.routerID(), instance, t[0]), t[1])
}

// AlertGroup queues the mail for a vrrp_sync_group entering st.
func (m *Mailer) AlertGroup(ctx context.Context, group string, st State) {
	t, ok := groupText[st]
	if !ok || ctx.Err() != nil {
		return
	}
	m.Send(fmt.Sprintf("[%s] VRRP Group %s - %s", m.routerID(), group, t[0]), t[1])
}

// Send queues a mail with this subject and body, logging a drop.
func (m *Mailer) Send(subject, body string) {
	if err := m.Enqueue(subject, body); err != nil {
		m.Log.Info().Msgf("SMTP alert dropped (%v): %s", err, subject)
	}
}

// Enqueue queues a mail without blocking.
func (m *Mailer) Enqueue(subject, body string) error {
	m.init()
	if len(subject) > maxSubject {
		subject = subject[:maxSubject]
	}
	if len(body) > maxBody {
		body = body[:maxBody]
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	select {
	case m.q <- mail{subject, body}:
		return nil
	default:
		return ErrQueueFull
	}
}

// Run (call it once) sends queued mails one after the other until ctx is done (abandoning
// the one in flight) or Close was called and the queue is empty.
func (m *Mailer) Run(ctx context.Context) {
	m.init()
	defer close(m.stopped)
	for {
		select {
		case <-ctx.Done():
			return
		case ml, ok := <-m.q:
			if !ok {
				return
			}
			m.deliver(ctx, ml)
		}
	}
}

// Close stops taking mails and waits until Run has sent those queued, or
// ctx ends.
func (m *Mailer) Close(ctx context.Context) error {
	m.init()
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		close(m.q)
	}
	m.mu.Unlock()
	select {
	case <-m.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Message returns the DATA keepalived sends, up to and including the
// terminating "\r\n.\r\n" (smtp.h SMTP_HEADERS_CMD, SMTP_BODY_CMD,
// SMTP_SEND_CMD): Date, From, Subject, X-Mailer, To, a blank line, the
// body, an empty line. Dates use strftime's "%a, %d %b %Y %H:%M:%S %z".
func Message(date time.Time, from, subject string, to []string, body string) []byte {
	var b strings.Builder
	b.WriteString("Date: " + date.Format("Mon, 02 Jan 2006 15:04:05 -0700") + "\r\n")
	b.WriteString("From: " + from + "\r\n")
	b.WriteString("Subject: " + subject + "\r\n")
	b.WriteString("X-Mailer: Keepalived\r\n")
	b.WriteString("To: " + strings.Join(to, ", ") + "\r\n\r\n")
	b.WriteString(body + "\r\n")
	b.WriteString("\r\n.\r\n")
	return []byte(b.String())
}

// smtpError is a reply with an unexpected code.
type smtpError struct {
	cmd  string
	code int
}

func (e *smtpError) Error() string { return fmt.Sprintf("%s: SMTP status code %d", e.cmd, e.code) }

// deliver speaks keepalived's SMTP dialogue (smtp.c): wait for 220, HELO
// (not EHLO), MAIL FROM, one RCPT TO per address, DATA, the message, QUIT;
// each reply awaited at most ConnectTimeout. Failures are logged with
// keepalived's messages.
func (m *Mailer) deliver(ctx context.Context, ml mail) {
	if len(m.To) == 0 {
		return
	}
	timeout := m.ConnectTimeout
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	addr, show := m.serverAddr()
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			m.Log.Info().Msgf("Timeout opening connection to remote SMTP server %s.", show)
		} else if ctx.Err() == nil {
			m.Log.Info().Msgf("SMTP connection ERROR to %s.", show)
		}
		return
	}
	defer conn.Close()
	// Abandon at once when the daemon stops.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	m.Log.Debug().Msgf("Remote SMTP server %s connected.", show)

	r := bufio.NewReader(conn)
	tp := textproto.NewReader(r)
	// expect reads one (possibly multi-line) reply; keepalived takes the
	// code of its last line.
	expect := func(cmd string, want int) error {
		conn.SetReadDeadline(time.Now().Add(timeout))
		var code int
		for {
			line, err := tp.ReadLine()
			if err != nil {
				return err
			}
			if len(line) < 3 {
				continue
			}
			if len(line) > 3 && line[3] == '-' {
				continue
			}
			code, err = strconv.Atoi(line[:3])
			if err != nil {
				continue
			}
			break
		}
		if code != want {
			return &smtpError{cmd, code}
		}
		return nil
	}
	send := func(s string) error {
		_, err := conn.Write([]byte(s))
		return err
	}
	fail := func(err error) {
		var se *smtpError
		var ne net.Error
		switch {
		case ctx.Err() != nil:
			return
		case errors.As(err, &se):
			m.Log.Info().Msgf("Error processing %s cmd on SMTP server %s. SMTP status code = %d", se.cmd, show, se.code)
		case errors.As(err, &ne) && ne.Timeout():
			m.Log.Info().Msgf("Timeout reading data to remote SMTP server %s.", show)
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			m.Log.Info().Msgf("Remote SMTP server %s has closed the connection.", show)
			return
		default:
			m.Log.Info().Msgf("Cannot send data to remote SMTP server %s.", show)
			return
		}
		// As keepalived: after an error, say QUIT and wait once more.
		if send("QUIT\r\n") == nil {
			_ = expect("QUIT", 221)
		}
	}

	type step struct {
		cmd  string // keepalived's name for the stage, used in logs
		send string
		want int
	}
	from := m.from()
	steps := []step{
		{"(E)SMTP", "", 220},
		{"HELO", "HELO " + m.hostname() + "\r\n", 250},
		{"MAIL", "MAIL FROM:<" + from + ">\r\n", 250},
	}
	for _, to := range m.To {
		steps = append(steps, step{"RCPT", "RCPT TO:<" + to + ">\r\n", 250})
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	steps = append(steps, []step{
		{"DATA", "DATA\r\n", 354},
		{"BODY", "", 250},
		{"QUIT", "QUIT\r\n", 221},
	}...)
	for _, st := range steps {
		s := st.send
		if st.cmd == "BODY" {
			s = string(Message(now(), from, ml.subject, m.To, ml.body))
		}
		if s != "" {
			if err := send(s); err != nil {
				fail(err)
				return
			}
		}
		if err := expect(st.cmd, st.want); err != nil {
			if st.cmd == "QUIT" {
				return // the mail is sent; keepalived ends here too
			}
			fail(err)
			return
		}
		if st.cmd == "BODY" {
			m.Log.Debug().Msg("SMTP alert successfully sent.")
		}
	}
}
