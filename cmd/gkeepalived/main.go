// Command gkeepalived is a drop-in replacement for keepalived's VRRP daemon:
// it takes keepalived's command line (-f, -n/--dont-fork, -l, -D, -P, -p,
// -r, -S, -G, -t, -v ...), reads keepalived.conf and runs its VRRP
// instances. Installed as /usr/sbin/keepalived it is driven by Debian's init
// script and systemd unit unchanged.
//
// The runtime does not re-read the CPU affinity and cgroup limit every
// second to adjust GOMAXPROCS (Go 1.25's default): in an idle daemon that
// check was a wake-up, a sched_getaffinity(2) and a pread(2) of the cgroup
// file per second and process, a third of the system calls of a master
// with one instance; keepalived's processes never change their own number
// of threads either.
//
//go:debug updatemaxprocs=0
package main

import (
	"os"
	"runtime"

	"hapair/pkg/keepalived"
)

// No heap profiling: its first sampled allocation makes the runtime set up
// a 1.4 MiB bucket table, resident in both processes for nothing (nobody
// reads a heap profile of the daemon).
func init() { runtime.MemProfileRate = 0 }

func main() {
	// One P unless GOMAXPROCS says otherwise: keepalived runs each of its
	// processes on one thread, and an idle master is woken once per
	// advert. With a P per CPU, each advert's timer woke a second thread
	// (the runtime hands work to an idle P: futex wake-ups), the send's
	// EPOLLOUT woke the thread parked in the poller, and resetting the
	// timer broke that poll again (eventfd write and read): 12 thread
	// wake-ups per advert where keepalived has one. Set in the process,
	// not in the environment, so that scripts do not inherit it.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	os.Exit(keepalived.Main(os.Args, os.Stdout, os.Stderr))
}
