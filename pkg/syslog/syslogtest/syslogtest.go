// Package syslogtest receives and parses syslog datagrams in tests: a
// loopback UDP sink standing in for a syslog server, and a parser for the
// haproxy-style header "<PRI>Mmm dd hh:mm:ss tag[pid]: message\n".
package syslogtest

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"hapair/pkg/haproxycfg"
)

// Sink is a UDP receiver on 127.0.0.1 that keeps every datagram.
type Sink struct {
	conn *net.UDPConn
	mu   sync.Mutex
	got  []string
	more chan struct{}
}

// NewSink listens on a free loopback port until the test ends.
func NewSink(t testing.TB) *Sink {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(4 << 20)
	s := &Sink{conn: c, more: make(chan struct{}, 1)}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.got = append(s.got, string(buf[:n]))
			s.mu.Unlock()
			select {
			case s.more <- struct{}{}:
			default:
			}
		}
	}()
	return s
}

// Addr is "127.0.0.1:port".
func (s *Sink) Addr() string { return s.conn.LocalAddr().String() }

// Port is the UDP port.
func (s *Sink) Port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

// Datagrams returns what arrived so far.
func (s *Sink) Datagrams() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

// Wait returns once at least n datagrams arrived, or when within has
// passed (the caller checks the count), plus a short grace for stragglers.
func (s *Sink) Wait(n int, within time.Duration) []string {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for len(s.Datagrams()) < n {
		select {
		case <-s.more:
		case <-deadline.C:
			return s.Datagrams()
		}
	}
	time.Sleep(100 * time.Millisecond)
	return s.Datagrams()
}

// WaitFor returns the first datagram matching ok, or "" after within.
func (s *Sink) WaitFor(ok func(string) bool, within time.Duration) string {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		for _, d := range s.Datagrams() {
			if ok(d) {
				return d
			}
		}
		select {
		case <-s.more:
		case <-deadline.C:
			return ""
		}
	}
}

// Datagram is one parsed message.
type Datagram struct {
	Raw      string
	Facility haproxycfg.Facility
	Level    haproxycfg.Level
	Stamp    time.Time // the header time in UTC; the header has no year (0)
	Tag      string
	PID      int
	Msg      string // without the trailing line feed
}

var headerRE = regexp.MustCompile(`^<(\d{1,3})>([A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d) ([^\[: ]+)\[(\d+)\]: ((?s).*?)\n?$`)

// Parse reads a datagram with haproxy's default header.
func Parse(raw string) (Datagram, error) {
	m := headerRE.FindStringSubmatch(raw)
	if m == nil {
		return Datagram{}, fmt.Errorf("syslogtest: not a haproxy-style datagram: %q", raw)
	}
	pri, _ := strconv.Atoi(m[1])
	if pri > 191 {
		return Datagram{}, fmt.Errorf("syslogtest: PRI %d out of range in %q", pri, raw)
	}
	stamp, err := time.ParseInLocation("Jan _2 15:04:05", m[2], time.UTC)
	if err != nil {
		return Datagram{}, fmt.Errorf("syslogtest: %q: %w", raw, err)
	}
	pid, _ := strconv.Atoi(m[4])
	return Datagram{Raw: raw, Facility: haproxycfg.Facility(pri / 8), Level: haproxycfg.Level(pri % 8),
		Stamp: stamp, Tag: m[3], PID: pid, Msg: m[5]}, nil
}
