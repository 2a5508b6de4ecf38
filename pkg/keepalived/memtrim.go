package keepalived

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
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
	idle  bool // enterIdleGC's mode is in force
	gen   int  // counts the idle modes entered: a sentinel of an older one ends
}

// lowerGC sets startGCPercent until restoreGC, unless GOGC turned the
// collector off or asks for less. It ends the idle mode (enterIdleGC).
func lowerGC() {
	gcTune.Lock()
	defer gcTune.Unlock()
	leaveIdleGCLocked()
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
	enterIdleGC()
	dropCode()
}

// idleRoom is the least growth enterIdleGC's limit allows before a
// collection.
const idleRoom = 4 << 20

// enterIdleGC turns the collector's percent target off, with a memory
// limit in its place that lets the process grow by its live heap (the
// room of GOGC=100, at least idleRoom) before a collection; after each
// collection the limit moves to what the process then uses plus that
// room (a finalizer runs after each one). Memory is thus collected as
// before when it is allocated (a reload goes back to the percent target:
// lowerGC), but an idle daemon, which allocates nothing, is no longer
// collected every two minutes: Go forces a collection when none ran for
// two minutes unless the percent target is off. That forced collection
// cost, per process and two minutes, about as much CPU as 25 adverts
// (one instance, 120 s: parent 4.4 -> 0.5 ms, VRRP process 23.7 -> 20.5
// ms with GOGC=off), and each collection faulted back code pages that
// dropCode had returned. Not when GOGC or GOMEMLIMIT is set: the user's
// settings stay in force.
func enterIdleGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	gcTune.Lock()
	defer gcTune.Unlock()
	if gcTune.low || gcTune.idle {
		return
	}
	old := debug.SetGCPercent(-1)
	if old < 0 {
		debug.SetGCPercent(old)
		return
	}
	gcTune.saved = old
	gcTune.idle = true
	gcTune.gen++
	setIdleLimitLocked()
	armIdleSentinel(gcTune.gen)
}

// leaveIdleGCLocked puts the percent target back, without a limit; gcTune
// is held.
func leaveIdleGCLocked() {
	if !gcTune.idle {
		return
	}
	debug.SetGCPercent(gcTune.saved)
	debug.SetMemoryLimit(math.MaxInt64)
	gcTune.idle = false
	gcTune.gen++
}

// setIdleLimitLocked sets the limit: what the process uses outside the
// heap's objects and free pages (as the runtime counts it for the limit),
// plus the live heap and the room, i.e. GOGC=100's heap goal. Objects and
// free pages are not counted in: garbage allocated since the collection,
// before this runs, would ratchet the limit up; the free pages past it are
// what the scavenger returns. gcTune is held.
func setIdleLimitLocked() {
	s := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	metrics.Read(s)
	for _, x := range s {
		if x.Value.Kind() != metrics.KindUint64 {
			// Not reachable with this runtime; without the
			// figures, no limit: back to the percent target.
			debug.SetGCPercent(gcTune.saved)
			debug.SetMemoryLimit(math.MaxInt64)
			gcTune.idle = false
			return
		}
	}
	v := func(i int) uint64 { return s[i].Value.Uint64() }
	other := v(0) - v(1) - v(2) - v(3)
	live := v(4)
	debug.SetMemoryLimit(int64(other + live + max(live, idleRoom)))
}

// idleSentinel is garbage whose finalizer runs after the collection that
// found it; it holds a pointer so that it is not one of the tiny
// allocations, which are finalized only with their neighbours.
type idleSentinel struct{ _ *int }

// armIdleSentinel makes the next collection of idle mode gen set the next
// limit.
func armIdleSentinel(gen int) {
	runtime.SetFinalizer(new(idleSentinel), func(*idleSentinel) {
		gcTune.Lock()
		defer gcTune.Unlock()
		if !gcTune.idle || gcTune.gen != gen {
			return
		}
		setIdleLimitLocked()
		armIdleSentinel(gen)
	})
}
