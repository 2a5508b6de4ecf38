package proxy

import (
	"net"
	"runtime"
	"sync"
	"time"
)

// coalescedConn gathers the writes to an HTTP/2 client connection and
// sends them in one system call once the goroutines that are ready to run
// have had their turn: the frames of every stream answered meanwhile
// leave together, as haproxy sends what its streams produced in one
// round of its event loop. Go's HTTP/2 server flushes after each frame
// batch it has queued, which is about two writes per request with many
// streams (27% of the proxy's CPU under h2load, bench/NOTES.md).
//
// A write returns once its bytes are buffered; an error of the system
// call is returned by the next Write (or Close). Writes wait while more
// than coalesceMax bytes are buffered, so a client that does not read
// holds its streams back as the socket would.
type coalescedConn struct {
	net.Conn
	mu        sync.Mutex
	cond      sync.Cond // signalled when a write ends
	buf       []byte    // bytes not written yet
	spare     []byte    // the buffer being written, reused
	scheduled bool      // a flusher goroutine is on its way
	writing   bool      // a system call is under way (flusher or Write)
	err       error     // the first write error
	closed    bool
}

// coalesceMax is what a write buffers at most: beyond it the writer
// sends the bytes itself (then waits while another write is under way).
const coalesceMax = 64 << 10

func newCoalescedConn(c net.Conn) *coalescedConn {
	cc := &coalescedConn{Conn: c}
	cc.cond.L = &cc.mu
	return cc
}

func (c *coalescedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.err == nil && c.writing && len(c.buf) >= coalesceMax {
		c.cond.Wait()
	}
	if c.err == nil && c.closed {
		c.err = net.ErrClosed
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.buf == nil {
		c.buf = getWbuf()
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) >= coalesceMax && !c.writing {
		// Enough for a system call of its own: no wait for the flusher.
		c.writeOut()
	} else if !c.scheduled && !c.writing {
		c.scheduled = true
		go c.flusher()
	}
	if c.err != nil {
		return 0, c.err
	}
	return len(p), nil
}

// writeOut writes the buffer, with c.mu held on entry and on return but
// not during the system call; it leaves nothing buffered unless a write
// failed.
func (c *coalescedConn) writeOut() {
	for len(c.buf) > 0 && c.err == nil {
		out := c.buf
		c.buf = c.spare[:0]
		if c.buf == nil {
			c.buf = getWbuf()
		}
		c.writing = true
		c.mu.Unlock()
		_, err := c.Conn.Write(out)
		c.mu.Lock()
		c.writing = false
		c.spare = out[:0]
		if err != nil && c.err == nil {
			c.err = err
		}
		c.cond.Broadcast()
	}
	if len(c.buf) == 0 && !c.writing {
		// Nothing waits: an idle connection keeps no buffer.
		putWbuf(c.buf)
		putWbuf(c.spare)
		c.buf, c.spare = nil, nil
	}
}

// wbufs are the coalescedConns' buffers while they have bytes to send.
var wbufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func getWbuf() []byte { return (*wbufs.Get().(*[]byte))[:0] }

func putWbuf(b []byte) {
	if b != nil && cap(b) <= coalesceMax*2 {
		b = b[:0]
		wbufs.Put(&b)
	}
}

// flusher writes what was buffered until nothing is left.
func (c *coalescedConn) flusher() {
	// Let the goroutines that are runnable now (other streams answering)
	// add their frames first.
	runtime.Gosched()
	c.mu.Lock()
	c.scheduled = false
	if !c.writing {
		c.writeOut()
	}
	c.mu.Unlock()
}

// flush waits until every buffered byte was written (or failed).
func (c *coalescedConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.writing && c.err == nil {
		c.cond.Wait()
	}
	c.writeOut()
	return c.err
}

// Close sends what is buffered, then closes the connection; a client
// that reads nothing holds it one second at most (as Go's server bounds
// its GOAWAY).
func (c *coalescedConn) Close() error {
	c.mu.Lock()
	pending := c.writing || len(c.buf) > 0
	c.closed = true
	c.mu.Unlock()
	if pending {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
		_ = c.flush()
	}
	return c.Conn.Close()
}
