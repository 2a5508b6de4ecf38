package vrrpfsm

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// fdTimer is the Loop's timer on the system clock: a timerfd(2) waited on
// through the runtime's poller, set and read without the runtime's system
// call bookkeeping (syscall.RawSyscall).
//
// Why not a time.Timer: the runtime's sysmon thread, asleep while every P
// is idle, sleeps only until the next runtime timer, and any system call
// made through syscall.Syscall wakes it and resets its back-off to 20 µs
// steps. An idle master's advert timer thus woke sysmon every advert
// interval, and it then polled several times until the loop was idle
// again (sending SIGURG to the loop's thread when it found it running):
// 2-6 wake-ups per advert beside the poller's own, where keepalived's
// single thread wakes once (timerfd + epoll_wait). A timerfd in the
// poller is not a runtime timer, and the raw calls do not wake sysmon:
// the poller's thread is the only one woken.
type fdTimer struct {
	f  *os.File // keeps fd open (f.Fd() would make it blocking)
	fd uintptr
	rc syscall.RawConn
	c  chan time.Time

	mu       sync.Mutex // orders set against the reader's delivery
	gen      uint64     // incremented by each Stop and Reset
	fdArmed  bool       // the timerfd may be armed
	short    *time.Timer
	shortGen uint64 // gen when short was armed
}

// shortTimer is the longest wait left to a runtime timer. Instances
// started together have deadlines microseconds apart: a timerfd for each
// cost a read, a set and a poll per instance (three times the CPU of
// runtime timers at 100 instances), while sysmon, the reason for the
// timerfd, is awake anyway at such short intervals (its polls back off to
// 10 ms only).
const shortTimer = 10 * time.Millisecond

// itimerspec is struct itimerspec of linux/time.h (64-bit time_t).
type itimerspec struct {
	interval syscall.Timespec
	value    syscall.Timespec
}

// newFDTimer returns a stopped timer, or an error where timerfd is not
// available (the Loop then uses a time.Timer).
func newFDTimer() (*fdTimer, error) {
	fd, _, e := syscall.RawSyscall(syscall.SYS_TIMERFD_CREATE, uintptr(clockMonotonic), uintptr(syscall.O_NONBLOCK|syscall.O_CLOEXEC), 0)
	if e != 0 {
		return nil, os.NewSyscallError("timerfd_create", e)
	}
	f := os.NewFile(fd, "vrrpfsm-timer")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("vrrpfsm: timerfd: %w", err)
	}
	t := &fdTimer{f: f, fd: fd, rc: rc, c: make(chan time.Time, 1)}
	go t.read()
	return t, nil
}

const clockMonotonic = 1 // CLOCK_MONOTONIC, the clock of Go's monotonic readings

// read delivers each expiry to c until the descriptor is closed.
func (t *fdTimer) read() {
	var n uint64
	var gen uint64
	for {
		err := t.rc.Read(func(fd uintptr) bool {
			t.mu.Lock()
			gen = t.gen
			t.mu.Unlock()
			_, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&n)), 8)
			return e != syscall.EAGAIN
		})
		if err != nil {
			return // closed
		}
		t.mu.Lock()
		// An expiry read before a Stop or Reset that came since is stale.
		if gen == t.gen {
			t.fdArmed = false
			select {
			case t.c <- time.Now():
			default:
			}
		}
		t.mu.Unlock()
	}
}

func (t *fdTimer) C() <-chan time.Time { return t.c }

// set arms the timer d from now (disarms it with d < 0) and empties c.
func (t *fdTimer) set(d time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	select {
	case <-t.c:
	default:
	}
	was := t.short != nil && t.short.Stop()
	if d >= 0 && d < shortTimer {
		if t.fdArmed {
			was = t.settime(-1) || was
		}
		t.shortGen = t.gen
		if t.short == nil {
			t.short = time.AfterFunc(d, t.fireShort)
		} else {
			t.short.Reset(d)
		}
		return was
	}
	if d < 0 && !t.fdArmed {
		return was
	}
	return t.settime(d) || was
}

// settime arms the timerfd d from now, or disarms it with d < 0; it
// reports whether it was armed. t.mu is held.
func (t *fdTimer) settime(d time.Duration) bool {
	var its, old itimerspec
	if d >= 0 {
		// A zero it_value disarms: expire at once instead.
		its.value = syscall.NsecToTimespec(max(int64(d), 1))
	}
	_, _, e := syscall.RawSyscall6(syscall.SYS_TIMERFD_SETTIME, t.fd, 0,
		uintptr(unsafe.Pointer(&its)), uintptr(unsafe.Pointer(&old)), 0, 0)
	if e != 0 {
		// Only EBADF or EFAULT: not reachable with our own descriptor.
		panic(os.NewSyscallError("timerfd_settime", e))
	}
	t.fdArmed = d >= 0
	return old.value.Sec != 0 || old.value.Nsec != 0
}

// fireShort delivers the expiry of short unless a Stop or Reset came since.
func (t *fdTimer) fireShort() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.shortGen == t.gen {
		select {
		case t.c <- time.Now():
		default:
		}
	}
}

// close stops the timer for good and ends its reader.
func (t *fdTimer) close() {
	t.mu.Lock()
	t.gen++
	if t.short != nil {
		t.short.Stop()
	}
	t.mu.Unlock()
	t.f.Close()
}

func (t *fdTimer) Stop() bool                 { return t.set(-1) }
func (t *fdTimer) Reset(d time.Duration) bool { return t.set(d) }
