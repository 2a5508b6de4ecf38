// Command gproxy is a drop-in replacement for haproxy: it takes haproxy's
// command line (-f, -c, -D, -W, -Ws, -p, -sf, -st, -q, -v ...), reads
// haproxy.cfg and serves its listeners. Installed as /usr/sbin/haproxy it is
// driven by Debian's init script and systemd unit unchanged.
package main

import (
	"os"

	"hapair/pkg/gproxyd"
)

func main() {
	os.Exit(gproxyd.Main(os.Args, os.Stdout, os.Stderr))
}
