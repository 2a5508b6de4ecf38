package vrrpfsm

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Loop runs the state machines of many instances on one goroutine with one
// timer, as keepalived's VRRP process runs every instance from its single
// thread (vrrp_scheduler.c: one read thread per socket, timed by the
// instance with the nearest sands). An instance costs its state and its
// queue, not a goroutine: with a goroutine each, 1,000 instances held
// ~10 MiB of stacks that the netlink and logging calls of a transition had
// grown.
//
// Everything an instance does (its transitions, Effects, Sender, the sync
// group's orders) runs on the loop's goroutine, one event at a time, so a
// slow Effects call delays the other instances, as in keepalived. The
// goroutine runs while at least one instance does, and is started again by
// the next Start.
type Loop struct {
	clk Clock

	mu      sync.Mutex // guards ready, running, count, parked, held, pending
	ready   []*Instance
	held    int         // Hold calls not released
	pending []*Instance // launched while held: started at the release
	running bool
	count   int     // instances started and not stopped
	parked  *fdWait // the goroutine waits on it, to be woken by the next schedule
	wake    chan struct{}

	// Owned by the loop's goroutine.
	// now is the time of the pass over what is due, keepalived's
	// time_now (set once per pass by its thread scheduler): the instances
	// handled in one pass time their next deadline from it, so that
	// instances due together stay due together and wake the loop once,
	// as keepalived's one read timeout per socket does. With a clock
	// reading of its own, each instance's deadline fell later by the
	// handling of those before it, and 1,000 masters drifted apart into
	// as many wake-ups a second as instances.
	now      time.Time
	timers   timerHeap
	timer    Timer
	deadline time.Time // of timer, when timerSet
	timerSet bool
}

// NewLoop returns a loop timing its instances with clk (nil: the system
// clock). Every instance started on it must use the same clock.
func NewLoop(clk Clock) *Loop {
	if clk == nil {
		clk = SystemClock()
	}
	return &Loop{clk: clk, wake: make(chan struct{}, 1)}
}

// Start runs in on the loop until ctx is done, as Run does on a loop of
// its own, and returns at once. stopped, if not nil, is called from a new
// goroutine once the instance stopped (its Done is closed then).
func (l *Loop) Start(ctx context.Context, in *Instance, stopped func()) error {
	stop, err := l.Launch(ctx, in, stopped)
	if err != nil {
		return err
	}
	// Stopping is an event like the others: no goroutine waits for ctx.
	context.AfterFunc(ctx, stop)
	return nil
}

// Launch is Start without watching ctx: the instance runs until stop is
// called (ctx is still the one its Effects receive). A caller that stops
// its instances itself saves what watching a context of its own costs:
// the context's children map and Done channel and the AfterFunc's
// context, ~0.4 KiB per instance.
func (l *Loop) Launch(ctx context.Context, in *Instance, stopped func()) (stop func(), err error) {
	first := false
	in.runOnce.Do(func() { first = true })
	if !first {
		return nil, ErrRunning
	}
	in.qmu.Lock()
	in.loop = l
	in.stopped = stopped
	in.qmu.Unlock()
	in.ctx = ctx
	l.mu.Lock()
	l.count++
	in.starting = true
	in.inReady = true // also while pending: a schedule adds nothing
	if l.held > 0 {
		l.pending = append(l.pending, in)
	} else {
		l.ready = append(l.ready, in)
	}
	if !l.running {
		l.running = true
		go l.run()
	}
	w := l.unpark()
	l.mu.Unlock()
	l.signal(w)
	return in.requestStop, nil
}

// Hold defers the start of the instances launched until release is
// called (once; later calls do nothing): then they all start in one pass
// of the loop, from one reading of the clock, as keepalived's
// vrrp_init_state starts every instance from one time_now. Instances
// started together thus time their master-down timers, and once MASTER
// their adverts, from the same instant and wake the loop once for all
// (see Loop.now); launched one pass each, they kept the spread of the
// launches. The instances already running are not held.
func (l *Loop) Hold() (release func()) {
	l.mu.Lock()
	l.held++
	l.mu.Unlock()
	return sync.OnceFunc(func() {
		l.mu.Lock()
		l.held--
		if l.held == 0 {
			l.ready = append(l.ready, l.pending...)
			l.pending = nil
		}
		w := l.unpark()
		l.mu.Unlock()
		l.signal(w)
	})
}

// requestStop asks the loop to stop in (its Start's context is done).
func (in *Instance) requestStop() {
	in.qmu.Lock()
	in.stopReq = true
	l := in.loop
	in.qmu.Unlock()
	l.schedule(in)
}

// unpark returns the wait the loop's goroutine is parked on, if it is,
// for signal to end it; mu is held.
func (l *Loop) unpark() *fdWait {
	w := l.parked
	l.parked = nil
	return w
}

// signal wakes the loop's goroutine: w is what unpark returned.
func (l *Loop) signal(w *fdWait) {
	if w != nil {
		w.wake()
		return
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// schedule marks in as having something to handle.
func (l *Loop) schedule(in *Instance) {
	l.mu.Lock()
	if !in.inReady {
		in.inReady = true
		l.ready = append(l.ready, in)
	}
	w := l.unpark()
	l.mu.Unlock()
	l.signal(w)
}

func (l *Loop) run() {
	if _, sys := l.clk.(systemClock); sys {
		if w, err := newFDWait(); err == nil {
			l.runFD(w)
			return
		}
	}
	if l.timer == nil {
		l.timer = l.clk.NewTimer(time.Hour)
		l.timer.Stop()
	}
	for {
		if l.turn(false) {
			return
		}
		var tc <-chan time.Time
		if l.timerSet {
			tc = l.timer.C()
		}
		select {
		case <-l.wake:
		case <-tc:
			l.timerSet = false
		}
	}
}

// turn handles what is due and reports whether the goroutine ends (no
// instance left). fired says the timer expired. Otherwise, with an fdWait
// as the timer, the goroutine is parked on it from now on as far as
// schedule knows: the wait is set before mu is taken here, so a schedule
// that sees it parked wakes it after that.
func (l *Loop) turn(fired bool) bool {
	l.mu.Lock()
	l.parked = nil
	l.mu.Unlock()
	if l.timerSet && (fired || !l.deadline.After(l.clk.Now())) {
		l.timerSet = false
	}
	for {
		l.process()
		l.mu.Lock()
		if len(l.ready) > 0 {
			l.mu.Unlock()
			continue
		}
		if l.count == 0 {
			// Under mu: the next Start's goroutine makes its own wait
			// or owns the timer.
			l.timer.Stop()
			if _, ok := l.timer.(*fdWait); ok {
				// Its descriptor goes with the goroutine: a loop of
				// Run's own is not used again.
				l.timer = nil
			}
			l.timerSet = false
			l.running = false
			l.mu.Unlock()
			return true
		}
		if w, ok := l.timer.(*fdWait); ok {
			l.parked = w
		}
		l.mu.Unlock()
		return false
	}
}

// process handles the expired timers and the instances with queued work
// until there is none left.
func (l *Loop) process() {
	for {
		did := false
		now := l.clk.Now()
		l.now = now
		for len(l.timers) > 0 && !l.timers[0].sands.After(now) {
			in := l.timers[0]
			in.drain()
			did = true
		}
		l.mu.Lock()
		r := l.ready
		l.ready = nil
		for _, in := range r {
			in.inReady = false
		}
		l.mu.Unlock()
		for _, in := range r {
			in.drain()
			did = true
		}
		if !did {
			break
		}
	}
	l.rearm()
}

// rearm points the loop's timer at the nearest deadline.
func (l *Loop) rearm() {
	if len(l.timers) == 0 {
		if l.timerSet {
			l.timer.Stop()
			l.timerSet = false
		}
		return
	}
	next := l.timers[0].sands
	if l.timerSet && next.Equal(l.deadline) {
		return
	}
	// Reset alone: a Timer's Reset leaves no stale value in C (one
	// system call per advert less on the timerfd).
	d := next.Sub(l.clk.Now())
	if d < 0 {
		d = 0
	}
	l.timer.Reset(d)
	l.deadline, l.timerSet = next, true
}

// setTimer (re)places in's deadline in the heap; off removes it.
func (l *Loop) setTimer(in *Instance, on bool) {
	switch {
	case on && in.heapIdx >= 0:
		heap.Fix(&l.timers, in.heapIdx)
	case on:
		heap.Push(&l.timers, in)
	case in.heapIdx >= 0:
		heap.Remove(&l.timers, in.heapIdx)
	}
	l.rearm()
}

func (l *Loop) finished() {
	l.mu.Lock()
	l.count--
	l.mu.Unlock()
}

// timerHeap orders the armed instances by deadline.
type timerHeap []*Instance

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].sands.Before(h[j].sands) }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}
func (h *timerHeap) Push(x any) {
	in := x.(*Instance)
	in.heapIdx = len(*h)
	*h = append(*h, in)
}
func (h *timerHeap) Pop() any {
	old := *h
	in := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	in.heapIdx = -1
	return in
}
