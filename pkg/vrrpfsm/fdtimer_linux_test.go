package vrrpfsm

import (
	"testing"
	"time"
)

// The Loop's timerfd timer keeps time.Timer's contract: it fires once
// after Reset, and Stop or Reset leave no stale expiry in C.
func TestFDTimer(t *testing.T) {
	tm, err := newFDTimer()
	if err != nil {
		t.Fatal(err)
	}
	if tm.Stop() {
		t.Error("Stop of a new timer reported it armed")
	}
	tm.Reset(time.Millisecond)
	select {
	case <-tm.C():
	case <-time.After(30 * time.Second):
		t.Fatal("armed timer did not fire within 30 s")
	}
	// Expired and maybe delivered: Reset must drop that expiry.
	tm.Reset(time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	if tm.Reset(time.Hour) {
		t.Error("Reset of an expired timer reported it armed")
	}
	select {
	case <-tm.C():
		t.Fatal("stale expiry in C after Reset")
	case <-time.After(100 * time.Millisecond):
	}
	if !tm.Stop() {
		t.Error("Stop of an armed timer reported it stopped")
	}
	if tm.Stop() {
		t.Error("second Stop reported the timer armed")
	}
	tm.Reset(0) // expires at once
	select {
	case <-tm.C():
	case <-time.After(30 * time.Second):
		t.Fatal("Reset(0) did not fire within 30 s")
	}
	// Past shortTimer the timerfd times it, and a short Reset replaces it.
	tm.Reset(shortTimer + time.Millisecond)
	select {
	case <-tm.C():
	case <-time.After(30 * time.Second):
		t.Fatal("timerfd-timed timer did not fire within 30 s")
	}
	tm.Reset(time.Hour)
	tm.Reset(time.Millisecond)
	select {
	case <-tm.C():
	case <-time.After(30 * time.Second):
		t.Fatal("short Reset of a long timer did not fire within 30 s")
	}
	tm.Reset(time.Millisecond)
	tm.Reset(2 * shortTimer)
	tm.Stop()
	select {
	case <-tm.C():
		t.Fatal("expiry in C after Stop")
	case <-time.After(3 * shortTimer):
	}
}

// A loop of Run's own closes its timerfd when its instance stops: no
// descriptor nor reader goroutine left per Run.
func TestLoopClosesFDTimer(t *testing.T) {
	l := NewLoop(nil)
	l.run() // no instance: returns at once, as after the last one stopped
	if l.timer != nil {
		t.Fatalf("loop kept its timer %T after its goroutine ended", l.timer)
	}
	tm, err := newFDTimer()
	if err != nil {
		t.Fatal(err)
	}
	tm.close()
	if _, err := tm.f.Stat(); err == nil {
		t.Error("timerfd still open after close")
	}
}
