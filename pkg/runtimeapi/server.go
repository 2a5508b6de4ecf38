package runtimeapi

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
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
	sf      socketFile
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
	var ln net.Listener
	var fi os.FileInfo
	if sock.Path != "" {
		ln, fi, err = listenFile(sock)
	} else {
		ln, err = listenAddr(sock)
	}
	if err != nil {
		return nil, err
	}
	s := &Server{cmds: cmds, level: level, timeout: timeout, sf: newSocketFile(ln, sock.Path, fi, log, "stats socket")}
	s.sf.serve(s.Session)
	return s, nil
}

// listenAddr opens a stats socket that is no socket file: an IP address
// and port, an abstract name or an inherited descriptor.
func listenAddr(sock haproxycfg.StatsSocket) (net.Listener, error) {
	var ln net.Listener
	var err error
	var what string
	if sock.TCP != nil {
		what = sock.TCP.Address()
		ln, err = proxy.ListenBind(*sock.TCP)
	} else {
		what = sock.Sock.String()
		ln, err = proxy.ListenSock(haproxycfg.Bind{Sock: sock.Sock})
	}
	if err != nil {
		return nil, fmt.Errorf("%s: stats socket %s: %w", sock.Pos, what, err)
	}
	return ln, nil
}

// listenFile creates a CLI socket file with the configured owner and
// mode, replacing any previous one atomically.
func listenFile(sock haproxycfg.StatsSocket) (*net.UnixListener, os.FileInfo, error) {
	uid, gid, err := socketOwner(sock)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: stats socket %s: %w", sock.Pos, sock.Path, err)
	}
	// As haproxy does, bind a temporary path and rename it over the
	// socket's: a running process (the old one of a reload) keeps serving
	// until the new socket replaces its file atomically.
	tmp := fmt.Sprintf("%s.%d.tmp", sock.Path, os.Getpid())
	_ = os.Remove(tmp)
	ln, err := listenUnix(tmp, MaxConns)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: stats socket %s: %w", sock.Pos, sock.Path, err)
	}
	fail := func(err error) (*net.UnixListener, os.FileInfo, error) {
		ln.Close()
		_ = os.Remove(tmp)
		return nil, nil, fmt.Errorf("%s: stats socket %s: %w", sock.Pos, sock.Path, err)
	}
	// Owner and mode are set before the file takes the socket's name, so
	// that nobody meets it with the wrong ones.
	if uid >= 0 || gid >= 0 {
		if err := os.Lchown(tmp, uid, gid); err != nil {
			return fail(err)
		}
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
	return ln, fi, nil
}

// MaxConns is how many sessions one stats socket serves at a time, as
// haproxy 2.6 (`stats maxconn`, 10 by default). Further clients wait in the
// listen backlog, which is as long, until a session ends.
const MaxConns = 10

// listenUnix binds a Unix stream socket at path with the given backlog
// (Go's net.Listen always asks for the system's maximum).
func listenUnix(path string, backlog int) (*net.UnixListener, error) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		syscall.Close(fd)
		return nil, &net.OpError{Op: "listen", Net: "unix", Addr: &net.UnixAddr{Name: path, Net: "unix"}, Err: os.NewSyscallError("bind", err)}
	}
	if err := syscall.Listen(fd, backlog); err != nil {
		syscall.Close(fd)
		_ = os.Remove(path)
		return nil, os.NewSyscallError("listen", err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		_ = os.Remove(path)
		return nil, err
	}
	// The old process of a reload must not unlink the new socket: Close
	// removes the file only if it is still the one created here.
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false)
	return ul, nil
}

// socketOwner resolves the `user`/`group` names and `uid`/`gid` numbers of a
// socket; -1 leaves that part of the ownership as created. A number given
// with a name wins over it.
func socketOwner(sock haproxycfg.StatsSocket) (uid, gid int, err error) {
	uid, gid = -1, -1
	if sock.User != "" {
		u, err := user.Lookup(sock.User)
		if err != nil {
			return 0, 0, fmt.Errorf("unknown user '%s'", sock.User)
		}
		if uid, err = strconv.Atoi(u.Uid); err != nil {
			return 0, 0, fmt.Errorf("user '%s': uid %q", sock.User, u.Uid)
		}
	}
	if sock.Group != "" {
		g, err := user.LookupGroup(sock.Group)
		if err != nil {
			return 0, 0, fmt.Errorf("unknown group '%s'", sock.Group)
		}
		if gid, err = strconv.Atoi(g.Gid); err != nil {
			return 0, 0, fmt.Errorf("group '%s': gid %q", sock.Group, g.Gid)
		}
	}
	if sock.UID > 0 || (sock.UID == 0 && sock.User == "") {
		uid = sock.UID
	}
	if sock.GID > 0 || (sock.GID == 0 && sock.Group == "") {
		gid = sock.GID
	}
	return uid, gid, nil
}

// Addr is the socket's path.
func (s *Server) Addr() string { return s.sf.path }

// Session serves one connection: without `prompt`, one line of commands
// and the connection closes; in prompt mode, lines until `quit`, each
// answer followed by "> ". Every command's answer ends with an empty line.
// The connection closes after `stats timeout` without input.
func (s *Server) Session(c net.Conn) { ServeConn(c, s.cmds, s.level, s.timeout) }

// ServeConn serves one CLI connection at a level, as Session does: the
// master CLI hands a worker its forwarded commands this way.
func ServeConn(c net.Conn, cmds *Commands, level Level, timeout time.Duration) {
	defer c.Close()
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	r := bufio.NewReaderSize(c, 4096)
	w := bufio.NewWriter(c)
	interactive, experimental := false, false
	for {
		_ = c.SetReadDeadline(time.Now().Add(timeout))
		line, err := readLine(r)
		if err != nil && line == "" {
			return
		}
		quit := false
		// A line ending with "<<" gives its last command a payload: the
		// lines that follow, up to an empty one.
		var payload *string
		if strings.HasSuffix(strings.TrimRight(line, "\r\n"), "<<") && err == nil {
			var prompt func()
			if interactive {
				// haproxy prompts each payload line with "+ ".
				prompt = func() { w.WriteString("+ "); _ = w.Flush() }
			}
			p, perr := readPayload(r, len(line), prompt)
			if perr != nil && p == "" {
				return
			}
			payload = &p
		}
		lineCmds, perr := SplitLine(line)
		if perr != nil {
			fmt.Fprintf(w, "%v\n\n", perr)
			lineCmds = nil
		}
		if interactive && len(lineCmds) == 1 && len(lineCmds[0]) == 0 {
			lineCmds = nil // an empty line in prompt mode only shows the prompt
		}
		for i, args := range lineCmds {
			switch {
			case len(args) > 0 && args[0] == "quit":
				quit = true
			case len(args) > 0 && args[0] == "prompt":
				interactive = !interactive
				w.WriteString("\n")
			case len(args) >= 3 && args[0] == "set" && args[1] == "timeout" && args[2] == "cli":
				// hatop sets its session's idle timeout (seconds).
				d, err := parseTimeout(arg(args, 3))
				if err != nil {
					w.WriteString("'set timeout cli' requires a valid delay.\n")
				} else {
					timeout = d
				}
				w.WriteString("\n")
			case len(args) == 3 && args[0] == "show" && args[1] == "cli" && args[2] == "level":
				w.WriteString(level.String() + "\n\n")
			case len(args) > 0 && args[0] == "user":
				level = LevelUser
				w.WriteString("\n")
			case len(args) > 0 && args[0] == "experimental-mode":
				w.WriteString(experimentalMode(args, &experimental, level))
			case len(args) > 0 && args[0] == "operator" && level >= LevelOperator:
				level = LevelOperator
				w.WriteString("\n")
			case payload != nil && i == len(lineCmds)-1 && len(args) > 0 && args[len(args)-1] == "<<":
				w.WriteString(cmds.ExecMode(args[:len(args)-1], payload, level, experimental))
				w.WriteString("\n")
			default:
				w.WriteString(cmds.ExecMode(args, nil, level, experimental))
				w.WriteString("\n")
			}
			if quit {
				break
			}
		}
		if !quit && !interactive && r.Buffered() > 0 && err == nil {
			// haproxy goes on with requests already received (pipelined
			// lines) before it closes a non-interactive session.
			continue
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

// readPayload reads the lines of a payload up to an empty one, joined by
// newlines, within haproxy's request buffer (used already bytes of it);
// prompt, when set, is called before each line is read.
func readPayload(r *bufio.Reader, used int, prompt func()) (string, error) {
	var lines []string
	for {
		if prompt != nil {
			prompt()
		}
		l, err := readLine(r)
		used += len(l)
		if used > maxLine {
			return "", fmt.Errorf("runtimeapi: payload longer than %d bytes", maxLine)
		}
		l = strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r")
		if l == "" || err != nil {
			if l != "" {
				lines = append(lines, l)
			}
			return strings.Join(lines, "\n"), err
		}
		lines = append(lines, l)
	}
}

// Close stops accepting, closes every connection, removes the socket file
// and waits for the sessions to end.
func (s *Server) Close() error { return s.sf.close() }

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
