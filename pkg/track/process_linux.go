package track

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// The kernel's process connector (linux/connector.h, linux/cn_proc.h).
const (
	cnIdxProc        = 1
	cnValProc        = 1
	procCnMcastListn = 1

	procEventNone = 0
	procEventFork = 1
	procEventExec = 2
	procEventComm = 0x200
	procEventExit = 0x80000000

	nlHdrLen = 16
	cnMsgLen = 20
)

// ProcessWatcher counts tracked processes from the kernel's process
// events, as keepalived's track_process does.
type ProcessWatcher struct {
	*Processes
	f   *os.File // nil: no events (the subscription failed)
	log zerolog.Logger
}

// StartProcessWatcher subscribes to the process events, then scans /proc
// so that no process is missed between the two. Without the events (the
// kernel refuses the subscription outside the machine's first network
// namespace) it logs keepalived's line and counts nothing: every tracked
// process is then without its quorum, as with keepalived 2.2.7
// (init_track_processes gives up before read_procs).
func StartProcessWatcher(specs []ProcessSpec, change func(name string, up bool), log zerolog.Logger) *ProcessWatcher {
	// The command line is read when a process is tracked by it: by its
	// argv[0] (full_command) or by its arguments (param_match), as
	// keepalived reads /proc/PID/cmdline in both cases.
	full := false
	for _, s := range specs {
		full = full || s.FullCommand || s.Match != MatchNone
	}
	read := func(pid int) (ProcInfo, bool) { return readProc(pid, full) }
	after := func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	w := &ProcessWatcher{Processes: NewProcesses(specs, read, after, change, log), log: log}
	f, err := openProcConnector()
	if err != nil {
		log.Info().Msgf("%v", err)
		w.Scan(nil)
		return w
	}
	w.f = f
	w.Scan(listPids())
	return w
}

func openProcConnector() (*os.File, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("Failed to open process monitoring socket - errno %d - %v", errno(err), err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("Failed to bind to process monitoring socket - errno %d - %v", errno(err), err)
	}
	msg := make([]byte, nlHdrLen+cnMsgLen+4)
	binary.NativeEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.NativeEndian.PutUint16(msg[4:], unix.NLMSG_DONE)
	binary.NativeEndian.PutUint32(msg[16:], cnIdxProc)
	binary.NativeEndian.PutUint32(msg[20:], cnValProc)
	binary.NativeEndian.PutUint16(msg[32:], 4)
	binary.NativeEndian.PutUint32(msg[36:], procCnMcastListn)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		// keepalived's wording (track_process.c set_proc_ev_listen).
		return nil, fmt.Errorf("Failed to set/clear process event listen - errno %d - %s", errno(err), strerror(err))
	}
	return os.NewFile(uintptr(fd), "proc-connector"), nil
}

func errno(err error) int {
	var e syscall.Errno
	if errors.As(err, &e) {
		return int(e)
	}
	return 0
}

// strerror is %m: the C library's text, capitalised ("Connection refused").
func strerror(err error) string {
	s := err.Error()
	var e syscall.Errno
	if errors.As(err, &e) {
		s = e.Error()
	}
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

// Run reads the process events until ctx ends; lost events (ENOBUFS) make
// it count again from /proc a second later, as keepalived does.
func (w *ProcessWatcher) Run(ctx context.Context) {
	if w.f == nil {
		<-ctx.Done()
		return
	}
	go func() {
		<-ctx.Done()
		w.f.Close()
	}()
	rc, err := w.f.SyscallConn()
	if err != nil {
		w.log.Error().Msgf("process monitor: %v", err)
		return
	}
	buf := make([]byte, 8192)
	var rescan *time.Timer
	defer func() {
		if rescan != nil {
			rescan.Stop()
		}
	}()
	for ctx.Err() == nil {
		var n int
		var from unix.Sockaddr
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			n, from, rerr = unix.Recvfrom(int(fd), buf, 0)
			return rerr != unix.EAGAIN
		})
		if err != nil {
			return // closed
		}
		if rerr == unix.ENOBUFS {
			if rescan != nil {
				rescan.Stop()
			}
			rescan = time.AfterFunc(time.Second, func() { w.Rescan(listPids()) })
			continue
		}
		if rerr != nil {
			if rerr == unix.EINTR {
				continue
			}
			w.log.Info().Msgf("process monitor netlink recv error %d - %s", errno(rerr), strerror(rerr))
			continue
		}
		if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
			continue // not from the kernel
		}
		w.handle(buf[:n])
	}
}

// handle decodes one datagram of process events.
func (w *ProcessWatcher) handle(b []byte) {
	for len(b) >= nlHdrLen {
		l := int(binary.NativeEndian.Uint32(b[0:]))
		typ := binary.NativeEndian.Uint16(b[4:])
		if l < nlHdrLen || l > len(b) {
			return
		}
		m := b[nlHdrLen:l]
		b = b[(l+3)&^3:]
		if typ == unix.NLMSG_ERROR || typ == unix.NLMSG_NOOP || len(m) < cnMsgLen+16 {
			continue
		}
		if binary.NativeEndian.Uint32(m[0:]) != cnIdxProc || binary.NativeEndian.Uint32(m[4:]) != cnValProc {
			continue
		}
		ev := m[cnMsgLen:]
		what := binary.NativeEndian.Uint32(ev[0:])
		d := ev[16:]
		u32 := func(i int) int {
			if len(d) < 4*(i+1) {
				return -1
			}
			return int(binary.NativeEndian.Uint32(d[4*i:]))
		}
		switch what {
		case procEventFork:
			// A new process, not a thread: child pid == child tgid.
			if u32(2) == u32(3) && u32(3) > 0 {
				w.Fork(u32(1), u32(3))
			}
		case procEventExec:
			if u32(0) == u32(1) && u32(1) > 0 {
				w.Exec(u32(1))
			}
		case procEventComm:
			if u32(0) == u32(1) && u32(1) > 0 && len(d) >= 8+16 {
				c := d[8 : 8+16]
				if i := indexByte(c, 0); i >= 0 {
					c = c[:i]
				}
				w.Comm(u32(1), string(c))
			}
		case procEventExit:
			if u32(0) == u32(1) && u32(1) > 0 {
				w.Exit(u32(1))
			}
		}
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// listPids lists the processes in /proc.
func listPids() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids
}

// readProc reads a process's comm and state from /proc/PID/stat, and its
// command line when a tracked process needs it.
func readProc(pid int, cmdline bool) (ProcInfo, bool) {
	var info ProcInfo
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return info, false
	}
	s := string(b)
	i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if i < 0 || j < i {
		return info, false
	}
	info.Comm = s[i+1 : j]
	info.Zombie = j+2 < len(s) && s[j+2] == 'Z'
	if cmdline {
		c, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err != nil {
			return info, false
		}
		info.Cmdline = c
	}
	return info, true
}
