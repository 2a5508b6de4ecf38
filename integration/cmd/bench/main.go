// Command bench measures gproxy against haproxy 2.6 and direct connections,
// and gkeepalived against keepalived 2.2.7, in one run, and writes the table
// of ratios with the raw figures to bench/results.md. Needs root (the VRRP
// part runs in private network namespaces).
//
//	go run ./integration/cmd/bench [-out bench] [-d 6s] [-idle 5000] [-idle-max 8000] [-vrrp-window 20s]
//	go run ./integration/cmd/bench -profile   # gproxy's engine in-process, pprof of (a)-(c): bench/profile.md
//	go run ./integration/cmd/bench -profile-http # the same for the mode http rows (g): bench/profile-http.md
//	go run ./integration/cmd/bench -profile-tls  # the same for the TLS and HTTP/2 rows (h): bench/profile-tls.md
//	go run ./integration/cmd/bench -proto     # relay prototypes (splice, buffered, adaptive): bench/proto.md
//	go run ./integration/cmd/bench -tls       # TLS termination against haproxy: bench/tls.md
//	go run ./integration/cmd/bench -http-only # only the mode http rows: bench/http.md
//	go run ./integration/cmd/bench -tcp-only [-before BIN] [-rounds 2] [-strace] # mode tcp rows: bench/tcp.md
//
// Everything runs on loopback 127.77.0.0/24 (nginx, the proxies, wrk). The
// proxy under test is pinned to CPU 1, nginx, wrk and this program's load
// generator to CPU 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

// Addresses on loopback; unusual ones so other tests' ports do not collide.
const (
	backendAddr = "127.77.0.1:8080"
	proxyAddr   = "127.77.0.2:8000"
	cpuLoad     = "0" // wrk, nginx, the Go load generator
	cpuProxy    = "1" // the proxy under test
	envPinned   = "HAPAIR_BENCH_PINNED"
)

type options struct {
	out        string        // directory for results.md and tmp/
	dur        time.Duration // length of each load case
	conns      int           // wrk connections
	idle       int           // idle proxied connections for (e)
	idleMax    int           // then try to hold this many
	vrrpWindow time.Duration // idle measurement window per VRRP daemon
	profile    bool
	proto      bool
	tls        bool
	vrrpOnly   bool
	httpOnly   bool
	profHTTP   bool
	profTLS    bool
	baseBin    string // with -http-only: a gproxy binary to measure too, as "before"
	loadCPUs   string // CPU list for wrk and h2load; "" is cpuLoad
	skipVRRP   bool
	tcpOnly    bool
	rounds     int  // -tcp-only: rounds over the targets
	strace     bool // -tcp-only: also count system calls per request
}

// fdLimit is this process's RLIMIT_NOFILE hard limit, which main also
// makes the soft limit of every process the bench starts.
var fdLimit uint64

// raiseNOFILE sets the soft descriptor limit to the hard one. Go raises
// its own soft limit at start but gives children the original one back;
// an explicit Setrlimit makes the raised limit the one children inherit
// (haproxy, gproxy and nginx then all start with it).
func raiseNOFILE() error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit NOFILE: %w", err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("setrlimit NOFILE %d: %w", lim.Max, err)
	}
	fdLimit = lim.Max
	return nil
}

// fitIdle caps the idle-connection counts to what the descriptor limit
// allows: the proxy needs two descriptors per proxied connection (client
// and server side) and this program one, with some to spare.
func (o *options) fitIdle() {
	most := int(fdLimit/2) - 500
	if o.idle > most {
		fmt.Printf("bench: -idle %d needs more than %d descriptors; using %d\n", o.idle, fdLimit, most)
		o.idle = most
	}
	if o.idleMax > most {
		fmt.Printf("bench: -idle-max %d needs more than %d descriptors; using %d\n", o.idleMax, fdLimit, most)
		o.idleMax = most
	}
}

func main() {
	var o options
	flag.StringVar(&o.out, "out", "bench", "directory for results.md (tmp/ under it holds configs, logs, binaries)")
	flag.DurationVar(&o.dur, "d", 6*time.Second, "length of each load case")
	flag.IntVar(&o.conns, "c", 50, "wrk connections")
	flag.IntVar(&o.idle, "idle", 5000, "idle proxied connections for the RSS case, in mode tcp and mode http (the proxy needs two descriptors each: capped to half the RLIMIT_NOFILE hard limit, 20,000 here)")
	flag.IntVar(&o.idleMax, "idle-max", 8000, "then add connections up to this many and report how many the proxy holds (mode tcp; haproxy's maxconn is 9000)")
	flag.DurationVar(&o.vrrpWindow, "vrrp-window", 20*time.Second, "idle CPU/RSS window per VRRP daemon")
	flag.BoolVar(&o.skipVRRP, "skip-vrrp", false, "leave the VRRP rows out of the comparison (a quicker check of the proxy rows)")
	flag.BoolVar(&o.profile, "profile", false, "instead of the comparison, run gproxy's engine in this process and write CPU profiles of (a)-(c) to <out>/profile.md")
	flag.BoolVar(&o.proto, "proto", false, "instead of the comparison, measure minimal relay prototypes (splice, buffered, adaptive) in this process; writes <out>/proto.md")
	flag.BoolVar(&o.tls, "tls", false, "instead of the comparison, measure TLS termination (handshakes, requests over TLS) against haproxy; writes <out>/tls.md")
	flag.BoolVar(&o.vrrpOnly, "vrrp-only", false, "instead of the comparison, run only the VRRP rows (1, 100, 1,000 instances); writes <out>/vrrp.md")
	flag.BoolVar(&o.httpOnly, "http-only", false, "instead of the comparison, run only the mode http rows (plain and L7 rules, keep-alive and close); writes <out>/http.md")
	flag.BoolVar(&o.profHTTP, "profile-http", false, "instead of the comparison, run gproxy's engine in this process with the mode http configurations and write CPU and allocation profiles to <out>/profile-http.md")
	flag.BoolVar(&o.profTLS, "profile-tls", false, "instead of the comparison, run gproxy's engine in this process with the TLS configuration of the (h) rows (keep-alive, new connection, HTTP/2) and write CPU and allocation profiles and both proxies' system calls to <out>/profile-tls.md")
	flag.StringVar(&o.baseBin, "before", "", "with -http-only, -tcp-only or -tls: also measure this gproxy binary (e.g. built from the branch point), as gproxy-before, in the same run (with -profile-http: its system calls per request); with -vrrp-only, this gkeepalived binary as gkeepalived-before")
	flag.BoolVar(&o.tcpOnly, "tcp-only", false, "instead of the comparison, run only the mode tcp rows (a)-(c) with CPU per request and (e) RSS per idle connection, for haproxy, gproxy and -before BINARY; writes <out>/tcp.md")
	flag.IntVar(&o.rounds, "rounds", 2, "with -tcp-only: rounds over the targets, alternating their order")
	flag.BoolVar(&o.strace, "strace", false, "with -tcp-only: also count each target's system calls per request (strace -c -f)")
	child := flag.String("vrrp-child", "", "internal: run one VRRP daemon measurement inside a private namespace")
	childN := flag.Int("vrrp-instances", 1, "internal")
	flag.Parse()

	if *child != "" {
		os.Exit(vrrpChild(*child, *childN, o))
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench: needs root: the VRRP part runs keepalived and gkeepalived in private network namespaces (unshare --net); run as root")
		os.Exit(1)
	}
	// Pin this process (the fixed-rate load generator, the idle
	// connections' client) to the load CPU, or to the proxy's CPU when it
	// runs the engine itself, by running again under taskset.
	if os.Getenv(envPinned) == "" {
		cpu := cpuLoad
		if o.profile || o.proto || o.profHTTP || o.profTLS {
			cpu = cpuProxy
		}
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		// In a network namespace of its own: the loopback addresses below
		// are the same in every copy of this program, and benches of
		// other worktrees run at the same time on this machine (two
		// proxies with SO_REUSEPORT on one address share its connections;
		// a second nginx fails to bind and the first one answers).
		cmd := exec.Command("unshare", append([]string{"--net", "--", "taskset", "-c", cpu, exe}, os.Args[1:]...)...)
		cmd.Env = append(os.Environ(), envPinned+"=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		signal.Ignore(os.Interrupt, syscall.SIGTERM) // the child gets them and cleans up
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				os.Exit(ee.ExitCode())
			}
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: ip link set lo up in the bench's network namespace: %v: %s\n", err, out)
		os.Exit(1)
	}
	if err := raiseNOFILE(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	o.fitIdle()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch {
	case o.profile:
		err = runProfile(ctx, o)
	case o.proto:
		err = runProto(ctx, o)
	case o.tls:
		err = runTLS(ctx, o)
	case o.vrrpOnly:
		err = runVRRP(ctx, o)
	case o.profHTTP:
		err = runProfileHTTP(ctx, o)
	case o.profTLS:
		err = runProfileTLS(ctx, o)
	case o.httpOnly:
		err = runHTTPOnly(ctx, o)
	case o.tcpOnly:
		err = runTCPOnly(ctx, o)
	default:
		err = run(ctx, o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
