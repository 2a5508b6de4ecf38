package track

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// Scripts are started from one OS thread kept for that (the launcher), as
// keepalived, a single-threaded program, starts them from its only thread:
//
//   - the VRRP process may run at a realtime priority (max_auto_priority).
//     keepalived then sets SCHED_RESET_ON_FORK so that scripts run at the
//     normal policy. In a Go process that flag on every thread would also
//     reset the threads the runtime creates later (clone resets them too),
//     leaving some of the process at SCHED_OTHER. So the process's threads
//     get SCHED_RR without the flag (new threads inherit it), and only the
//     launcher gets SCHED_RR|SCHED_RESET_ON_FORK: what it forks runs at the
//     normal policy. See LauncherThread.
//   - PR_SET_PDEATHSIG fires when the thread that forked the child exits;
//     the launcher thread lives as long as the process.
//
// A goroutine locked to its thread never lets the runtime start new threads
// from it (they come from the runtime's template thread), so the flag does
// not spread.
var launcher struct {
	once sync.Once
	tid  int
	reqs chan launchReq
}

type launchReq struct {
	cmd *exec.Cmd
	err chan error
}

func startLauncher() {
	launcher.reqs = make(chan launchReq)
	ready := make(chan int)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread stays the launcher
		ready <- syscall.Gettid()
		for r := range launcher.reqs {
			r.err <- r.cmd.Start()
		}
	}()
	launcher.tid = <-ready
}

// LauncherThread returns the thread ID of the OS thread scripts are
// started from, starting it if needed. Whoever changes the process's
// scheduling policy gives that thread SCHED_RESET_ON_FORK.
func LauncherThread() int {
	launcher.once.Do(startLauncher)
	return launcher.tid
}

// StartCmd starts cmd from the launcher thread (exec.Cmd.Start there).
func StartCmd(cmd *exec.Cmd) error {
	launcher.once.Do(startLauncher)
	r := launchReq{cmd: cmd, err: make(chan error, 1)}
	launcher.reqs <- r
	return <-r.err
}
