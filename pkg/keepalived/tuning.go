package keepalived

import (
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/rs/zerolog"

	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/track"
)

// tuning is the VRRP process's own scheduling and memory, as keepalived
// 2.2.7 sets them (lib/process.c set_process_priorities,
// increment_process_priority; lib/scheduler.c thread_fetch):
//
//   - vrrp_no_swap: mlockall(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT);
//   - a timer handled later than min_auto_priority_delay after it expired
//     is logged; with max_auto_priority the process then switches to
//     SCHED_RR at the lowest realtime priority, and raises it by one at
//     each further delay up to max_auto_priority. SCHED_RESET_ON_FORK keeps
//     scripts out of realtime. A Go process has several threads: each gets
//     the policy (sched_setscheduler is per thread on Linux), and the flag
//     goes only on the thread scripts are started from (setScheduler).
//
// keepalived also sets RLIMIT_RTTIME (vrrp_rlimit_rttime, 10 ms) with the
// realtime policy; gkeepalived does not: Go's runtime threads (the garbage
// collector) may run longer than that without a blocking call, and the
// hard limit would kill the VRRP process.
type tuning struct {
	log zerolog.Logger

	mu       sync.Mutex
	max      int           // max_auto_priority; 0: never raise
	minDelay time.Duration // min_auto_priority_delay
	// minLate is minDelay for late's first check, without mu: a timer
	// handled in time (every advert of a master) takes no lock.
	minLate atomic.Int64
	cur     int // current SCHED_RR priority; 0: SCHED_OTHER
	locked  bool
	xcpu    chan os.Signal
}

const (
	schedOther       = 0
	schedRR          = 2
	schedResetOnFork = 0x40000000
	mclOnFault       = 4 // MCL_ONFAULT, Linux 4.4
)

// apply sets what g asks for, after undoing what an earlier configuration
// set (keepalived resets its priorities on reload).
func (t *tuning) apply(g keepalivedcfg.Global) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.resetLocked()
	t.max = max(g.MaxAutoPriority, 0)
	t.minDelay = g.MinAutoPriorityDelay
	if t.minDelay <= 0 {
		t.minDelay = time.Second
	}
	t.minLate.Store(int64(t.minDelay))
	if g.VRRPNoSwap {
		if err := syscall.Mlockall(syscall.MCL_CURRENT | syscall.MCL_FUTURE | mclOnFault); err != nil {
			t.log.Info().Msgf("Unable to lock process in memory - %s", strerror(err))
		} else {
			t.locked = true
		}
	}
}

// reset undoes everything (at stop).
func (t *tuning) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.resetLocked()
}

func (t *tuning) resetLocked() {
	if t.cur != 0 {
		if err := setScheduler(schedOther, 0); err != nil {
			t.log.Warn().Msg("child process: cannot reset realtime scheduling")
		} else {
			t.cur = 0
		}
	}
	if t.locked {
		_ = syscall.Munlockall()
		t.locked = false
	}
}

// late is vrrpfsm.Config.OnLate: a timer ran late by d.
func (t *tuning) late(d time.Duration) {
	if d <= time.Duration(t.minLate.Load()) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if d <= t.minDelay {
		return
	}
	us := d.Microseconds()
	t.log.Info().Msgf("A thread timer expired %d.%06d seconds ago", us/1000000, us%1000000)
	if t.max == 0 || (t.cur != 0 && t.cur >= t.max) {
		return
	}
	next := t.cur + 1 // sched_get_priority_min(SCHED_RR) is 1
	if err := setScheduler(schedRR, next); err != nil {
		t.log.Warn().Msg("child process: cannot raise priority")
	}
	t.cur = next
	if t.xcpu == nil {
		// keepalived's handler for the realtime CPU limit; Go ignores
		// SIGXCPU unless asked for it.
		t.xcpu = make(chan os.Signal, 1)
		signal.Notify(t.xcpu, syscall.SIGXCPU)
		go func(c chan os.Signal, log zerolog.Logger) {
			for range c {
				log.Info().Msg("VRRP process has used too much CPU time, vrrp_rlimit_rttime may need to be increased")
			}
		}(t.xcpu, t.log)
	}
	t.log.Info().Msgf("Set realtime priority %d", t.cur)
}

// setScheduler sets policy and priority on every thread of the process.
// New threads inherit the policy of the thread that creates them, so the
// realtime policy is set without SCHED_RESET_ON_FORK (with it, threads the
// Go runtime starts later would run at SCHED_OTHER, as a machine with more
// CPUs shows), except on the thread scripts are forked from
// (track.LauncherThread), so that scripts still run at the normal policy as
// keepalived's do. Passes repeat until one finds no thread it had not set:
// a thread created during a pass by a thread not yet set is caught by the
// next.
func setScheduler(policy, prio int) error {
	launcher := track.LauncherThread()
	param := struct{ prio int32 }{int32(prio)}
	set := map[int]bool{}
	var first error
	for pass := 0; pass < 10; pass++ {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		fresh := false
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || set[tid] {
				continue
			}
			set[tid], fresh = true, true
			pol := policy
			if tid == launcher && policy != schedOther {
				pol |= schedResetOnFork
			}
			_, _, errno := syscall.Syscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), uintptr(pol), uintptr(unsafe.Pointer(&param)))
			if errno != 0 && errno != syscall.ESRCH && first == nil {
				first = errno
			}
		}
		if !fresh {
			break
		}
	}
	return first
}

// strerror is the C library's text for err ("Operation not permitted").
func strerror(err error) string {
	s := err.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
