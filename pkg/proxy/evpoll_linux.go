package proxy

import (
	"os"
	"sync"
	"syscall"
)

// evPoller is the process's own epoll set for the mode tcp relay: each
// relayed socket is added once, edge-triggered, and an idle direction
// waits there with no goroutine (and so no stack). The set itself is
// waited on through Go's netpoller (an epoll descriptor is pollable), so
// that no thread blocks in epoll_wait; its events say, besides
// readability, whether the peer shut its side (EPOLLRDHUP), which lets a
// direction stop reading after a short read as haproxy does, where Go's
// own poller would need one more read that fails with EAGAIN.
type evPoller struct {
	epfd int
	f    *os.File

	mu   sync.Mutex
	dirs map[int32]evTarget
	next int32
}

// evTarget is what a token of the set stands for: a relay direction's
// source socket (a net.Conn also in Go's netpoller) or a rawSock.
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
		p := &evPoller{epfd: fd, f: os.NewFile(uintptr(fd), "relay-epoll"), dirs: map[int32]evTarget{}}
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

// token gives t a key of the set.
func (p *evPoller) token(t evTarget) int32 {
	p.mu.Lock()
	for {
		p.next++
		if p.next <= 0 {
			p.next = 1
		}
		if p.dirs[p.next] == nil {
			break
		}
	}
	tok := p.next
	p.dirs[tok] = t
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

// forget drops a token; the socket leaves the set when it is closed.
func (p *evPoller) forget(tok int32) {
	p.mu.Lock()
	delete(p.dirs, tok)
	p.mu.Unlock()
}

// add watches d's source socket; false when it cannot (the direction
// then waits in Go's netpoller as before). A rawSock is in the set
// already: d takes its read events.
func (p *evPoller) add(d *relayDir) bool {
	if d.raw != nil {
		d.raw.attach(d)
		return true
	}
	tok := p.token(d)
	d.tok = tok
	var err error
	cerr := d.rc.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: relayEvents, Fd: tok}
		err = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if cerr != nil || err != nil {
		p.remove(d)
		return false
	}
	return true
}

// quiet stops (false) or restarts (true) d's events: a direction that
// splices waits in Go's netpoller, and the set's events for every segment
// would only wake the poller. Restarting reports data already there.
func (p *evPoller) quiet(d *relayDir, on bool) {
	if d.raw != nil {
		return // its splice waits in the set
	}
	ev := syscall.EpollEvent{Fd: d.tok}
	if on {
		ev.Events = relayEvents
	}
	_ = d.rc.Control(func(fd uintptr) {
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev)
	})
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
	if t, ok := p.dirs[d.tok].(*relayDir); ok && t == d {
		delete(p.dirs, d.tok)
	}
	p.mu.Unlock()
	d.tok = 0
}

// loop dispatches the set's events for the life of the process. It stays
// inside one RawConn.Read: returning false waits for the set's next edge
// without resetting the readiness an event may have left meanwhile.
func (p *evPoller) loop(rc syscall.RawConn) {
	events := make([]syscall.EpollEvent, 128)
	dirs := make([]evTarget, 0, len(events))
	_ = rc.Read(func(fd uintptr) bool {
		for {
			n, err := syscall.EpollWait(int(fd), events, 0)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return true
			}
			dirs = dirs[:0]
			p.mu.Lock()
			for i := 0; i < n; i++ {
				dirs = append(dirs, p.dirs[events[i].Fd])
			}
			p.mu.Unlock()
			for i, d := range dirs {
				if d != nil {
					d.event(events[i].Events)
				}
				dirs[i] = nil
			}
			if n < len(events) {
				return false // drained: the next event is a new edge
			}
		}
	})
}
