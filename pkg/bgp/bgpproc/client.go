package bgpproc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/track"
)

const (
	// SpeakerName is the speaker executable's name.
	SpeakerName = "gkeepalived-bgp"
	// InstalledPath is where the gkeepalived package installs it.
	InstalledPath = "/usr/lib/gkeepalived/" + SpeakerName
	// EnvPath, when set, names the speaker executable (tests, custom
	// installations).
	EnvPath = "GKEEPALIVED_BGP_SPEAKER"
)

// Restart backoff of a speaker that exits on its own: doubled at each
// restart up to BackoffMax, back to BackoffMin after a run of BackoffReset.
// Variables so that tests can shorten them.
var (
	BackoffMin   = time.Second
	BackoffMax   = 30 * time.Second
	BackoffReset = time.Minute
	// RequestTimeout bounds an answer to announce, withdraw, status and
	// configure; a speaker slower than that is killed and restarted.
	RequestTimeout = 10 * time.Second
)

// ErrStopped is returned by a client that has been stopped.
var ErrStopped = errors.New("BGP speaker stopped")

// FindSpeaker returns the speaker executable: $GKEEPALIVED_BGP_SPEAKER,
// else gkeepalived-bgp beside the running executable (a build tree's
// bin/), else the installed one.
func FindSpeaker() (string, error) {
	if p := os.Getenv(EnvPath); p != "" {
		return p, checkExecutable(p)
	}
	var tried []string
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), SpeakerName)
		if checkExecutable(p) == nil {
			return p, nil
		}
		tried = append(tried, p)
	}
	if err := checkExecutable(InstalledPath); err != nil {
		tried = append(tried, InstalledPath)
		return "", fmt.Errorf("BGP speaker %s not found (tried %s): the bgp block needs it; it is installed by the gkeepalived package, or built by `make build` into bin/", SpeakerName, strings.Join(tried, ", "))
	}
	return InstalledPath, nil
}

func checkExecutable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("BGP speaker %s: %w", p, err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("BGP speaker %s: not an executable file", p)
	}
	return nil
}

// Client runs a speaker process, drives it, and restarts it (with
// backoff) when it exits on its own.
type Client struct {
	path string
	cfg  Config
	log  zerolog.Logger

	// mu serializes requests and guards what follows.
	mu        sync.Mutex
	conn      net.Conn
	rd        *bufio.Reader
	proc      *os.Process
	id        uint64
	want      bool // what gkeepalived last asked for; applied again after a restart
	announced bool // what the running speaker confirmed
	stopping  bool

	stopCh chan struct{}
	done   chan struct{} // closed when the supervisor has returned
}

// Start runs the speaker at path ("": FindSpeaker) and configures it; the
// prefixes stay withdrawn until Announce(true).
func Start(ctx context.Context, path string, cfg Config, log zerolog.Logger) (*Client, error) {
	if path == "" {
		p, err := FindSpeaker()
		if err != nil {
			return nil, err
		}
		path = p
	} else if err := checkExecutable(path); err != nil {
		return nil, err
	}
	c := &Client{path: path, cfg: cfg, log: log, stopCh: make(chan struct{}), done: make(chan struct{})}
	first := make(chan error, 1)
	go c.supervise(first)
	if err := <-first; err != nil {
		<-c.done
		return nil, err
	}
	return c, nil
}

// supervise starts the speaker, waits for it, and restarts it when it
// exits unasked. It holds its OS thread: PR_SET_PDEATHSIG fires when the
// thread that started the child exits, not the process, and a locked
// thread lives as long as this goroutine.
func (c *Client) supervise(first chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(c.done)
	backoff := BackoffMin
	for {
		cmd, err := c.spawn()
		if first != nil {
			first <- err
			first = nil
			if err != nil {
				return
			}
		}
		if err == nil {
			began := time.Now()
			werr := cmd.Wait()
			c.mu.Lock()
			c.conn.Close()
			c.conn, c.rd, c.proc, c.announced = nil, nil, nil, false
			stopping := c.stopping
			c.mu.Unlock()
			if stopping {
				return
			}
			if time.Since(began) >= BackoffReset {
				backoff = BackoffMin
			}
			if werr == nil {
				werr = errors.New("exit status 0")
			}
			c.log.Error().Msgf("BGP: speaker %s (pid %d) exited unasked (%v): routes withdrawn; restarting it in %v", c.path, cmd.Process.Pid, werr, backoff)
		} else if errors.Is(err, ErrStopped) {
			return
		} else {
			c.log.Error().Msgf("BGP: restarting the speaker: %v; next try in %v", err, backoff)
		}
		select {
		case <-c.stopCh:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, BackoffMax)
	}
}

// spawn starts a speaker process and configures it (and announces, if
// gkeepalived asked for it before a restart).
func (c *Client) spawn() (*exec.Cmd, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping {
		return nil, ErrStopped
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("BGP speaker: socketpair: %w", err)
	}
	parent, child := os.NewFile(uintptr(fds[0]), "bgp-speaker"), os.NewFile(uintptr(fds[1]), "gkeepalived")
	defer child.Close()
	conn, err := net.FileConn(parent)
	parent.Close()
	if err != nil {
		return nil, fmt.Errorf("BGP speaker: socket: %w", err)
	}
	er, ew, err := os.Pipe()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("BGP speaker: pipe: %w", err)
	}
	cmd := exec.Command(c.path, "-fd", "3")
	cmd.ExtraFiles = []*os.File{child}
	cmd.Stdout, cmd.Stderr = ew, ew
	// The speaker withdraws and exits when gkeepalived dies, even by
	// SIGKILL (it also sees the socket's end).
	// Started from the script launcher thread: at the normal scheduling
	// policy when the VRRP process runs realtime, and from a thread that
	// lives as long as the process (the death signal follows the thread).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	err = track.StartCmd(cmd)
	ew.Close()
	if err != nil {
		er.Close()
		conn.Close()
		return nil, fmt.Errorf("BGP speaker %s: %w", c.path, err)
	}
	go c.relay(er)
	c.conn, c.rd, c.proc = conn, bufio.NewReaderSize(conn, 4096), cmd.Process
	fail := func(err error) (*exec.Cmd, error) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		conn.Close()
		c.conn, c.rd, c.proc = nil, nil, nil
		return nil, err
	}
	if _, err := c.call(OpConfigure, RequestTimeout); err != nil {
		return fail(fmt.Errorf("BGP speaker: configure: %w", err))
	}
	if c.want {
		st, err := c.call(OpAnnounce, RequestTimeout)
		if err != nil {
			return fail(fmt.Errorf("BGP speaker: announce: %w", err))
		}
		c.announced = st.Announced
		c.log.Info().Msg("BGP: speaker restarted, announcing again")
	}
	return cmd, nil
}

// relay copies the speaker's log lines (zerolog JSON) into ours at their
// level; anything else (a panic) is an error line.
func (c *Client) relay(r *os.File) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	for sc.Scan() {
		var line struct {
			Level   string `json:"level"`
			Message string `json:"message"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Message != "" {
			lvl, err := zerolog.ParseLevel(line.Level)
			if err != nil || lvl == zerolog.NoLevel {
				lvl = zerolog.InfoLevel
			}
			c.log.WithLevel(lvl).Msg(line.Message)
			continue
		}
		if t := strings.TrimSpace(sc.Text()); t != "" {
			c.log.Error().Msgf("BGP speaker: %s", t)
		}
	}
}

// call sends a request and reads its answer; c.mu is held. A speaker that
// does not answer in time is killed (the supervisor restarts it).
func (c *Client) call(op string, timeout time.Duration) (Status, error) {
	if c.conn == nil {
		return Status{}, errors.New("the speaker is not running (restarting)")
	}
	c.id++
	req := Request{V: Version, ID: c.id, Op: op}
	if op == OpConfigure {
		req.Config = &c.cfg
	}
	line, err := json.Marshal(req)
	if err != nil {
		return Status{}, err
	}
	_ = c.conn.SetDeadline(time.Now().Add(timeout))
	defer c.conn.SetDeadline(time.Time{})
	if _, err := c.conn.Write(append(line, '\n')); err != nil {
		c.kill()
		return Status{}, fmt.Errorf("%s: %w", op, err)
	}
	b, err := c.rd.ReadBytes('\n')
	if err != nil {
		c.kill()
		return Status{}, fmt.Errorf("%s: no answer: %w", op, err)
	}
	var resp Response
	if err := json.Unmarshal(b, &resp); err != nil {
		c.kill()
		return Status{}, fmt.Errorf("%s: bad answer %q: %w", op, b, err)
	}
	if resp.V != Version || resp.ID != req.ID {
		c.kill()
		return Status{}, fmt.Errorf("%s: answer of version %d id %d, want version %d id %d", op, resp.V, resp.ID, Version, req.ID)
	}
	if resp.Error != "" {
		return Status{}, errors.New(resp.Error)
	}
	if resp.Status == nil {
		return Status{}, nil
	}
	return *resp.Status, nil
}

func (c *Client) kill() {
	if c.proc != nil {
		_ = c.proc.Kill()
	}
}

// Announce adds (on) or withdraws (off) the configured prefixes.
func (c *Client) Announce(on bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping {
		return ErrStopped
	}
	c.want = on
	op := OpWithdraw
	if on {
		op = OpAnnounce
	}
	st, err := c.call(op, RequestTimeout)
	if err != nil {
		return fmt.Errorf("BGP speaker: %w", err)
	}
	c.announced = st.Announced
	return nil
}

// Announced reports whether the running speaker announces the prefixes.
func (c *Client) Announced() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.announced
}

// Status asks the speaker for its sessions' states; Pid is 0 while it is
// not running.
func (c *Client) Status() (Status, int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pid := 0
	if c.proc != nil {
		pid = c.proc.Pid
	}
	st, err := c.call(OpStatus, RequestTimeout)
	return st, pid, err
}

// Stop withdraws the prefixes, closes the sessions (Cease) and waits for
// the speaker to exit; past ctx's end it is killed.
func (c *Client) Stop(ctx context.Context) {
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		<-c.done
		return
	}
	c.stopping = true
	close(c.stopCh)
	if c.conn != nil {
		timeout := StopTimeout + time.Second
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
			timeout = max(time.Until(dl), 0)
		}
		if _, err := c.call(OpStop, timeout); err != nil {
			c.log.Warn().Msgf("BGP speaker: stop: %v", err)
			c.kill()
		} else {
			c.announced = false
		}
	}
	c.mu.Unlock()
	select {
	case <-c.done:
		return
	case <-ctx.Done():
	}
	c.mu.Lock()
	c.kill()
	c.mu.Unlock()
	<-c.done
}
