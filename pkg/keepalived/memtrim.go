package keepalived

import (
	"runtime/debug"
	"sync"
	"time"
)

// trimDelay is how long after a start or reload the VRRP process returns
// its start-up garbage to the kernel: past the transitions and the delayed
// gratuitous ARP burst (garp_master_delay, 5 s by default). Go's background
// scavenger would give it back over minutes; netlink replies and log lines
// at start leave several MiB free but resident with 100 instances, and the
// goroutine stacks that grew on them shrink only at a collection.
const trimDelay = 12 * time.Second

// startGCPercent is the collector's target while a configuration is read
// and applied: start-up garbage (parsing, netlink replies, the log lines
// of every instance) is collected and its room reused four times as often
// as with Go's default, so the instances' long-lived objects are packed
// into fewer pages instead of being scattered among pages of garbage that
// stay resident once it is freed. Measured at 1,000 instances: heap in use
// 10.5 -> 8.4 MiB, the collector's own metadata 3.0 -> 0.3 MiB. It costs
// collections at start-up only: an idle daemon allocates nothing (a
// master's adverts reuse their buffers).
const startGCPercent = 25

var gcTune struct {
	sync.Mutex
	saved int  // the percent to restore (GOGC, or 100)
	low   bool // startGCPercent is in force
}

// lowerGC sets startGCPercent until restoreGC, unless GOGC turned the
// collector off or asks for less.
func lowerGC() {
	gcTune.Lock()
	defer gcTune.Unlock()
	if gcTune.low {
		return
	}
	old := debug.SetGCPercent(startGCPercent)
	if old < 0 || old <= startGCPercent {
		debug.SetGCPercent(old)
		return
	}
	gcTune.saved, gcTune.low = old, true
}

// restoreGC puts back the percent lowerGC replaced.
func restoreGC() {
	gcTune.Lock()
	defer gcTune.Unlock()
	if gcTune.low {
		debug.SetGCPercent(gcTune.saved)
		gcTune.low = false
	}
}

// scheduleTrim (re)arms the trim after a start or reload, with the
// collector's start-up target until then; d.mu is held.
func (d *Daemon) scheduleTrim() {
	lowerGC()
	d.armTrim()
}

// armTrim (re)arms the trim: at start, at reload and when an instance
// becomes MASTER, whose gratuitous ARP goroutines end garp_master_delay
// later (with 1,000 instances the transitions end seconds after the
// start: stacks freed after the trim stayed resident, no collection
// running in an idle daemon to return them).
func (d *Daemon) armTrim() {
	d.trimMu.Lock()
	defer d.trimMu.Unlock()
	if d.trimEnd {
		return
	}
	if d.trim == nil {
		d.trim = time.AfterFunc(trimDelay, releaseMemory)
		return
	}
	d.trim.Reset(trimDelay)
}

// releaseMemory collects and returns every free page, whatever the amount,
// ends the start-up's collector target (lowerGC) and drops the start-up's code pages (dropCode); each
// collection halves the stacks that use under a quarter of their size, so
// three are run. The code pages are dropped last: a collection reads the
// function tables (pclntab, in the read-only data) of every frame it scans,
// so collections after the drop faulted ~2.5 MiB of them back per process.
func releaseMemory() {
	for i := 0; i < 3; i++ {
		debug.FreeOSMemory()
	}
	restoreGC()
	dropCode()
}
