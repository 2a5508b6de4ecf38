package proxy

import (
	"bufio"
	"io"
	"sync"
	"sync/atomic"
)

// bufSize is the size of a connection's read and write buffers: haproxy's
// tune.bufsize.
const bufSize = 16384

// Pools of the buffers of `mode http` client connections. A connection
// takes them when a request arrives and gives them back when it goes idle.
var (
	readers  = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bufSize) }}
	writers  = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, bufSize) }}
	copyBufs = sync.Pool{New: func() any { b := make([]byte, 32*1024); return &b }}
	// buffersInUse counts the read and write buffers held by client
	// connections: zero when every connection is idle.
	buffersInUse atomic.Int64
)

func getReader(r io.Reader) *bufio.Reader {
	buffersInUse.Add(1)
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	return br
}

func putReader(br *bufio.Reader) {
	br.Reset(nil)
	readers.Put(br)
	buffersInUse.Add(-1)
}

func getWriter(w io.Writer) *bufio.Writer {
	buffersInUse.Add(1)
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(w)
	return bw
}

func putWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	writers.Put(bw)
	buffersInUse.Add(-1)
}
