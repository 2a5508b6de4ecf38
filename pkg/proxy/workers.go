package proxy

import (
	"net"
	"sync"
)

// workerPool runs a connection handler on goroutines kept between
// connections. A new goroutine starts with a small stack that the runtime
// copies, twice or more, as serve's calls deepen it (runtime.copystack:
// 7% of gproxy's CPU per `Connection: close` request in `make bench`); a
// kept goroutine keeps the stack it grew. Idle workers wait for the next
// accepted connection; past maxIdleWorkers they end, and all end when
// stop closes (the connections they serve go on). Besides new
// connections, workers resume the connections an idle period parked
// without a goroutine (runFunc).
type workerPool struct {
	serve func(net.Conn)
	stop  <-chan struct{}

	mu      sync.Mutex
	idle    []chan workerJob // most recently idle last
	stopped bool
}

// workerJob is a new connection to serve, or else a function to run.
type workerJob struct {
	c  net.Conn
	fn func()
}

// maxIdleWorkers bounds the goroutines kept idle: enough for the
// concurrency of short connections, a few MiB of stacks at most (the
// garbage collector halves the stack of a goroutine idle long enough).
const maxIdleWorkers = 128

func newWorkerPool(serve func(net.Conn), stop <-chan struct{}) *workerPool {
	return &workerPool{serve: serve, stop: stop}
}

// run serves c on an idle worker, or on a new one.
func (p *workerPool) run(c net.Conn) { p.start(workerJob{c: c}) }

// runFunc runs fn on an idle worker, or on a new one. It does not block.
func (p *workerPool) runFunc(fn func()) { p.start(workerJob{fn: fn}) }

func (p *workerPool) start(j workerJob) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		ch := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		ch <- j // buffered: never blocks, the worker takes it
		return
	}
	p.mu.Unlock()
	go p.work(j)
}

// work does j, then the jobs start hands it, until there are enough idle
// workers or the pool stops.
func (p *workerPool) work(j workerJob) {
	var ch chan workerJob
	for {
		if j.fn != nil {
			j.fn()
		} else {
			p.serve(j.c)
		}
		j = workerJob{}
		p.mu.Lock()
		if p.stopped || len(p.idle) >= maxIdleWorkers {
			p.mu.Unlock()
			return
		}
		if ch == nil {
			ch = make(chan workerJob, 1)
		}
		p.idle = append(p.idle, ch)
		p.mu.Unlock()
		select {
		case j = <-ch:
		case <-p.stop:
			p.mu.Lock()
			p.stopped = true
			for i, x := range p.idle {
				if x == ch {
					p.idle = append(p.idle[:i], p.idle[i+1:]...)
					p.mu.Unlock()
					return
				}
			}
			p.mu.Unlock()
			// run took this worker before the stop: its connection
			// is on the way.
			j = <-ch
		}
	}
}

// idleWorkers is the number of workers waiting (tests).
func (p *workerPool) idleWorkers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}
