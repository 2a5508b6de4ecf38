// Package serverstate reads the servers' state files haproxy 2.6 keeps
// across reloads (`server-state-file`, `load-server-state-from-file`;
// management guide, "show servers state"): the output of `show servers
// state`, version 1, saved by the operator before a reload.
package serverstate

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"hapair/pkg/haproxycfg"
)

// Line is one server's saved state; the numbers are haproxy's.
type Line struct {
	Backend, Server string
	Addr            string // "" when "-"
	OpState         int    // 0 stopped, 1 starting, 2 running, 3 stopping
	AdminState      int    // SRV_ADMF_* bits
	UWeight         int
	IWeight         int
	Port            int
}

// Admin state bits as `show servers state` writes them.
const (
	AdminFMaint = 0x01
	AdminCMaint = 0x04
	AdminFDrain = 0x08
)

// ErrVersion is a file whose first line is not version 1.
var ErrVersion = errors.New("serverstate: can't get version of the server state file")

// Read parses a state file into its lines by "backend server".
func Read(path string) (map[string]Line, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() || strings.TrimRight(sc.Text(), "\r") != "1" {
		return nil, ErrVersion
	}
	out := map[string]Line{}
	n := 1
	for sc.Scan() {
		n++
		t := sc.Text()
		if t == "" || t[0] == '#' {
			continue
		}
		fs := strings.Fields(t)
		if len(fs) < 19 {
			return nil, fmt.Errorf("serverstate: %s:%d: corrupted line (%d fields)", path, n, len(fs))
		}
		num := func(i int) int { v, _ := strconv.Atoi(fs[i]); return v }
		l := Line{Backend: fs[1], Server: fs[3], OpState: num(5), AdminState: num(6), UWeight: num(7), IWeight: num(8), Port: num(18)}
		if fs[4] != "-" {
			l.Addr = fs[4]
		}
		out[l.Backend+" "+l.Server] = l
	}
	return out, sc.Err()
}

// Path is where a state file name is looked for: as is when absolute or
// without `server-state-base`, else under that directory.
func Path(g *haproxycfg.Global, name string) string {
	if strings.HasPrefix(name, "/") || g.ServerStateBase == "" {
		return name
	}
	return strings.TrimSuffix(g.ServerStateBase, "/") + "/" + name
}

// Set is the saved states of a configuration's backends.
type Set struct {
	byProxy map[*haproxycfg.Proxy]map[string]Line
	// Warnings are haproxy's for files that could not be read.
	Warnings []string
}

// Load reads the files the configuration's backends ask for; a missing
// or unreadable file is a warning, as in haproxy.
func Load(cfg *haproxycfg.Config) *Set {
	s := &Set{byProxy: map[*haproxycfg.Proxy]map[string]Line{}}
	var global map[string]Line
	globalRead := false
	for _, px := range cfg.Proxies {
		if !px.Kind.HasBackend() || px.Disabled || len(px.Servers) == 0 {
			continue
		}
		switch px.LoadServerState {
		case "global":
			if cfg.Global.ServerStateFile == "" {
				continue
			}
			if !globalRead {
				globalRead = true
				p := Path(&cfg.Global, cfg.Global.ServerStateFile)
				m, err := Read(p)
				if err != nil {
					s.Warnings = append(s.Warnings, fmt.Sprintf("config : config: Can't open global server state file '%s': %s", p, reason(err)))
				}
				global = m
			}
			s.byProxy[px] = global
		case "local":
			name := px.ServerStateFileName
			if name == "" {
				continue
			}
			p := Path(&cfg.Global, name)
			m, err := Read(p)
			if err != nil {
				s.Warnings = append(s.Warnings, fmt.Sprintf("Proxy '%s': Can't open server state file '%s': %s.", px.Name, p, reason(err)))
			}
			s.byProxy[px] = m
		}
	}
	return s
}

func reason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		s := pe.Err.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

// Server is the saved state of a server, if any.
func (s *Set) Server(px *haproxycfg.Proxy, name string) (Line, bool) {
	if s == nil {
		return Line{}, false
	}
	l, ok := s.byProxy[px][px.Name+" "+name]
	return l, ok
}
