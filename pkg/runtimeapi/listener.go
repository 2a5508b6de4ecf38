package runtimeapi

import (
	"errors"
	"net"
	"os"
	"sync"

	"github.com/rs/zerolog"
)

// socketFile is what the stats socket and the master CLI share: a UNIX
// socket file served with at most MaxConns sessions at once, closed with
// every session it holds.
type socketFile struct {
	ln   net.Listener
	path string
	file os.FileInfo // the socket file as created, to remove only ours
	log  zerolog.Logger
	what string // "stats socket", "master CLI": for log lines

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newSocketFile(ln net.Listener, path string, file os.FileInfo, log zerolog.Logger, what string) socketFile {
	return socketFile{ln: ln, path: path, file: file, log: log, what: what, conns: map[net.Conn]struct{}{}}
}

// serve accepts in the background and runs session for each client.
func (s *socketFile) serve(session func(net.Conn)) {
	s.wg.Add(1)
	go s.accept(session)
}

func (s *socketFile) accept(session func(net.Conn)) {
	defer s.wg.Done()
	// A slot is taken before accepting: with MaxConns sessions open, the
	// next client stays in the kernel's backlog, as with haproxy.
	slots := make(chan struct{}, MaxConns)
	for {
		slots <- struct{}{}
		c, err := s.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Warn().Err(err).Msg(s.what + " accept")
			}
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			session(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			<-slots
		}()
	}
}

// close stops accepting, closes every connection, removes the socket file
// if it is still ours and waits for the sessions to end.
func (s *socketFile) close() error {
	err := s.ln.Close()
	if fi, serr := os.Stat(s.path); serr == nil && os.SameFile(fi, s.file) {
		_ = os.Remove(s.path)
	}
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}
