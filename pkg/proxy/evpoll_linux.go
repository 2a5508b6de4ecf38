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
	dirs map[int32]*relayDir
	next int32
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
		p := &evPoller{epfd: fd, f: os.NewFile(uintptr(fd), "relay-epoll"), dirs: map[int32]*relayDir{}}
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

// add watches d's source socket; false when it cannot (the direction
// then waits in Go's netpoller as before).
func (p *evPoller) add(d *relayDir) bool {
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
	p.dirs[tok] = d
	p.mu.Unlock()
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
	if d.tok == 0 {
		return
	}
	p.mu.Lock()
	if p.dirs[d.tok] == d {
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
	dirs := make([]*relayDir, 0, len(events))
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
					d.wake(events[i].Events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0)
				}
				dirs[i] = nil
			}
			if n < len(events) {
				return false // drained: the next event is a new edge
			}
		}
	})
}
