package vrrpfsm_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/vrrpfsm"
	"hapair/pkg/vrrpfsm/fsmtest"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// logSink collects zerolog's JSON lines.
type logSink struct {
	mu    sync.Mutex
	lines []logLine
}

type logLine struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

func (s *logSink) Write(p []byte) (int, error) {
	var l logLine
	if err := json.Unmarshal(p, &l); err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.lines = append(s.lines, l)
	s.mu.Unlock()
	return len(p), nil
}

// info returns the Info lines: keepalived's log as a user sees it.
func (s *logSink) info() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range s.lines {
		if l.Level == "info" || l.Level == "warn" {
			out = append(out, l.Message)
		}
	}
	return out
}

func (s *logSink) has(msg string) bool { return slices.Contains(s.info(), msg) }

func (s *logSink) count(msg string) int {
	n := 0
	for _, l := range s.info() {
		if l == msg {
			n++
		}
	}
	return n
}

// node is one instance with its recording fakes.
type node struct {
	in     *vrrpfsm.Instance
	snd    *fsmtest.Sender
	fx     *fsmtest.Effects
	logs   *logSink
	addr   netip.Addr
	cancel context.CancelFunc
	cut    atomic.Bool // when set, this node's adverts are lost
}

// lab is a set of nodes on one in-memory link, sharing one fake clock.
type lab struct {
	t         *testing.T
	clk       *fsmtest.Clock
	mu        sync.Mutex
	nodes     []*node
	groups    []*vrrpfsm.Group
	delivered atomic.Int64
}

func newLab(t *testing.T) *lab {
	return &lab{t: t, clk: fsmtest.NewClock(t0)}
}

// add creates and starts an instance. Every advert it sends reaches every
// other node of the lab with the same VRID.
func (l *lab) add(cfg vrrpfsm.Config) *node {
	n := l.create(cfg)
	l.run(n)
	return n
}

// create makes an instance without starting it (a sync group must be made
// before its members run).
func (l *lab) create(cfg vrrpfsm.Config) *node {
	n := &node{addr: cfg.Address, logs: &logSink{}, fx: &fsmtest.Effects{}}
	n.snd = &fsmtest.Sender{Clock: l.clk, OnSend: func(prio uint8) {
		if n.cut.Load() {
			return
		}
		norm := n.in.Config()
		for _, o := range l.peers() {
			if o == n || o.in.Config().VRID != norm.VRID {
				continue
			}
			o.in.Receive(vrrpfsm.Advert{Src: n.addr, Priority: prio, AdvertInt: norm.AdvertInt})
			l.delivered.Add(1)
		}
	}}
	log := zerolog.New(n.logs).Level(zerolog.DebugLevel)
	n.in = vrrpfsm.New(cfg, l.clk, n.snd, n.fx, log)
	l.mu.Lock()
	l.nodes = append(l.nodes, n)
	l.mu.Unlock()
	return n
}

// run starts a created node's Run.
func (l *lab) run(n *node) {
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() {
		if err := n.in.Run(ctx); err != nil {
			l.t.Errorf("Run: %v", err)
		}
	}()
	l.t.Cleanup(func() { cancel(); <-n.in.Done() })
}

// peers returns the nodes; instances read it from their goroutines while
// the test may add nodes.
func (l *lab) peers() []*node {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.nodes)
}

// settle waits until no node has anything left to do at the current time.
func (l *lab) settle() {
	for range 10000 {
		before := l.delivered.Load()
		for _, n := range l.nodes {
			n.in.Sync()
		}
		if l.delivered.Load() == before && !l.busy() {
			return
		}
	}
	l.t.Fatal("lab does not settle: adverts ping-pong forever")
}

// busy reports whether a sync group still has an order on its way.
func (l *lab) busy() bool {
	for _, g := range l.groups {
		if g.Busy() {
			return true
		}
	}
	return false
}

// advance moves the fake clock forward by d, one timer deadline at a time,
// letting every node react before the next deadline.
func (l *lab) advance(d time.Duration) {
	target := l.clk.Now().Add(d)
	for range 1000000 {
		l.settle()
		next, ok := l.clk.Next()
		if !ok || next.After(target) {
			break
		}
		l.clk.AdvanceTo(next)
	}
	l.clk.AdvanceTo(target)
	l.settle()
}

// until advances in steps of step until cond holds, at most max; it returns
// the fake time elapsed.
func (l *lab) until(max, step time.Duration, cond func() bool) time.Duration {
	start := l.clk.Now()
	for l.clk.Now().Sub(start) <= max {
		if cond() {
			return l.clk.Now().Sub(start)
		}
		l.advance(step)
	}
	l.t.Fatalf("condition not met after %v", max)
	return 0
}

// stop cancels a node's Run and waits for it.
func (l *lab) stop(n *node) {
	n.cancel()
	<-n.in.Done()
	l.settle()
}

// inject delivers an advert to n as if from src.
func (l *lab) inject(n *node, src string, prio uint8) {
	n.in.Receive(vrrpfsm.Advert{Src: netip.MustParseAddr(src), Priority: prio, AdvertInt: n.in.Config().AdvertInt})
	l.settle()
}

func (l *lab) now() time.Time { return l.clk.Now() }

// becameMasterAt returns when the node last sent an advert while entering
// MASTER: the fake time of its transition.
func lastTransition(n *node) time.Time { return n.in.Status().LastTransition }

func mustState(t *testing.T, n *node, want vrrpfsm.State) {
	t.Helper()
	if got := n.in.State(); got != want {
		t.Fatalf("%s: state %v, want %v\nlog:\n%s", n.in.Config().Name, got, want, strings.Join(n.logs.info(), "\n"))
	}
}

func mustLog(t *testing.T, n *node, msg string) {
	t.Helper()
	if !n.logs.has(msg) {
		t.Fatalf("%s: log lacks %q\nlog:\n%s", n.in.Config().Name, msg, strings.Join(n.logs.info(), "\n"))
	}
}

func us(n int64) time.Duration { return time.Duration(n) * time.Microsecond }

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func nopLog() zerolog.Logger { return zerolog.Nop() }
