package keepalived

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
)

var idleSink []byte

// TestIdleGCCollectsWhatIsAllocated: in idle mode (no percent target, a
// memory limit moved after each collection) garbage is still collected,
// the limit following the process; a reload's lowerGC puts the percent
// target back and takes the limit away.
func TestIdleGCCollectsWhatIsAllocated(t *testing.T) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOGC or GOMEMLIMIT set: idle mode is off")
	}
	t.Cleanup(func() {
		lowerGC()
		restoreGC()
	})
	lowerGC()
	restoreGC()
	enterIdleGC()
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Fatalf("percent target %d in idle mode, want off (-1)", p)
	}
	limit := debug.SetMemoryLimit(-1)
	if limit == math.MaxInt64 {
		t.Fatal("no memory limit in idle mode")
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gcs := ms.NumGC
	// 256 MiB of garbage: far past the limit's room.
	for i := 0; i < 256; i++ {
		idleSink = make([]byte, 1<<20)
	}
	idleSink = nil
	runtime.ReadMemStats(&ms)
	if ms.NumGC-gcs < 2 {
		t.Errorf("%d collections for 256 MiB of garbage in idle mode, want several", ms.NumGC-gcs)
	}
	if ms.HeapSys > uint64(limit)+64<<20 {
		t.Errorf("heap %d bytes with a limit of %d: garbage not collected", ms.HeapSys, limit)
	}
	lowerGC()
	if p := debug.SetGCPercent(-1); p != startGCPercent {
		t.Errorf("percent target %d after lowerGC, want %d", p, startGCPercent)
	}
	debug.SetGCPercent(startGCPercent)
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		t.Errorf("memory limit %d after lowerGC, want none", l)
	}
	restoreGC()
	if p := debug.SetGCPercent(-1); p != 100 {
		t.Errorf("percent target %d after restoreGC, want 100", p)
	}
	debug.SetGCPercent(100)
}
