// Command gkeepalived-bgp is the BGP speaker of gkeepalived's bgp block
// (our extension, README "Scaling out"): GoBGP in a process of its own, so
// that gkeepalived does not link it. gkeepalived starts it only when its
// configuration has a bgp block and drives it over the socketpair at -fd
// (pkg/bgp/bgpproc's protocol); it is not meant to be run by hand. It logs
// to stderr, which gkeepalived relays into its own log.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"

	"hapair/pkg/bgp"
	"hapair/pkg/bgp/bgpproc"
)

func main() {
	fd := flag.Int("fd", 3, "descriptor of the socket to gkeepalived")
	version := flag.Bool("version", false, "print the protocol version and exit")
	flag.Parse()
	if *version {
		fmt.Printf("gkeepalived-bgp protocol %d\n", bgpproc.Version)
		return
	}
	log := zerolog.New(os.Stderr)
	// Had gkeepalived died before PR_SET_PDEATHSIG took hold, the socket
	// reads end of file at once: Serve stops.
	parent := os.Getppid()
	conn := os.NewFile(uintptr(*fd), "gkeepalived")
	// SIGTERM stops the speaker only once gkeepalived is gone (the death
	// signal): while it lives, a SIGTERM sent to the whole service (systemd
	// stopping the unit) is gkeepalived's to act on, and it stops this
	// speaker itself, withdrawing first. SIGINT and SIGHUP are gkeepalived's.
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP)
	// Once gkeepalived is gone, so is the reader of our stderr: a log
	// line must not kill us with SIGPIPE before we withdraw (Go raises
	// it for writes to fd 1 and 2 unless SIGPIPE is being notified).
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for range term {
			if os.Getppid() != parent {
				cancel()
				return
			}
		}
	}()
	if err := bgpproc.Serve(ctx, conn, bgp.StartProc, log); err != nil {
		log.Error().Msgf("BGP speaker: %v", err)
		os.Exit(1)
	}
}
