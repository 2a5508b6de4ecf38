package garp

import (
	"container/heap"
	"sync"
	"time"
)

// Timers is the system clock with one timer for every AfterFunc call: the
// functions due run one after the other on the goroutine of that timer. A
// time.AfterFunc per call started a goroutine per expiry, and the delayed
// bursts of 1,000 instances that became MASTER together expire together:
// hundreds of goroutines at once, whose descriptors the runtime keeps for
// the process's life. Its zero value is ready; share one per daemon.
type Timers struct {
	mu    sync.Mutex
	h     timerHeap
	t     *time.Timer
	armed time.Time // when t fires, zero if stopped
}

type timerEntry struct {
	at  time.Time
	f   func()
	idx int // in h, -1 once run or stopped
}

// Now returns time.Now().
func (*Timers) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (*Timers) After(d time.Duration) <-chan time.Time { return time.After(d) }

// AfterFunc calls f once d has passed, from the goroutine of Timers'
// timer; stop cancels it if it has not started.
func (w *Timers) AfterFunc(d time.Duration, f func()) (stop func() bool) {
	e := &timerEntry{at: time.Now().Add(d), f: f}
	w.mu.Lock()
	heap.Push(&w.h, e)
	w.rearm()
	w.mu.Unlock()
	return func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		if e.idx < 0 {
			return false
		}
		heap.Remove(&w.h, e.idx)
		e.f = nil
		w.rearm()
		return true
	}
}

// rearm points the timer at the earliest entry; w.mu is held.
func (w *Timers) rearm() {
	if len(w.h) == 0 {
		if w.t != nil && !w.armed.IsZero() {
			w.t.Stop()
			w.armed = time.Time{}
		}
		return
	}
	next := w.h[0].at
	if !w.armed.IsZero() && w.armed.Equal(next) {
		return
	}
	d := time.Until(next)
	if w.t == nil {
		w.t = time.AfterFunc(d, w.fire)
	} else {
		w.t.Reset(d)
	}
	w.armed = next
}

// fire runs the entries that are due.
func (w *Timers) fire() {
	for {
		w.mu.Lock()
		w.armed = time.Time{}
		if len(w.h) == 0 || w.h[0].at.After(time.Now()) {
			w.rearm()
			w.mu.Unlock()
			return
		}
		e := heap.Pop(&w.h).(*timerEntry)
		f := e.f
		e.f = nil
		w.mu.Unlock()
		f()
	}
}

// timerHeap orders the entries by time.
type timerHeap []*timerEntry

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}
func (h *timerHeap) Push(x any) {
	e := x.(*timerEntry)
	e.idx = len(*h)
	*h = append(*h, e)
}
func (h *timerHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.idx = -1
	return e
}
