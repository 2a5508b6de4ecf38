// Command gkeepalived is a drop-in replacement for keepalived's VRRP daemon:
// it takes keepalived's command line (-f, -n/--dont-fork, -l, -D, -P, -p,
// -r, -S, -G, -t, -v ...), reads keepalived.conf and runs its VRRP
// instances. Installed as /usr/sbin/keepalived it is driven by Debian's init
// script and systemd unit unchanged.
package main

import (
	"os"

	"hapair/pkg/keepalived"
)

func main() {
	os.Exit(keepalived.Main(os.Args, os.Stdout, os.Stderr))
}
