package proxy

// Descriptors, for sizing the open-file limit. A mode tcp session holds its
// two sockets (FDsPerConn); a direction moving a bulk transfer also holds a
// splice pipe (FDsPerPipe) while data flows. An idle session holds no pipe.
// The engine splices at most MaxPipes(global maxconn) directions at once;
// the others copy through buffers meanwhile, so the process needs at most
// FDsPerConn*maxconn + FDsPerPipe*MaxPipes(maxconn) descriptors for
// its sessions.
const (
	FDsPerConn = 2
	FDsPerPipe = 2
)

// MaxPipes is the number of splice pipes the engine uses at most for a
// global maxconn: maxconn/4, haproxy 2.6's default `maxpipes`
// (configuration manual, 3.2), which haproxy also counts in its open-file
// need. maxconn 0 (no limit) gives -1: no limit either.
func MaxPipes(maxconn int) int {
	if maxconn <= 0 {
		return -1
	}
	return maxconn / 4
}

// takePipe reserves one of the engine's splice pipes; false when all are
// in use.
func (e *Engine) takePipe() bool {
	if e.maxPipes < 0 {
		return true
	}
	if e.pipes.Add(1) > e.maxPipes {
		e.pipes.Add(-1)
		return false
	}
	return true
}

// putPipe returns a pipe reserved by takePipe.
func (e *Engine) putPipe() {
	if e.maxPipes >= 0 {
		e.pipes.Add(-1)
	}
}
