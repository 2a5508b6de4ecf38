package runtimeapi

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/stats"
)

// The master CLI is haproxy 2.6's `-S <socket>` in master-worker mode
// (management guide, section 9.4): `show proc`, `reload`, and every worker
// command through a prefix (`@1 show info`, `@!<pid> ...`), with the
// outputs and prompts of haproxy 2.6.

// Proc is one process as `show proc` lists it.
type Proc struct {
	PID    int
	Master bool
	// Old: a former worker still finishing its sessions after a reload.
	Old bool
	// Reloads: for the master, every reload asked for; for a worker, the
	// reloads since it was started.
	Reloads int
	// Failed: reloads that failed since the last one that worked (master).
	Failed int
	Start  time.Time
}

// Master is what the master CLI reports on and drives.
type Master interface {
	// Procs returns the master, then the current worker, then the old
	// workers, newest first.
	Procs() []Proc
	// Reload starts a reload, as SIGUSR2 does, and returns at once.
	Reload()
	// DialWorker opens a CLI session on worker pid at a level; the worker
	// answers one command line, then closes.
	DialWorker(pid int, level Level) (net.Conn, error)
}

// ParseMasterSocket reads `-S <path>[,<opt>,<value>...]`: a UNIX socket
// path with the options that apply to it (mode, user, group, uid, gid,
// level). The level defaults to admin, as haproxy's master CLI.
func ParseMasterSocket(spec string) (haproxycfg.StatsSocket, error) {
	parts := strings.Split(spec, ",")
	sock := haproxycfg.StatsSocket{Path: strings.TrimPrefix(parts[0], "unix@"), Level: "admin", UID: -1, GID: -1}
	words := strings.Join(parts, " ")
	if n, ok := strings.CutPrefix(parts[0], "fd@"); ok {
		// A listening socket inherited from the parent (VTest hands it
		// so): served as is, its file options do not apply.
		fd, err := strconv.Atoi(n)
		if err != nil || fd < 0 {
			return sock, fmt.Errorf("'%s' : file descriptor '%s' is not a valid integer in '%s'", words, n, parts[0])
		}
		sock.Path, sock.Sock = "", haproxycfg.SockAddr{Kind: haproxycfg.SockFD, FD: fd}
	} else if sock.Path == "" || strings.Contains(sock.Path, "@") || !strings.Contains(sock.Path, "/") {
		return sock, fmt.Errorf("'%s' : only UNIX socket paths are implemented by gproxy for the master CLI", words)
	}
	opts := parts[1:]
	for i := 0; i < len(opts); i += 2 {
		opt, val := opts[i], ""
		if i+1 < len(opts) {
			val = opts[i+1]
		}
		var err error
		switch opt {
		case "mode":
			var m uint64
			if m, err = strconv.ParseUint(val, 8, 32); err != nil || m > 0o7777 {
				return sock, fmt.Errorf("'%s' : ''mode' : missing or invalid mode '%s' (octal integer expected)'", words, val)
			}
			sock.Mode = uint32(m)
		case "user", "group":
			if val == "" {
				return sock, fmt.Errorf("'%s' : '%s' : missing %s name", words, opt, opt)
			}
			if opt == "user" {
				sock.User = val
			} else {
				sock.Group = val
			}
		case "uid", "gid":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return sock, fmt.Errorf("'%s' : '%s' : missing or invalid %s '%s'", words, opt, opt, val)
			}
			if opt == "uid" {
				sock.UID = n
			} else {
				sock.GID = n
			}
		case "level":
			if _, err = ParseLevel(val); err != nil || val == "" {
				return sock, fmt.Errorf("'%s' : ''level' only supports 'user', 'operator', and 'admin' (got '%s')'", words, val)
			}
			sock.Level = val
		default:
			return sock, fmt.Errorf("'%s' : unknown keyword '%s'.", words, opt)
		}
	}
	if sock.Sock.IsSet() && (sock.Mode != 0 || sock.User != "" || sock.Group != "" || sock.UID >= 0 || sock.GID >= 0) {
		// Owner and mode are those of a socket file; an inherited
		// descriptor has none to set.
		return sock, fmt.Errorf("'%s' : mode, user, group, uid and gid apply to a UNIX socket path, not to '%s'", words, parts[0])
	}
	return sock, nil
}

// MasterServer serves the master CLI on one UNIX socket.
type MasterServer struct {
	m     Master
	level Level
	log   zerolog.Logger
	now   func() time.Time
	sf    socketFile
}

// ListenMaster creates the socket (owner and mode as configured) and
// serves it. As haproxy's, the master CLI has no idle timeout and serves
// at most MaxConns sessions at a time.
func ListenMaster(sock haproxycfg.StatsSocket, m Master, log zerolog.Logger) (*MasterServer, error) {
	level, err := ParseLevel(sock.Level)
	if err != nil {
		return nil, fmt.Errorf("master CLI: %w", err)
	}
	var ln net.Listener
	var fi os.FileInfo
	if sock.Path != "" {
		ln, fi, err = listenFile(sock)
	} else {
		ln, err = listenAddr(sock)
	}
	if err != nil {
		return nil, fmt.Errorf("master CLI: %w", err)
	}
	s := &MasterServer{m: m, level: level, log: log, now: time.Now, sf: newSocketFile(ln, sock.Path, fi, log, "master CLI")}
	s.sf.serve(s.Session)
	return s, nil
}

// Close stops accepting, ends every session and removes the socket file
// if it is still ours.
func (s *MasterServer) Close() error { return s.sf.close() }

// masterCommands are the master's own, as `help` lists them.
var masterCommands = [][2]string{
	{"@!<pid>", "send a command to the <pid> process"},
	{"@<relative pid>", "send a command to the <relative pid> process"},
	{"@master", "send a command to the master process"},
	{"operator", "lower the level of the current CLI session to operator"},
	{"reload", "reload haproxy"},
	{"show cli level", "display the level of the current CLI session"},
	{"show cli sockets", "dump list of cli sockets"},
	{"show proc", "show processes status"},
	{"show version", "show version of the current process"},
	{"user", "lower the level of the current CLI session to user"},
	{"help [<command>]", "list matching or all commands"},
	{"prompt", "toggle interactive mode with prompt"},
	{"quit", "disconnect"},
}

// masterHelp lists the commands whose words start with words (all when
// none does), each line as haproxy prints it.
func masterHelp(words []string) (string, bool) {
	var b strings.Builder
	matched := false
	for _, c := range masterCommands {
		f := strings.Fields(c[0])
		if len(words) > 0 && len(f) >= 1 && f[0] == words[0] && c[0] != "help [<command>]" {
			fmt.Fprintf(&b, "  %-39s : %s\n", c[0], c[1])
			matched = true
		}
	}
	if !matched {
		b.Reset()
		for _, c := range masterCommands {
			fmt.Fprintf(&b, "  %-39s : %s\n", c[0], c[1])
		}
		return b.String(), false
	}
	for _, c := range masterCommands[len(masterCommands)-3:] {
		fmt.Fprintf(&b, "  %-39s : %s\n", c[0], c[1])
	}
	return b.String(), true
}

// Session serves one master CLI connection until the client closes it,
// `quit` or `reload`. Each command of a line is run or forwarded in turn;
// in prompt mode a prompt follows each one ("master> ", or "<pid>> " once
// a bare prefix made a worker the default target).
func (s *MasterServer) Session(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 4096)
	w := bufio.NewWriter(c)
	defer w.Flush()
	level := s.level
	prompt := false
	target := 0 // 0: the master; else a worker's pid
	writePrompt := func() {
		if !prompt {
			return
		}
		if target != 0 {
			fmt.Fprintf(w, "%d> ", target)
			return
		}
		failed := ""
		if p := s.m.Procs(); len(p) > 0 && p[0].Failed > 0 {
			failed = "[ReloadFailed]"
		}
		fmt.Fprintf(w, "master%s> ", failed)
	}
	for {
		line, err := readLine(r)
		if err != nil && line == "" {
			return
		}
		cmds, perr := SplitLine(line)
		if perr != nil {
			fmt.Fprintf(w, "%v\n", perr)
			return
		}
		for _, args := range cmds {
			to := target
			if len(args) > 0 && strings.HasPrefix(args[0], "@") {
				pid, ok := s.resolve(args[0])
				if !ok {
					fmt.Fprintf(w, "Can't find the target PID matching the prefix '%s'\n", args[0])
					return
				}
				if len(args) == 1 {
					target = pid
					writePrompt()
					continue
				}
				to, args = pid, args[1:]
			} else if len(args) > 0 {
				// Session commands, handled by the master for any target.
				switch args[0] {
				case "prompt":
					prompt = !prompt
					writePrompt()
					continue
				case "quit":
					writePrompt()
					return
				case "operator", "user":
					want := LevelOperator
					if args[0] == "user" {
						want = LevelUser
					}
					if level < want {
						w.WriteString("Permission denied!\n")
						return
					}
					level = want
					writePrompt()
					continue
				}
			}
			if to != 0 {
				if !s.forward(w, to, args, level) {
					return
				}
			} else if s.exec(w, args, level) {
				return // reload: the connection ends, as haproxy's master re-executes
			}
			writePrompt()
		}
		if w.Flush() != nil || err != nil {
			return
		}
	}
}

// resolve reads a prefix: "@" and "@master" (and "@0") name the master,
// "@!<pid>" a worker by pid, "@1" the current worker (haproxy 2.6 has one
// process per worker: 1 is the only relative pid).
func (s *MasterServer) resolve(prefix string) (int, bool) {
	p := strings.TrimPrefix(prefix, "@")
	if p == "" || p == "master" {
		return 0, true
	}
	procs := s.m.Procs()
	if pidText, ok := strings.CutPrefix(p, "!"); ok {
		pid, err := strconv.Atoi(pidText)
		if err != nil {
			return 0, false
		}
		for _, pr := range procs {
			if !pr.Master && pr.PID == pid {
				return pid, true
			}
		}
		return 0, false
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 1 {
		return 0, false
	}
	if n == 0 {
		return 0, true
	}
	var chosen *Proc
	for i := range procs {
		if pr := &procs[i]; !pr.Master && (chosen == nil || pr.Reloads < chosen.Reloads) {
			chosen = pr
		}
	}
	if chosen == nil {
		return 0, false
	}
	return chosen.PID, true
}

// forward runs one command on a worker and copies its answer.
func (s *MasterServer) forward(w *bufio.Writer, pid int, args []string, level Level) bool {
	conn, err := s.m.DialWorker(pid, level)
	if err != nil {
		s.log.Warn().Err(err).Msgf("master CLI: worker %d", pid)
		w.WriteString("Can't connect to the target CLI!\n")
		return false
	}
	defer conn.Close()
	words := make([]string, len(args))
	for i, a := range args {
		words[i] = escapeWord(a)
	}
	if _, err := io.WriteString(conn, strings.Join(words, " ")+"\n"); err != nil {
		w.WriteString("Can't connect to the target CLI!\n")
		return false
	}
	// One command per connection, as haproxy's master: a worker put in
	// prompt mode sees the end of its input and closes.
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_, _ = io.Copy(w, conn)
	return true
}

// escapeWord protects the characters SplitLine cuts at.
func escapeWord(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', ';', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// exec runs a master command; it reports whether the session must end.
func (s *MasterServer) exec(w *bufio.Writer, args []string, level Level) bool {
	switch {
	case hasPrefix(args, []string{"help"}):
		list, _ := masterHelp(args[1:])
		w.WriteString("The following commands are valid at this level:\n" + list)
	case hasPrefix(args, []string{"show", "proc"}):
		w.WriteString(s.showProc())
	case hasPrefix(args, []string{"show", "version"}):
		w.WriteString(stats.Version + "\n")
	case hasPrefix(args, []string{"show", "cli", "level"}):
		w.WriteString(level.String() + "\n")
	case hasPrefix(args, []string{"show", "cli", "sockets"}):
		// haproxy 2.6's master lists nothing here.
	case hasPrefix(args, []string{"reload"}):
		if level < LevelOperator {
			w.WriteString("Permission denied\n")
			break
		}
		s.m.Reload()
		return true
	default:
		list, near := masterHelp(args)
		if near {
			w.WriteString("Unknown command, but maybe one of the following ones is a better match:\n" + list)
		} else {
			w.WriteString("Unknown command. Please enter one of the following commands only:\n" + list)
		}
	}
	w.WriteString("\n")
	return false
}

// showProc prints the processes as haproxy 2.6 does (no external programs).
func (s *MasterServer) showProc() string {
	now := s.now()
	uptime := func(t time.Time) string {
		up := int64(now.Sub(t) / time.Second)
		return fmt.Sprintf("%dd%02dh%02dm%02ds", up/86400, up%86400/3600, up%3600/60, up%60)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-15s %-15s %-15s %-15s %-15s\n", "#<PID>", "<type>", "<reloads>", "<uptime>", "<version>")
	procs := s.m.Procs()
	for _, p := range procs {
		if p.Master {
			fmt.Fprintf(&b, "%-15d %-15s %-15s %-15s %-15s\n", p.PID, "master", fmt.Sprintf("%d [failed: %d]", p.Reloads, p.Failed), uptime(p.Start), stats.Version)
		}
	}
	section := func(title string, old bool) {
		head := false
		for _, p := range procs {
			if p.Master || p.Old != old {
				continue
			}
			if !head && old {
				b.WriteString(title)
			}
			head = true
			fmt.Fprintf(&b, "%-15d %-15s %-15s %-15s %-15s\n", p.PID, "worker", strconv.Itoa(p.Reloads), uptime(p.Start), stats.Version)
		}
	}
	b.WriteString("# workers\n")
	section("", false)
	section("# old workers\n", true)
	b.WriteString("# programs\n")
	return b.String()
}
