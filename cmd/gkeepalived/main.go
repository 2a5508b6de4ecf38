// Command gkeepalived is a drop-in replacement for keepalived's VRRP daemon:
// it takes keepalived's command line (-f, -n/--dont-fork, -l, -D, -P, -p,
// -r, -S, -G, -t, -v ...), reads keepalived.conf and runs its VRRP
// instances. Installed as /usr/sbin/keepalived it is driven by Debian's init
// script and systemd unit unchanged.
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
