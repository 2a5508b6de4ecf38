package gproxyd

import (
	"fmt"
	"syscall"
)

// fdReserve is what the process needs besides two descriptors per proxied
// connection: listeners, log sockets, health checks, the stats socket.
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

// Message explains a clamp the way an operator needs it: the limit, the
// need and the fix.
func (p FDPlan) Message() string {
	if !p.Clamped {
		return ""
	}
	return fmt.Sprintf("global maxconn %d needs %d open files (2 per connection + %d) but the hard limit is %d; "+
		"serving at most %d connections. To serve %d, raise the limit (LimitNOFILE=%d in the systemd unit, "+
		"or `ulimit -Hn %d` before starting) or lower maxconn",
		p.Wanted, p.Need, fdReserve, p.Limit, p.MaxConn, p.Wanted, p.Need, p.Need)
}

// PlanFDs decides the enforced global maxconn for a hard open-file limit.
// haproxy refuses to start when maxconn does not fit ("Cannot raise FD
// limit"); gproxy starts and clamps, saying so, because the seed's config
// (maxconn 20000) must run on machines whose hard limit is 20000.
func PlanFDs(maxconn int, hardLimit uint64) FDPlan {
	p := FDPlan{Wanted: maxconn, MaxConn: maxconn, Limit: hardLimit}
	p.Need = uint64(2*maxconn + fdReserve)
	if hardLimit == rlimInfinity || p.Need <= hardLimit {
		return p
	}
	p.Clamped = true
	if hardLimit > fdReserve+2 {
		p.MaxConn = int((hardLimit - fdReserve) / 2)
	} else {
		p.MaxConn = 1
	}
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
