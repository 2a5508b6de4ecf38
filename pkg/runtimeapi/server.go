package runtimeapi

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
)

// DefaultTimeout is haproxy's `stats timeout` when not set.
const DefaultTimeout = 10 * time.Second

// maxLine bounds one command line (haproxy's buffer is 16 kB).
const maxLine = 16384

// Server serves one `stats socket`.
type Server struct {
	cmds    *Commands
	level   Level
	timeout time.Duration
	log     zerolog.Logger
	ln      net.Listener
	path    string
	file    os.FileInfo // the socket file as created, to remove only ours

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// Listen creates the socket file with the configured mode, replacing any
// previous one atomically, and starts serving it.
func Listen(sock haproxycfg.StatsSocket, timeout time.Duration, cmds *Commands, log zerolog.Logger) (*Server, error) {
	level, err := ParseLevel(sock.Level)
	if err != nil {
		return nil, fmt.Errorf("%s: stats socket: %w", sock.Pos, err)
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	// As haproxy does, bind a temporary path and rename it over the
	// socket's: a running process (the old one of a reload) keeps serving
	// until the new socket replaces its file atomically.
	tmp := fmt.Sprintf("%s.%d.tmp", sock.Path, os.Getpid())
	_ = os.Remove(tmp)
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("%s: stats socket %s: %w", sock.Pos, sock.Path, err)
	}
	// The old process of a reload must not unlink the new socket: Close
	// removes the file only if it is still the one created here.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	fail := func(err error) (*Server, error) {
		ln.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("%s: stats socket %s: %w", sock.Pos, sock.Path, err)
	}
	if sock.Mode != 0 {
		if err := os.Chmod(tmp, os.FileMode(sock.Mode)); err != nil {
			return fail(err)
		}
	}
	if err := os.Rename(tmp, sock.Path); err != nil {
		return fail(err)
	}
	fi, err := os.Stat(sock.Path)
	if err != nil {
		return fail(err)
	}
	s := &Server{cmds: cmds, level: level, timeout: timeout, log: log, ln: ln, path: sock.Path, file: fi, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the socket's path.
func (s *Server) Addr() string { return s.path }

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Warn().Err(err).Msg("stats socket accept")
			}
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.Session(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Session serves one connection: without `prompt`, one line of commands
// and the connection closes; in prompt mode, lines until `quit`, each
// answer followed by "> ". Every command's answer ends with an empty line.
// The connection closes after `stats timeout` without input.
func (s *Server) Session(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 4096)
	w := bufio.NewWriter(c)
	interactive := false
	level := s.level
	timeout := s.timeout
	for {
		_ = c.SetReadDeadline(time.Now().Add(timeout))
		line, err := readLine(r)
		if err != nil && line == "" {
			return
		}
		quit := false
		cmds, perr := SplitLine(line)
		if perr != nil {
			fmt.Fprintf(w, "%v\n\n", perr)
			cmds = nil
		}
		if interactive && len(cmds) == 1 && len(cmds[0]) == 0 {
			cmds = nil // an empty line in prompt mode only shows the prompt
		}
		for _, args := range cmds {
			switch {
			case len(args) > 0 && args[0] == "quit":
				quit = true
			case len(args) > 0 && args[0] == "prompt":
				interactive = !interactive
			case len(args) >= 3 && args[0] == "set" && args[1] == "timeout" && args[2] == "cli":
				// hatop sets its session's idle timeout (seconds).
				d, err := parseTimeout(arg(args, 3))
				if err != nil {
					w.WriteString("'set timeout cli' requires a valid delay.\n")
				} else {
					timeout = d
				}
				w.WriteString("\n")
			case len(args) > 0 && args[0] == "user":
				level = LevelUser
				w.WriteString("\n")
			case len(args) > 0 && args[0] == "operator" && level >= LevelOperator:
				level = LevelOperator
				w.WriteString("\n")
			default:
				w.WriteString(s.cmds.Exec(args, level))
				w.WriteString("\n")
			}
			if quit {
				break
			}
		}
		if quit || !interactive {
			_ = w.Flush()
			return
		}
		w.WriteString("> ")
		if w.Flush() != nil || err != nil {
			return
		}
	}
}

// readLine reads up to a newline, refusing lines longer than maxLine.
func readLine(r *bufio.Reader) (string, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxLine {
			return "", fmt.Errorf("runtimeapi: line longer than %d bytes", maxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return string(buf), err
	}
}

// Close stops accepting, closes every connection, removes the socket file
// and waits for the sessions to end.
func (s *Server) Close() error {
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

// parseTimeout reads a delay as haproxy's time format: a number with an
// optional unit (us, ms, s, m, h, d), seconds by default here.
func parseTimeout(v string) (time.Duration, error) {
	if v == "" {
		return 0, errors.New("runtimeapi: empty delay")
	}
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("runtimeapi: bad delay %q", v)
	}
	n, err := strconv.ParseInt(v[:i], 10, 64)
	if err != nil || n > 1<<31 {
		return 0, fmt.Errorf("runtimeapi: bad delay %q", v)
	}
	units := map[string]time.Duration{"": time.Second, "us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}
	u, ok := units[v[i:]]
	if !ok {
		return 0, fmt.Errorf("runtimeapi: bad delay unit in %q", v)
	}
	if n == 0 {
		return 0, fmt.Errorf("runtimeapi: zero delay")
	}
	return time.Duration(n) * u, nil
}
