package keepalived

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hapair/pkg/track"
)

// threadPolicies returns the scheduling policy of each thread of this
// process (field 41 of /proc/self/task/TID/stat).
func threadPolicies(t *testing.T) map[int]int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]int{}
	for _, e := range ents {
		b, err := os.ReadFile("/proc/self/task/" + e.Name() + "/stat")
		if err != nil {
			continue // exited
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		pol, err := strconv.Atoi(f[41-3])
		if err != nil {
			t.Fatalf("stat of thread %s: %q", e.Name(), b)
		}
		tid, _ := strconv.Atoi(e.Name())
		got[tid] = pol
	}
	return got
}

// TestRealtimeReachesNewThreads: once max_auto_priority raised the VRRP
// process to SCHED_RR, the threads the Go runtime starts afterwards run
// SCHED_RR too (keepalived's single thread is all SCHED_RR; ps showed "RR 1
// TS -" for gkeepalived on a machine where the runtime started threads
// later), while scripts still start at SCHED_OTHER.
func TestRealtimeReachesNewThreads(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: sched_setscheduler(SCHED_RR)")
	}
	if err := setScheduler(schedRR, 1); err != nil {
		t.Fatalf("setScheduler: %v", err)
	}
	t.Cleanup(func() { _ = setScheduler(schedOther, 0) })
	before := len(threadPolicies(t))

	// Goroutines blocked in read(2) hold their threads: the runtime starts
	// new ones for the rest.
	const n = 8
	var fds [n][2]int
	done := make(chan struct{}, n)
	for i := range fds {
		if err := syscall.Pipe(fds[i][:]); err != nil {
			t.Fatal(err)
		}
		go func(fd int) {
			var b [1]byte
			_, _ = syscall.Read(fd, b[:])
			done <- struct{}{}
		}(fds[i][0])
	}
	var pols map[int]int
	for i := 0; i < 1000; i++ {
		pols = threadPolicies(t)
		if len(pols) >= before+n {
			break
		}
		runtimeYield()
	}
	for i := range fds {
		syscall.Write(fds[i][1], []byte{0})
	}
	for range n {
		<-done
	}
	for i := range fds {
		syscall.Close(fds[i][0])
		syscall.Close(fds[i][1])
	}
	if len(pols) <= before {
		t.Fatalf("no thread started: %d threads before, %d with %d goroutines in read(2)", before, len(pols), n)
	}
	for tid, pol := range pols {
		if pol != schedRR {
			t.Errorf("thread %d (of %d, %d before) has policy %d, want SCHED_RR (%d)", tid, len(pols), before, pol, schedRR)
		}
	}

	var out bytes.Buffer
	cmd := exec.Command("sh", "-c", "chrt -p $$")
	cmd.Stdout = &out
	if err := track.StartCmd(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("chrt: %v", err)
	}
	if !strings.Contains(out.String(), "SCHED_OTHER") {
		t.Errorf("a script started while realtime: %q, want SCHED_OTHER", out.String())
	}
}

func runtimeYield() { runtime.Gosched(); time.Sleep(time.Millisecond) }
