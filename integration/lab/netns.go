package lab

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"syscall"
	"time"
)

// DialContext dials from inside the host's network namespace, without a
// subprocess: the socket is created on an OS thread switched into the host's
// namespace with setns(2), which is what `nsenter -n` does. The connection
// then works from any goroutine. addr must be an IP literal (no resolver
// runs inside the host).
func (h *Host) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if err := h.alive(); err != nil {
		return nil, err
	}
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, fmt.Errorf("host %s: dial: %w", h.name, err)
	}
	defer self.Close()
	target, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", h.pid1))
	if err != nil {
		return nil, fmt.Errorf("host %s: dial: %w", h.name, err)
	}
	defer target.Close()
	runtime.LockOSThread()
	if err := setns(target); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("host %s: setns: %w", h.name, err)
	}
	var d net.Dialer
	conn, derr := d.DialContext(ctx, network, addr)
	if err := setns(self); err != nil {
		// The thread stays in the host's namespace: keep it locked so the
		// runtime discards it when this goroutine ends.
		if conn != nil {
			conn.Close()
		}
		return nil, fmt.Errorf("host %s: setns back: %w", h.name, err)
	}
	runtime.UnlockOSThread()
	if derr != nil {
		return nil, fmt.Errorf("host %s: %w", h.name, derr)
	}
	return conn, nil
}

func setns(f *os.File) error {
	_, _, errno := syscall.RawSyscall(sysSetns, f.Fd(), syscall.CLONE_NEWNET, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// Get fetches url from inside the host with a new connection, bounded by
// timeout, and returns the status code and body. Like
// `nsenter -t PID1 -n curl -m TIMEOUT URL`.
func (h *Host) Get(ctx context.Context, url string, timeout time.Duration) (int, []byte, error) {
	client := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:       h.DialContext,
			DisableKeepAlives: true,
			// The lab's backends have self-signed certificates.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // lab only
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}
