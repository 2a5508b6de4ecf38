package peers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"hapair/pkg/peers/wire"
)

// Peer is one `peer` (or `server`) line of a section.
type Peer struct {
	Name  string
	Addr  string // host:port; the local peer's is where it listens
	Local bool   // the peer named as this process (-L, localpeer, host name)
}

// Timers are the protocol's delays; the zero value is haproxy's.
type Timers struct {
	Resync    time.Duration // waiting for a lesson (PEER_RESYNC_TIMEOUT, 5 s)
	Reconnect time.Duration // between connection attempts (PEER_RECONNECT_TIMEOUT, 5 s)
	Heartbeat time.Duration // silence before a heartbeat (PEER_HEARTBEAT_TIMEOUT, 3 s)
	Dead      time.Duration // silence before dropping a session (haproxy: 5 to 10 s)
}

func (t *Timers) fill() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Resync, 5*time.Second)
	def(&t.Reconnect, 5*time.Second)
	def(&t.Heartbeat, 3*time.Second)
	def(&t.Dead, 8*time.Second)
}

// Config is one `peers` section as the runtime needs it.
type Config struct {
	Name   string // the section's name, for logs
	Local  string // this process's peer name
	Listen string // where the local peer listens (its `peer` address or `bind`)
	Peers  []Peer // every peer, the local one included
	Tables []Table
	PID    int
	// WaitLocal: this process replaces an old one (-sf), which will push
	// its tables: wait for it before asking a remote peer.
	WaitLocal bool
	Timers    Timers
}

// The section's resync state (haproxy's PEERS_RESYNC_*).
type resyncState int

const (
	fromLocal  resyncState = iota // waiting for the old local process's lesson
	fromRemote                    // asking a remote peer
	finished                      // up to date (or gave up waiting)
)

func (r resyncState) String() string {
	return [...]string{"from local", "from remote", "finished"}[r]
}

// Section is a running `peers` section.
type Section struct {
	cfg    Config
	log    zerolog.Logger
	tables []*table
	byName map[string]*table

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{}

	// sessions are the current sessions, for the tables' update hook to
	// wake without taking mu (it runs on the traffic's path).
	sessions atomic.Pointer[[]*session]

	mu          sync.Mutex
	ln          net.Listener
	peers       []*peer
	state       resyncState
	deadline    time.Time // of the current resync step
	assigned    *peer     // learning from it
	requested   bool      // the resync request went out to assigned
	stopping    bool
	learnedFrom string // for logs and tests: "local" or a peer's name
}

// peer is a peer's state across its sessions.
type peer struct {
	Peer
	sess        *session
	acked       map[*table]uint64 // the last update it acked, per table
	notUpToDate bool              // it answered a resync with "partial"
	next        time.Time         // no connection attempt before
	status      wire.Status
}

// New builds a section; Start runs it.
func New(cfg Config, log zerolog.Logger) (*Section, error) {
	cfg.Timers.fill()
	s := &Section{cfg: cfg, log: log, byName: map[string]*table{}, wake: make(chan struct{}, 1)}
	haveLocal := false
	for _, p := range cfg.Peers {
		s.peers = append(s.peers, &peer{Peer: p, acked: map[*table]uint64{}})
		haveLocal = haveLocal || p.Local
	}
	if !haveLocal {
		return nil, fmt.Errorf("peers %s: no local peer named '%s'", cfg.Name, cfg.Local)
	}
	for i, tb := range cfg.Tables {
		if tb.KeySize <= 0 {
			tb.KeySize = DefaultKeySize(tb.T.Config().Type)
		}
		t := newTable(tb, uint64(i+1))
		s.tables = append(s.tables, t)
		s.byName[tb.Name] = t
	}
	if !cfg.WaitLocal {
		s.state = fromRemote
	}
	return s, nil
}

// Start listens on the local peer's address, hooks the tables and starts
// connecting to the remote peers. The listener is opened with
// SO_REUSEPORT so that a new process binds it while the old one still
// runs, as haproxy's listeners are.
func (s *Section) Start(ctx context.Context) error {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	ln, err := s.listen(ctx, lc)
	if err != nil {
		return fmt.Errorf("peers %s: cannot bind %s: %w", s.cfg.Name, s.cfg.Listen, err)
	}
	if strings.HasPrefix(s.cfg.Listen, "fd@") {
		// The local peer is reached where the inherited socket listens.
		for _, p := range s.peers {
			if p.Local {
				p.Addr = ln.Addr().String()
			}
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.ln = ln
	s.deadline = time.Now().Add(s.cfg.Timers.Resync)
	for _, t := range s.tables {
		t := t
		t.T.SetOnUpdate(func(key string) {
			t.add(key)
			s.wakeSessions()
		})
	}
	s.wg.Add(2)
	go s.acceptLoop(ln)
	go s.syncLoop()
	return nil
}

// listen opens the local peer's listener: an address, or fd@N, a
// listening socket inherited from the parent process.
func (s *Section) listen(ctx context.Context, lc net.ListenConfig) (net.Listener, error) {
	fd, ok := strings.CutPrefix(s.cfg.Listen, "fd@")
	if !ok {
		return lc.Listen(ctx, "tcp", s.cfg.Listen)
	}
	n, err := strconv.Atoi(fd)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("%q is not a file descriptor", fd)
	}
	f := os.NewFile(uintptr(n), s.cfg.Listen)
	if f == nil {
		return nil, fmt.Errorf("not a file descriptor")
	}
	// FileListener works on a duplicate; the inherited one is closed.
	defer f.Close()
	return net.FileListener(f)
}

// Addr is where the section listens.
func (s *Section) Addr() net.Addr { return s.ln.Addr() }

// Synced reports whether the section is up to date: it learnt from a peer
// or gave up waiting for one, and from whom ("local", a peer's name, or
// "" after a timeout).
func (s *Section) Synced() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == finished, s.learnedFrom
}

// Connected lists the peers with an established session.
func (s *Section) Connected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, p := range s.peers {
		if p.sess != nil && p.sess.established {
			out = append(out, p.Name)
		}
	}
	return out
}

func (s *Section) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// wakeSessions tells every session there may be something to send.
func (s *Section) wakeSessions() {
	if l := s.sessions.Load(); l != nil {
		for _, sess := range *l {
			sess.poke()
		}
	}
}

// setSess makes sess (nil: none) p's session. Called with the lock.
func (s *Section) setSess(p *peer, sess *session) {
	p.sess = sess
	var l []*session
	for _, q := range s.peers {
		if q.sess != nil {
			l = append(l, q.sess)
		}
	}
	s.sessions.Store(&l)
}

func (s *Section) acceptLoop(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn().Err(err).Msgf("peers %s: accept", s.cfg.Name)
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.accepted(c)
		}()
	}
}

// syncLoop is haproxy's process_peer_sync: connections, the resync
// steps and their timeouts.
func (s *Section) syncLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		s.step(time.Now())
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		case <-s.wake:
		}
	}
}

func (s *Section) step(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return
	}
	if s.state == fromLocal && s.assigned == nil && !now.Before(s.deadline) {
		s.log.Debug().Msgf("peers %s: no lesson from the old process, asking the remote peers", s.cfg.Name)
		s.state = fromRemote
		s.deadline = now.Add(s.cfg.Timers.Resync)
	}
	for _, p := range s.peers {
		if p.Local || p.Addr == "" {
			continue
		}
		if p.sess == nil {
			if !now.Before(p.next) {
				p.next = now.Add(s.cfg.Timers.Reconnect)
				p.status = 100
				sess := s.newSession(p, nil)
				s.setSess(p, sess)
				s.wg.Add(1)
				go func() {
					defer s.wg.Done()
					sess.connect(s.cfg.Local)
				}()
			}
			continue
		}
		if p.sess.established && s.state == fromRemote && s.assigned == nil && !p.notUpToDate {
			s.assign(p.sess)
		}
	}
	if s.state == fromRemote && s.assigned == nil && !now.Before(s.deadline) {
		s.state = finished
		s.log.Debug().Msgf("peers %s: no peer to learn from, considering the tables up to date", s.cfg.Name)
	}
}

// assign makes sess the one to learn from.
func (s *Section) assign(sess *session) {
	s.assigned = sess.p
	s.requested = sess.p.Local // a local lesson comes without asking
	sess.learning = true
	sess.poke()
}

// Close stops everything at once.
func (s *Section) Close() {
	s.mu.Lock()
	s.stopping = true
	if s.ln != nil {
		s.ln.Close()
	}
	for _, p := range s.peers {
		if p.sess != nil {
			p.sess.close()
		}
	}
	s.mu.Unlock()
	for _, t := range s.tables {
		t.T.SetOnUpdate(nil)
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
}

// SoftStop is the old process's part of a reload: it stops listening,
// closes its sessions, then connects to its own address, where the new
// process listens, and pushes its tables, returning once the new process
// confirmed the lesson, when nobody listens there, or when ctx ends.
func (s *Section) SoftStop(ctx context.Context) {
	s.mu.Lock()
	s.stopping = true
	s.ln.Close()
	var local *peer
	for _, p := range s.peers {
		if p.sess != nil {
			p.sess.close()
		}
		if p.Local {
			local = p
		}
	}
	s.mu.Unlock()
	for attempt := 0; ctx.Err() == nil; attempt++ {
		s.mu.Lock()
		sess := s.newSession(local, nil)
		sess.teaching = true
		s.setSess(local, sess)
		s.mu.Unlock()
		go func() {
			<-ctx.Done()
			sess.close()
		}()
		st := sess.connect(s.cfg.Local)
		s.mu.Lock()
		complete := sess.taught
		s.mu.Unlock()
		if complete {
			s.log.Debug().Msgf("peers %s: tables pushed to the new process", s.cfg.Name)
			return
		}
		if st != wire.StatusTryAgain && st != wire.StatusSuccess || attempt > 50 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// learnt ends a lesson from p.
func (s *Section) learnt(p *peer, partial bool) {
	if s.assigned != p {
		return
	}
	s.assigned = nil
	s.requested = false
	if partial {
		p.notUpToDate = true
		s.deadline = time.Now().Add(s.cfg.Timers.Resync)
		s.poke()
		return
	}
	s.state = finished
	s.learnedFrom = p.Name
	if p.Local {
		s.learnedFrom = "local"
	}
	s.log.Debug().Msgf("peers %s: tables learnt from %s", s.cfg.Name, s.learnedFrom)
}

func randomDelay() time.Duration { return 50*time.Millisecond + rand.N(2000*time.Millisecond) }
