package gproxyd

import (
	"fmt"
	"syscall"

	"hapair/pkg/proxy"
)

// fdReserve is what the process needs besides its sessions' descriptors:
// listeners, log sockets, health checks, the stats socket.
const fdReserve = 64

// rlimInfinity is RLIM_INFINITY as the kernel reports it in a uint64.
const rlimInfinity = ^uint64(0)

// FDPlan is the outcome of matching maxconn to the open-file limit.
type FDPlan struct {
	Wanted  int    // global maxconn as configured
	MaxConn int    // what will be enforced
	Need    uint64 // descriptors the configured maxconn needs
	Limit   uint64 // the hard limit (RLIMIT_NOFILE)
	Clamped bool
}

// fdNeed is the descriptors maxconn sessions can hold at once: two sockets
// each, plus two per splice pipe, which the engine bounds to
// proxy.MaxPipes(maxconn) (haproxy's default maxpipes, maxconn/4, which
// haproxy counts the same way); an idle session holds no pipe.
func fdNeed(maxconn int) uint64 {
	return uint64(proxy.FDsPerConn*maxconn + proxy.FDsPerPipe*max(proxy.MaxPipes(maxconn), 0) + fdReserve)
}

// Message explains a clamp the way an operator needs it: the limit, the
// need and the fix.
func (p FDPlan) Message() string {
	if !p.Clamped {
		return ""
	}
	return fmt.Sprintf("global maxconn %d needs %d open files (%d per connection, %d per splice pipe for up to %d pipes, + %d) "+
		"but the hard limit is %d; serving at most %d connections. To serve %d, raise the limit (LimitNOFILE=%d in the systemd unit, "+
		"or `ulimit -Hn %d` before starting) or lower maxconn",
		p.Wanted, p.Need, proxy.FDsPerConn, proxy.FDsPerPipe, max(proxy.MaxPipes(p.Wanted), 0), fdReserve, p.Limit,
		p.MaxConn, p.Wanted, p.Need, p.Need)
}

// PlanFDs decides the enforced global maxconn for a hard open-file limit:
// the largest that fits (fdNeed), so that accept never fails for lack of
// descriptors below maxconn. haproxy refuses to start when maxconn does not
// fit ("Cannot raise FD limit"); gproxy starts and clamps, saying so,
// because the seed's config (maxconn 20000) must run on machines whose hard
// limit is 20000.
func PlanFDs(maxconn int, hardLimit uint64) FDPlan {
	p := FDPlan{Wanted: maxconn, MaxConn: maxconn, Limit: hardLimit}
	p.Need = fdNeed(maxconn)
	if hardLimit == rlimInfinity || p.Need <= hardLimit {
		return p
	}
	p.Clamped = true
	// fdNeed grows by 2.5 per connection: start from that estimate and
	// step to the largest that fits.
	m := 1
	if hardLimit > fdReserve {
		m = int(float64(hardLimit-fdReserve) / 2.5)
	}
	for m > 1 && fdNeed(m) > hardLimit {
		m--
	}
	for fdNeed(m+1) <= hardLimit {
		m++
	}
	p.MaxConn = max(m, 1)
	return p
}

// RaiseFDLimit sets the soft open-file limit to what plan needs, at most the
// hard limit.
func RaiseFDLimit(need uint64) (syscall.Rlimit, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return lim, fmt.Errorf("reading the open-file limit: %w", err)
	}
	want := need
	if lim.Max != rlimInfinity && want > lim.Max {
		want = lim.Max
	}
	if lim.Cur < want {
		lim.Cur = want
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return lim, fmt.Errorf("raising the open-file limit to %d: %w", want, err)
		}
	}
	return lim, nil
}

// HardFDLimit returns RLIMIT_NOFILE's hard value.
func HardFDLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("reading the open-file limit: %w", err)
	}
	return lim.Max, nil
}
