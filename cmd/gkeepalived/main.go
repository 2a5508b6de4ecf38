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
	os.Exit(keepalived.Main(os.Args, os.Stdout, os.Stderr))
}
