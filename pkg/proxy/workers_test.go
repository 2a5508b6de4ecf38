package proxy

import (
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestWorkerPoolReusesAndStops checks that a worker serves the next
// connection after its first (no new goroutine per connection), that
// every connection handed over is served, also around a stop, and that
// idle workers end on stop.
func TestWorkerPoolReusesAndStops(t *testing.T) {
	stop := make(chan struct{})
	var mu sync.Mutex
	served := map[net.Conn]int{}
	gids := map[int64]bool{}
	release := make(chan struct{})
	var wg sync.WaitGroup
	p := newWorkerPool(func(c net.Conn) {
		defer wg.Done()
		<-release
		mu.Lock()
		served[c]++
		gids[curGoroutineID()] = true
		mu.Unlock()
	}, stop)
	conns := make([]net.Conn, 6)
	for i := range conns {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		conns[i] = a
	}
	// One at a time: a single worker serves all of them.
	close(release)
	for _, c := range conns[:3] {
		wg.Add(1)
		p.run(c)
		wg.Wait()
		eventually(t, "one idle worker", func() bool { return p.idleWorkers() == 1 })
	}
	if len(gids) != 1 {
		t.Errorf("3 connections one after the other served by %d goroutines, want 1", len(gids))
	}
	// Three at once on an idle pool of one: two new workers.
	release = make(chan struct{})
	for _, c := range conns[3:] {
		wg.Add(1)
		p.run(c)
	}
	close(release)
	wg.Wait()
	eventually(t, "three idle workers", func() bool { return p.idleWorkers() == 3 })
	for _, c := range conns {
		if served[c] != 1 {
			t.Errorf("connection served %d times, want 1", served[c])
		}
	}
	close(stop)
	eventually(t, "no idle worker", func() bool { return p.idleWorkers() == 0 })
	// After the stop a connection is still served (by a new goroutine),
	// and its worker does not stay.
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	wg.Add(1)
	p.run(a)
	wg.Wait()
	// stopped is set: the worker cannot go idle, whenever it looks.
	if n := p.idleWorkers(); n != 0 {
		t.Errorf("%d idle workers after the stop, want 0", n)
	}
	if served[a] != 1 {
		t.Errorf("connection after the stop served %d times, want 1", served[a])
	}
}

// curGoroutineID is the running goroutine's id, from its stack header.
func curGoroutineID() int64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	f := strings.Fields(strings.TrimPrefix(string(buf[:n]), "goroutine "))
	id, _ := strconv.ParseInt(f[0], 10, 64)
	return id
}
