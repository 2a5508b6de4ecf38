package keepalived

import (
	"runtime"
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
		d.trim = time.AfterFunc(trimDelay, trimMemory)
		return
	}
	d.trim.Reset(trimDelay)
}

// trimMinIdle is the free but resident heap worth a trim: below it, the
// collections would cost more memory (their own bookkeeping, first used
// then) than they give back.
const trimMinIdle = 2 << 20

// trimMemory collects and releases free memory when enough of it is held;
// each collection halves the stacks that use under a quarter of their
// size, so three are run.
func trimMemory() {
	dropCode()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if m.HeapIdle-m.HeapReleased < trimMinIdle {
		return
	}
	for i := 0; i < 3; i++ {
		debug.FreeOSMemory()
	}
}

// releaseMemory collects and returns every free page at once: the parent
// process, which only waits once the VRRP process runs, whatever the amount.
func releaseMemory() {
	dropCode()
	for i := 0; i < 3; i++ {
		debug.FreeOSMemory()
	}
}
