package keepalived

import (
	"runtime/debug"
	"time"
)

// trimDelay is how long after a start or reload the VRRP process returns
// its start-up garbage to the kernel: past the transitions and the delayed
// gratuitous ARP burst (garp_master_delay, 5 s by default). Go's background
// scavenger would give it back over minutes; netlink replies and log lines
// at start leave several MiB free but resident with 100 instances, and the
// goroutine stacks that grew on them shrink only at a collection.
const trimDelay = 12 * time.Second

// scheduleTrim (re)arms the trim; d.mu is held.
func (d *Daemon) scheduleTrim() {
	if d.trim == nil {
		d.trim = time.AfterFunc(trimDelay, releaseMemory)
		return
	}
	d.trim.Reset(trimDelay)
}

// releaseMemory collects and returns every free page, whatever the amount,
// and drops the start-up's code pages (dropCode); each
// collection halves the stacks that use under a quarter of their size, so
// three are run.
func releaseMemory() {
	dropCode()
	for i := 0; i < 3; i++ {
		debug.FreeOSMemory()
	}
}
