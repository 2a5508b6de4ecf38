package proxy

import (
	"os"
	"sync"
	"syscall"
)

// evPoller is the process's own epoll set. In it: the mode tcp relay's
// sockets, each added once, edge-triggered, where an idle direction waits
// with no goroutine (and so no stack); plain mode tcp sessions' raw
// sockets (rawSock), which are in no other poller; and idle HTTP/1
// keep-alive clients, armed once per idle period (watch, rearm). The set
// itself is waited on through Go's netpoller (an epoll descriptor is
// pollable), so that no thread blocks in epoll_wait; its events say,
// besides readability, whether the peer shut its side (EPOLLRDHUP), which
// lets a direction stop reading after a short read as haproxy does, where
// Go's own poller would need one more read that fails with EAGAIN.
type evPoller struct {
	epfd int
	f    *os.File

	mu      sync.Mutex
	targets map[int32]evTarget
	next    int32
}

// evTarget is what a token of the set stands for: a relay direction's
// source socket (a net.Conn also in Go's netpoller), a rawSock, a raw
// listener or a parked HTTP/1 client. event runs on the poller's
// goroutine and must not block.
type evTarget interface{ event(ev uint32) }

func (d *relayDir) event(ev uint32) {
	d.wake(ev&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0)
}

var (
	evOnce   sync.Once
	evGlobal *evPoller
)

// evpoll returns the process's poller, nil when epoll is not available
// (the relay then keeps a goroutine per direction).
func evpoll() *evPoller {
	evOnce.Do(func() {
		fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			return
		}
		if err := syscall.SetNonblock(fd, true); err != nil {
			syscall.Close(fd)
			return
		}
		p := &evPoller{epfd: fd, f: os.NewFile(uintptr(fd), "relay-epoll"), targets: map[int32]evTarget{}}
		rc, err := p.f.SyscallConn()
		if err != nil {
			p.f.Close()
			return
		}
		evGlobal = p
		go p.loop(rc)
	})
	return evGlobal
}

// relayEvents are what a relayed socket is watched for.
const relayEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | uint32(1<<31) // EPOLLET

// An idle HTTP/1 client's socket is added disarmed (parkAdded), then
// armed for one event each time it parks (parkEvents): level-triggered,
// so what is there already is reported at once.
const (
	parkAdded  = syscall.EPOLLONESHOT
	parkEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT
)

// token gives t a key of the set.
func (p *evPoller) token(t evTarget) int32 {
	p.mu.Lock()
	for {
		p.next++
		if p.next <= 0 {
			p.next = 1
		}
		if p.targets[p.next] == nil {
			break
		}
	}
	tok := p.next
	p.targets[tok] = t
	p.mu.Unlock()
	return tok
}

// register adds a rawSock's socket to the set for good: read and write
// events, edge-triggered; Close forgets it.
func (p *evPoller) register(c *rawSock) error {
	c.tok = p.token(c)
	ev := syscall.EpollEvent{Events: rawEvents, Fd: c.tok}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		p.forget(c.tok)
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// rawEvents are what a rawSock's socket is watched for.
const rawEvents = syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP | uint32(1<<31) // EPOLLET

// forget drops a token: an event still queued for it finds nothing. The
// socket leaves the set when it is closed.
func (p *evPoller) forget(tok int32) {
	p.mu.Lock()
	delete(p.targets, tok)
	p.mu.Unlock()
}

// watch adds rc's socket to the set with events; t hears of them. It
// returns the token that rearm and forget take; false when the socket
// cannot be added.
func (p *evPoller) watch(rc syscall.RawConn, t evTarget, events uint32) (int32, bool) {
	tok := p.token(t)
	var err error
	cerr := rc.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: events, Fd: tok}
		err = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if cerr != nil || err != nil {
		p.forget(tok)
		return 0, false
	}
	return tok, true
}

// rearm sets the events of a watched socket again (EPOLL_CTL_MOD): with
// EPOLLONESHOT, what it asks for is reported once more, at once if the
// socket is ready already.
func (p *evPoller) rearm(rc syscall.RawConn, tok int32, events uint32) bool {
	var err error
	cerr := rc.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: events, Fd: tok}
		err = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev)
	})
	return cerr == nil && err == nil
}

// add watches d's source socket; false when it cannot (the direction
// then waits in Go's netpoller as before). A rawSock is in the set
// already: d takes its read events.
func (p *evPoller) add(d *relayDir) bool {
	if d.raw != nil {
		d.raw.attach(d)
		return true
	}
	tok, ok := p.watch(d.rc, d, relayEvents)
	d.tok = tok
	return ok
}

// quiet stops (false) or restarts (true) d's events: a direction that
// splices waits in Go's netpoller, and the set's events for every segment
// would only wake the poller. Restarting reports data already there.
func (p *evPoller) quiet(d *relayDir, on bool) {
	if d.raw != nil {
		return // its splice waits in the set
	}
	var events uint32
	if on {
		events = relayEvents
	}
	p.rearm(d.rc, d.tok, events)
}

// remove forgets d; its socket leaves the set when it is closed.
func (p *evPoller) remove(d *relayDir) {
	if d.raw != nil {
		d.raw.detach(d)
		return
	}
	if d.tok == 0 {
		return
	}
	p.mu.Lock()
	if t, ok := p.targets[d.tok].(*relayDir); ok && t == d {
		delete(p.targets, d.tok)
	}
	p.mu.Unlock()
	d.tok = 0
}

// loop dispatches the set's events for the life of the process. It stays
// inside one RawConn.Read: returning false waits for the set's next edge
// without resetting the readiness an event may have left meanwhile.
func (p *evPoller) loop(rc syscall.RawConn) {
	events := make([]syscall.EpollEvent, 128)
	targets := make([]evTarget, 0, len(events))
	_ = rc.Read(func(fd uintptr) bool {
		for {
			n, err := syscall.EpollWait(int(fd), events, 0)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return true
			}
			targets = targets[:0]
			p.mu.Lock()
			for i := 0; i < n; i++ {
				targets = append(targets, p.targets[events[i].Fd])
			}
			p.mu.Unlock()
			for i, t := range targets {
				if t != nil {
					t.event(events[i].Events)
				}
				targets[i] = nil
			}
			if n < len(events) {
				return false // drained: the next event is a new edge
			}
		}
	})
}
