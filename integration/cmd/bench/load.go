package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// wrkResult is what wrk's done() hook prints (exact counts, not the
// rounded human summary).
type wrkResult struct {
	Requests int64
	Bytes    int64
	Duration time.Duration
	Errors   int64 // connect+read+write+timeout+non-2xx
	Status   int64 // non-2xx responses alone
	Load     loadCPU
	Busy     [2]float64 // share of the run each of CPU 0 and 1 was busy, all processes (/proc/stat)
}

// cpuJiffies is /proc/stat's busy and total time of CPU 0 and CPU 1.
type cpuJiffies struct{ busy, total [2]int64 }

func readJiffies() cpuJiffies {
	var j cpuJiffies
	for _, l := range strings.Split(readFile("/proc/stat"), "\n") {
		f := strings.Fields(l)
		if len(f) < 9 || (f[0] != "cpu0" && f[0] != "cpu1") {
			continue
		}
		i := int(f[0][3] - '0')
		for k, v := range f[1:9] { // user nice system idle iowait irq softirq steal
			n, _ := strconv.ParseInt(v, 10, 64)
			j.total[i] += n
			if k != 3 && k != 4 {
				j.busy[i] += n
			}
		}
	}
	return j
}

// busySince is the share of time each CPU was busy since j0.
func busySince(j0 cpuJiffies) [2]float64 {
	j1 := readJiffies()
	var b [2]float64
	for i := range b {
		if t := j1.total[i] - j0.total[i]; t > 0 {
			b[i] = float64(j1.busy[i]-j0.busy[i]) / float64(t)
		}
	}
	return b
}

// answered fails when the proxy answered with a status other than 2xx:
// its figures would not measure the case. Socket errors and timeouts
// (wrk's 2 s), which a loaded machine causes for either proxy, stay
// figures: counted in Errors and printed with the raw figures.
func (r wrkResult) answered() error {
	if r.Status > 0 {
		return fmt.Errorf("%d of %d responses were not 2xx (wrk)", r.Status, r.Requests)
	}
	return nil
}

// loadCPU is what the client and the server used over one run: the
// client's (wrk's, h2load's) user+system time from its rusage, nginx's
// from its processes' schedstat. Both are the "machine" a proxy sits
// between: a proxy that costs less per request than the two together is
// not what limits the rate on two cores.
type loadCPU struct {
	Client, Server time.Duration
}

func (l loadCPU) add(o loadCPU) loadCPU { return loadCPU{l.Client + o.Client, l.Server + o.Server} }

// total is client and server together.
func (l loadCPU) total() time.Duration { return l.Client + l.Server }

// nginxPIDs are nginx's master and worker (set by prepare) whose CPU each
// load run records.
var nginxPIDs []int

// serverCPU is the CPU time nginx's processes have used so far.
func serverCPU() time.Duration {
	var sum time.Duration
	for _, p := range nginxPIDs {
		sum += cpuTime(p)
	}
	return sum
}

// clientCPU is the user+system time of a finished client command (taskset
// execs the client in place: its rusage is the client's).
func clientCPU(cmd *exec.Cmd) time.Duration {
	if cmd.ProcessState == nil {
		return 0
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// wrkCPUs is the CPU list wrk runs on: the load CPU unless the options
// say otherwise (the unpinned 2-thread case).
func (o options) wrkCPUs() string {
	if o.loadCPUs != "" {
		return o.loadCPUs
	}
	return cpuLoad
}

func (r wrkResult) perSec(n int64) float64 { return float64(n) / r.Duration.Seconds() }

const wrkScript = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d\n", summary.requests, summary.bytes,
    summary.duration, e.connect + e.read + e.write + e.timeout + e.status, e.status))
end
`

// runWrk runs wrk (one thread) on the load CPU against url; its result
// holds wrk's and nginx's CPU over the run.
func runWrk(ctx context.Context, dir string, o options, url string, extra ...string) (wrkResult, error) {
	script := filepath.Join(dir, "report.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
		return wrkResult{}, err
	}
	args := []string{"-c", o.wrkCPUs(), "wrk", "-t1", "-c", strconv.Itoa(o.conns), "-d", o.dur.String(), "-s", script}
	args = append(args, extra...)
	args = append(args, url)
	ctx, cancel := context.WithTimeout(ctx, o.dur+30*time.Second)
	defer cancel()
	s0, j0 := serverCPU(), readJiffies()
	cmd := exec.CommandContext(ctx, "taskset", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w: %s", url, err, out)
	}
	load := loadCPU{Client: clientCPU(cmd), Server: serverCPU() - s0}
	busy := busySince(j0)
	for _, l := range strings.Split(string(out), "\n") {
		if f, ok := strings.CutPrefix(l, "BENCH "); ok {
			var r wrkResult
			var us int64
			if _, err := fmt.Sscan(f, &r.Requests, &r.Bytes, &us, &r.Errors, &r.Status); err != nil {
				return wrkResult{}, fmt.Errorf("wrk output %q: %w", l, err)
			}
			r.Duration = time.Duration(us) * time.Microsecond
			r.Load, r.Busy = load, busy
			return r, nil
		}
	}
	return wrkResult{}, fmt.Errorf("wrk %s: no summary in %s", url, out)
}

// httpConn is one keep-alive HTTP/1.1 client connection.
type httpConn struct {
	c   net.Conn
	br  *bufio.Reader
	req []byte
}

func dialHTTP(addr, path string) (*httpConn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	return &httpConn{c: c, br: bufio.NewReaderSize(c, 16<<10),
		req: []byte("GET " + path + " HTTP/1.1\r\nHost: bench\r\n\r\n")}, nil
}

// do sends one request and reads the whole response (Content-Length
// bodies, as nginx sends for static files).
func (h *httpConn) do() error {
	if _, err := h.c.Write(h.req); err != nil {
		return err
	}
	status := true
	clen := -1
	for {
		l, err := h.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if status {
			if !strings.HasPrefix(string(l), "HTTP/1.1 200") {
				return fmt.Errorf("status %q", strings.TrimSpace(string(l)))
			}
			status = false
			continue
		}
		if len(l) <= 2 {
			break
		}
		if k, v, ok := strings.Cut(string(l), ":"); ok && strings.EqualFold(k, "Content-Length") {
			clen, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if clen < 0 {
		return errors.New("no Content-Length")
	}
	_, err := h.br.Discard(clen)
	return err
}

// rateResult is the outcome of a fixed-rate run.
type rateResult struct {
	Rate            int // requested
	Achieved        float64
	P50, P99, P999  time.Duration
	Samples, Errors int
	Late            int // requests that could not be scheduled (every connection busy, backlog full)
	Conns           int
}

// fixedRate issues GET path at rate requests per second over conns
// keep-alive connections for dur. Each request has an intended start time
// on a fixed schedule and its latency counts from that time, so a stall
// delays the requests behind it and shows in the percentiles (no
// coordinated omission). The first second is warm-up and not recorded.
func fixedRate(ctx context.Context, addr, path string, rate, conns int, dur time.Duration) (*rateResult, error) {
	res := &rateResult{Rate: rate, Conns: conns}
	hs := make([]*httpConn, 0, conns)
	defer func() {
		for _, h := range hs {
			h.c.Close()
		}
	}()
	for i := 0; i < conns; i++ {
		h, err := dialHTTP(addr, path)
		if err != nil {
			return nil, fmt.Errorf("fixed-rate dial %s: %w", addr, err)
		}
		hs = append(hs, h)
	}
	warm := time.Second
	total := int(float64(rate) * (dur + warm).Seconds())
	tickets := make(chan time.Time, rate) // at most 1 s of backlog
	var mu sync.Mutex
	lat := make([]time.Duration, 0, total)
	start := time.Now().Add(10 * time.Millisecond)
	recordFrom := start.Add(warm)
	var wg sync.WaitGroup
	for _, h := range hs {
		wg.Add(1)
		go func(h *httpConn) {
			defer wg.Done()
			local := make([]time.Duration, 0, total/conns+16)
			errs := 0
			for t := range tickets {
				if err := h.do(); err != nil {
					errs++
					if errs > 10 {
						break
					}
					continue
				}
				if !t.Before(recordFrom) {
					local = append(local, time.Since(t))
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			res.Errors += errs
			mu.Unlock()
		}(h)
	}
	interval := time.Second / time.Duration(rate)
	for i := 0; i < total && ctx.Err() == nil; i++ {
		t := start.Add(time.Duration(i) * interval)
		if d := time.Until(t); d > 0 {
			time.Sleep(d)
		}
		select {
		case tickets <- t:
		default:
			res.Late++
		}
	}
	close(tickets)
	wg.Wait()
	if len(lat) == 0 {
		return nil, fmt.Errorf("fixed-rate %s: no sample", addr)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	res.P50, res.P99, res.P999 = q(0.50), q(0.99), q(0.999)
	res.Samples = len(lat)
	res.Achieved = float64(len(lat)) / dur.Seconds()
	return res, ctx.Err()
}

// idleSet holds connections opened through a proxy, each of which has
// carried one request, so the whole path (client-proxy-nginx) is
// established and has moved data; they stay open until close.
type idleSet struct {
	hs []*httpConn
}

// open adds n connections to s. It stops at the first failure and
// returns it; s then holds the connections that succeeded.
func (s *idleSet) open(ctx context.Context, addr, path string, n int) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	next := make(chan int)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				h, err := dialHTTP(addr, path)
				if err == nil {
					_ = h.c.SetDeadline(time.Now().Add(10 * time.Second))
					err = h.do()
					_ = h.c.SetDeadline(time.Time{})
				}
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("idle connection %d to %s: %w", len(s.hs)+1, addr, err)
					}
					if h != nil {
						h.c.Close()
					}
				} else {
					s.hs = append(s.hs, h)
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil && !failed(); i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// check makes sure every connection is still open: a read with a short
// deadline must time out, not see EOF or a reset.
func (s *idleSet) check() error {
	var dead atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			buf := make([]byte, 1)
			for i := w; i < len(s.hs); i += 64 {
				c := s.hs[i].c
				_ = c.SetReadDeadline(time.Now().Add(2 * time.Millisecond))
				_, err := c.Read(buf)
				var ne net.Error
				if !(errors.As(err, &ne) && ne.Timeout()) {
					dead.Add(1)
				}
				_ = c.SetReadDeadline(time.Time{})
			}
		}(w)
	}
	wg.Wait()
	if n := dead.Load(); n > 0 {
		return fmt.Errorf("%d of %d idle connections were closed", n, len(s.hs))
	}
	return nil
}

func (s *idleSet) close() {
	for _, h := range s.hs {
		if h != nil {
			h.c.Close()
		}
	}
}
