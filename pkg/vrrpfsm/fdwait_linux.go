package vrrpfsm

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// fdWait is what the Loop's goroutine waits on with the system clock: a
// timerfd(2) in the runtime's poller, on which the goroutine itself parks
// (RawConn.Read), so that an advert costs what keepalived's single thread
// pays (epoll_wait, sendmsg, timerfd_settime) plus the runtime's own
// non-blocking poll: no other goroutine reads the timerfd and hands the
// expiry over, and the timerfd is not read at all (timerfd_settime resets
// its expiry count, and the loop knows its deadline).
//
// Why not a time.Timer: the runtime's sysmon thread, asleep while every P
// is idle, sleeps only until the next runtime timer, and any system call
// made through syscall.Syscall wakes it and resets its back-off to 20 µs
// steps. An idle master's advert timer thus woke sysmon every advert
// interval, and it then polled several times until the loop was idle
// again: 2-6 wake-ups per advert beside the poller's own. A timerfd in the
// poller is not a runtime timer, and the raw calls do not wake sysmon.
//
// Waits under shortTimer, and wake-ups from other goroutines, are the
// descriptor's read deadline: a runtime timer for the first, a deadline in
// the past for the second (the runtime readies the parked goroutine with
// no system call). Either ends the goroutine's Read with
// os.ErrDeadlineExceeded, and it waits again.
type fdWait struct {
	f  *os.File // keeps fd open (f.Fd() would make it blocking)
	fd uintptr
	rc syscall.RawConn

	// Owned by the loop's goroutine.
	armed    bool // the timerfd may be armed
	deadline bool // a read deadline of ours is set
}

// shortTimer is the longest wait left to a runtime timer. Instances
// started together have deadlines microseconds apart: a timerfd for each
// cost a set and a poll per instance (three times the CPU of runtime
// timers at 100 instances), while sysmon, the reason for the timerfd, is
// awake anyway at such short intervals (its polls back off to 10 ms only).
const shortTimer = 10 * time.Millisecond

// itimerspec is struct itimerspec of linux/time.h (64-bit time_t).
type itimerspec struct {
	interval syscall.Timespec
	value    syscall.Timespec
}

const clockMonotonic = 1 // CLOCK_MONOTONIC, the clock of Go's monotonic readings

// newFDWait returns a disarmed wait, or an error where timerfd is not
// available (the Loop then waits on a time.Timer and a channel).
func newFDWait() (*fdWait, error) {
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
	// A descriptor the poller does not take has no read deadline.
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		f.Close()
		return nil, fmt.Errorf("vrrpfsm: timerfd: %w", err)
	}
	return &fdWait{f: f, fd: fd, rc: rc}, nil
}

// C is nil: the loop's goroutine parks on the descriptor, not on a channel.
func (w *fdWait) C() <-chan time.Time { return nil }

// Reset arms the wait d from now. Its result is not used by the Loop.
func (w *fdWait) Reset(d time.Duration) bool {
	if d < shortTimer {
		if w.armed {
			w.settime(-1)
		}
		w.f.SetReadDeadline(time.Now().Add(d))
		w.deadline = true
		return false
	}
	if w.deadline {
		w.f.SetReadDeadline(time.Time{})
		w.deadline = false
	}
	w.settime(d)
	return false
}

// Stop disarms the wait.
func (w *fdWait) Stop() bool {
	if w.deadline {
		w.f.SetReadDeadline(time.Time{})
		w.deadline = false
	}
	if w.armed {
		w.settime(-1)
	}
	return false
}

// settime arms the timerfd d from now, or disarms it with d < 0. Either
// resets its expiry count, so the descriptor is not read.
func (w *fdWait) settime(d time.Duration) {
	var its itimerspec
	if d >= 0 {
		// A zero it_value disarms: expire at once instead.
		its.value = syscall.NsecToTimespec(max(int64(d), 1))
	}
	_, _, e := syscall.RawSyscall6(syscall.SYS_TIMERFD_SETTIME, w.fd, 0,
		uintptr(unsafe.Pointer(&its)), 0, 0, 0)
	if e != 0 {
		// Only EBADF or EFAULT: not reachable with our own descriptor.
		panic(os.NewSyscallError("timerfd_settime", e))
	}
	w.armed = d >= 0
}

// wake ends the wait of the loop's goroutine, from any goroutine.
func (w *fdWait) wake() {
	// A deadline in the past readies the parked reader at once; on a
	// descriptor closed since (the loop ended), there is no one to wake.
	w.f.SetReadDeadline(time.Unix(1, 0))
}

func (w *fdWait) close() { w.f.Close() }

// runFD is the Loop's goroutine on w: it handles what is due, then parks
// on the timerfd until it expires or a wake or short wait ends the read.
func (l *Loop) runFD(w *fdWait) {
	defer w.close()
	l.timer = w
	edge := false // the timerfd expired: the loop's deadline passed
	for {
		done := false
		err := w.rc.Read(func(uintptr) bool {
			done = l.turn(edge)
			edge = true // called again only when the timerfd was ready
			return done
		})
		if done {
			return
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			// Not reachable with our own open descriptor; the wait
			// would otherwise spin.
			panic(fmt.Errorf("vrrpfsm: timerfd wait: %w", err))
		}
		// A short wait ended or another goroutine woke us: the deadline
		// is cleared, and rearm sets what the heap needs now.
		w.f.SetReadDeadline(time.Time{})
		if w.deadline {
			w.deadline = false
			l.timerSet = false
		}
		edge = false
	}
}
