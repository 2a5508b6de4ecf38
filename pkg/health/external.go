package health

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"hapair/pkg/haproxycfg"
)

// External checks (`option external-check`, haproxy 2.6's src/extcheck.c):
// the command runs with four arguments (the proxy's first bind address and
// port, or NOT_USED, then the server's address and port) and only the
// environment haproxy gives it; exit status 0 passes (PROCOK), any other
// fails (PROCERR, code = the status, -1 for a signal), and a command still
// running after `inter` (or min(inter, timeout connect) with timeout check)
// is sent SIGTERM (PROCTOUT).

// The external check results, numbered as haproxy's HCHK_STATUS_*.
const (
	CodePROCERR  Code = 18 // the command failed
	CodePROCTOUT Code = 19 // the command did not end in time
	CodePROCOK   Code = 20 // the command exited 0
)

func init() {
	codeNames[CodePROCERR] = [2]string{"PROCERR", "External check error"}
	codeNames[CodePROCTOUT] = [2]string{"PROCTOUT", "External check timeout"}
	codeNames[CodePROCOK] = [2]string{"PROCOK", "External check passed"}
}

// extCheck is what an external check runs.
type extCheck struct {
	command string
	path    string
	args    []string // proxy address and port, server address and port
	env     []string // without HAPROXY_SERVER_CURCONN
	timeout time.Duration
	allowed bool       // `external-check` and `insecure-fork-wanted` are in global
	quiet   bool       // `quiet`: the command gets no stdout and stderr
	curConn func() int // the server's current sessions, read at each run
	// lastCode is the code of the previous run: a timeout keeps it, as
	// haproxy's check code is only set when the command exits.
	lastCode int
}

// externalFor prepares the external check of a server.
func externalFor(g *haproxycfg.Global, px *haproxycfg.Proxy, s *haproxycfg.Server, id int, inter time.Duration) *extCheck {
	paddr, pport := "NOT_USED", "NOT_USED"
	if len(px.Binds) > 0 {
		b := px.Binds[0]
		paddr, pport = b.Host, strconv.Itoa(b.Port)
		if paddr == "" || paddr == "*" {
			paddr = "0.0.0.0"
			if b.Family == haproxycfg.FamilyIPv6 {
				paddr = "::"
			}
		}
	}
	saddr, sport := s.Host, strconv.Itoa(s.Port)
	proto := "tcp"
	if px.Mode == haproxycfg.ModeHTTP {
		proto = "h1"
	}
	e := &extCheck{command: px.Check.Command, path: px.Check.Path, args: []string{paddr, pport, saddr, sport},
		timeout: inter, quiet: g.Quiet, allowed: g.ExternalCheck && g.InsecureForkWanted}
	if px.Timeouts.Check > 0 && px.Timeouts.Connect > 0 {
		e.timeout = min(inter, px.Timeouts.Connect)
	}
	envAddr, envPort := paddr, pport
	if len(px.Binds) == 0 { // haproxy sends an empty value rather than NOT_USED
		envAddr, envPort = "", ""
	}
	e.env = []string{
		"PATH=" + px.Check.Path,
		"HAPROXY_PROXY_NAME=" + px.Name,
		"HAPROXY_PROXY_ID=" + strconv.Itoa(px.ID),
		"HAPROXY_PROXY_ADDR=" + envAddr,
		"HAPROXY_PROXY_PORT=" + envPort,
		"HAPROXY_SERVER_NAME=" + s.Name,
		"HAPROXY_SERVER_ID=" + strconv.Itoa(id),
		"HAPROXY_SERVER_ADDR=" + saddr,
		"HAPROXY_SERVER_PORT=" + sport,
		"HAPROXY_SERVER_MAXCONN=" + strconv.Itoa(s.MaxConn),
		"HAPROXY_SERVER_SSL=0",
		"HAPROXY_SERVER_PROTO=" + proto,
	}
	return e
}

// lookPath finds the command as execvp does with PATH set to path: a
// name with a slash as is, else each element of path in turn, an empty
// element being the current directory.
func lookPath(cmd, path string) string {
	if strings.Contains(cmd, "/") {
		return cmd
	}
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, cmd)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return cmd
}

func (e *extCheck) run(ctx context.Context) Result {
	r := e.runOnce(ctx)
	if r.Code == CodePROCTOUT {
		r.HTTP = e.lastCode
	}
	e.lastCode = r.HTTP
	return r
}

func (e *extCheck) runOnce(ctx context.Context) Result {
	if !e.allowed {
		// The parser refuses such a configuration; never fork without it.
		return Result{Code: CodePROCERR, HTTP: -1}
	}
	cur := 0
	if e.curConn != nil {
		cur = e.curConn()
	}
	cmd := exec.Command(lookPath(e.command, e.path), e.args...)
	cmd.Args[0] = e.command
	cmd.Env = append(append([]string(nil), e.env...), "HAPROXY_SERVER_CURCONN="+strconv.Itoa(cur))
	if !e.quiet {
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		// haproxy's child exits with -1 (255) when exec fails.
		var en syscall.Errno
		if errors.As(err, &en) || errors.Is(err, exec.ErrNotFound) || os.IsNotExist(err) || os.IsPermission(err) {
			return Result{Code: CodePROCERR, HTTP: 255}
		}
		return withInfo(CodeSOCKERR, 0, errnoText(err))
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t := time.NewTimer(e.timeout)
	defer t.Stop()
	select {
	case err := <-done:
		return exitResult(cmd, err)
	case <-t.C:
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-done
		return Result{Code: CodePROCTOUT}
	case <-ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-done
		return Result{Code: CodePROCTOUT}
	}
}

func exitResult(cmd *exec.Cmd, err error) Result {
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok {
		return withInfo(CodeSOCKERR, 0, fmt.Sprint(err))
	}
	if !ws.Exited() {
		return Result{Code: CodePROCERR, HTTP: -1}
	}
	if ws.ExitStatus() != 0 {
		return Result{Code: CodePROCERR, HTTP: ws.ExitStatus()}
	}
	return Result{Code: CodePROCOK}
}
