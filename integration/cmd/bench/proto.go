package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// runProto measures, in this process, minimal TCP relays that differ only
// in how they copy, to size the data-path changes proposed for package
// proxy before anyone makes them:
//
//   - splice: io.Copy between *net.TCPConn (splice(2) through a pipe), Go's
//     default TCP keep-alive on both sockets: what package proxy does now;
//   - buffered: read/write through a 16 KiB buffer from a sync.Pool, taken
//     only once the source is readable, keep-alive off (haproxy's default);
//   - adaptive: buffered, switching to splice for the rest of the direction
//     once a read fills the buffer (haproxy's `option splice-auto` idea).
//
// None has timeouts, counters or logs: the figures are the copy's cost.
// inProcessEnv prepares nginx and the binaries for a pass that runs the
// relay in this process, pinned like the proxy (GOMAXPROCS 1).
func inProcessEnv(o options) (*env, error) {
	dir, err := filepath.Abs(filepath.Join(o.out, "tmp"))
	if err != nil {
		return nil, err
	}
	e := &env{o: o, dir: dir, bin: dir, result: &results{}}
	if err := e.prepare(); err != nil {
		e.cleanup()
		return nil, err
	}
	runtime.GOMAXPROCS(1)
	return e, nil
}

func runProto(ctx context.Context, o options) error {
	e, err := inProcessEnv(o)
	if err != nil {
		return err
	}
	defer e.cleanup()
	var b strings.Builder
	b.WriteString("# Relay prototypes: the cost of the copy alone\n\n")
	b.WriteString("Written by `go run ./integration/cmd/bench -proto`: minimal relays in the bench process\n")
	b.WriteString("(GOMAXPROCS=1, CPU 1), wrk and nginx on CPU 0, as in `make bench`. CPU is this process's\n")
	b.WriteString("utime+stime over the run divided by requests. See integration/cmd/bench/proto.go.\n\n")
	fmt.Fprintf(&b, "Date: %s. Load average: %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), strings.TrimSpace(readFile("/proc/loadavg")))
	b.WriteString("| relay | (a) req/s | (a) CPU µs/req | (b) conn/s | (b) CPU µs/conn | (c) GB/s | (c) CPU µs/MiB | idle fds/conn |\n|---|---|---|---|---|---|---|---|\n")
	for _, v := range []string{"splice", "buffered", "adaptive"} {
		row, err := protoVariant(ctx, e, v)
		if err != nil {
			return fmt.Errorf("%s: %w", v, err)
		}
		b.WriteString(row)
	}
	path := filepath.Join(o.out, "proto.md")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Print(b.String())
	fmt.Printf("written to %s\n", path)
	return nil
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// waitReadable blocks until c has data, EOF or an error, holding no
// buffer: a one-byte MSG_PEEK tells whether to wait (RawConn.Read clears
// the poller's ready flag first, so it must look before waiting).
func waitReadable(c *net.TCPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var one [1]byte
	return rc.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return !errors.Is(err, syscall.EAGAIN)
	})
}

// bufferedCopy copies src to dst through a pooled buffer taken only while
// data is moving. With adaptive, a read that fills the buffer hands the
// rest of the direction to io.Copy (splice).
func bufferedCopy(dst, src *net.TCPConn, adaptive bool) error {
	for {
		if err := waitReadable(src); err != nil {
			return err
		}
		bp := bufPool.Get().(*[]byte)
		n, rerr := src.Read(*bp)
		if n > 0 {
			if _, werr := dst.Write((*bp)[:n]); werr != nil {
				bufPool.Put(bp)
				return werr
			}
		}
		full := n == len(*bp)
		bufPool.Put(bp)
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return nil
			}
			return rerr
		}
		if adaptive && full {
			_, err := io.Copy(dst, src)
			return err
		}
	}
}

func protoServe(ln net.Listener, variant string) {
	d := net.Dialer{}
	if variant != "splice" {
		d.KeepAlive = -1
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func(cli *net.TCPConn) {
			defer cli.Close()
			sc, err := d.Dial("tcp", backendAddr)
			if err != nil {
				return
			}
			srv := sc.(*net.TCPConn)
			defer srv.Close()
			pipe := func(dst, src *net.TCPConn) {
				switch variant {
				case "splice":
					_, _ = io.Copy(dst, src)
				default:
					_ = bufferedCopy(dst, src, variant == "adaptive")
				}
				_ = dst.CloseWrite()
			}
			done := make(chan struct{})
			go func() { pipe(srv, cli); close(done) }()
			pipe(cli, srv)
			<-done
		}(c.(*net.TCPConn))
	}
}

func protoVariant(ctx context.Context, e *env, variant string) (string, error) {
	lc := net.ListenConfig{}
	if variant != "splice" {
		lc.KeepAlive = -1
	}
	ln, err := lc.Listen(ctx, "tcp", proxyAddr)
	if err != nil {
		return "", err
	}
	defer ln.Close()
	go protoServe(ln, variant)
	row := "| " + variant
	for _, c := range []struct {
		path  string
		extra []string
	}{{smallPath, nil}, {smallPath, []string{"-H", "Connection: close"}}, {bigPath, nil}} {
		t0, _ := cpuSplit(os.Getpid())
		w, err := runWrk(ctx, e.dir, e.o, "http://"+proxyAddr+c.path, c.extra...)
		if err != nil {
			return "", err
		}
		t1, _ := cpuSplit(os.Getpid())
		d := t1.sub(t0)
		cpu := float64(time.Duration(d.U+d.S)*clockTick) / float64(time.Microsecond) / float64(w.Requests)
		if c.path == bigPath {
			row += fmt.Sprintf(" | %.2f | %.0f", w.perSec(w.Bytes)/1e9, cpu)
		} else {
			row += fmt.Sprintf(" | %.0f | %.1f", w.perSec(w.Requests), cpu)
		}
		fmt.Printf("%s %s %v: %.0f req/s, %.1f µs CPU per request\n", variant, c.path, c.extra, w.perSec(w.Requests), cpu)
	}
	// Descriptors held by 1,000 idle relayed connections.
	fd0 := fdCount(os.Getpid())
	s := &idleSet{}
	err = s.open(ctx, proxyAddr, smallPath, 1000)
	time.Sleep(500 * time.Millisecond)
	fd1 := fdCount(os.Getpid())
	s.close()
	if err != nil {
		return "", err
	}
	// The client's own descriptor is in this process too.
	row += fmt.Sprintf(" | %.1f |\n", float64(fd1-fd0)/1000-1)
	time.Sleep(500 * time.Millisecond)
	return row, nil
}
