package bgpproc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"
)

// Speaker is a running BGP speaker (pkg/bgp's, or a test's).
type Speaker interface {
	Announce(on bool) error
	Announced() bool
	Neighbors() []NeighborStatus
	// Stop withdraws the prefixes and closes the sessions.
	Stop(ctx context.Context)
}

// StartFunc starts a speaker for a configuration.
type StartFunc func(ctx context.Context, cfg Config, log zerolog.Logger) (Speaker, error)

// StopTimeout bounds the speaker's graceful stop (withdraw, Cease).
const StopTimeout = 5 * time.Second

// Serve is the speaker process's side: it answers the requests read from
// conn until a stop request, the end of conn (the parent is gone) or ctx's
// end (SIGTERM), and in each case withdraws and stops the speaker first.
func Serve(ctx context.Context, conn io.ReadWriter, start StartFunc, log zerolog.Logger) error {
	reqs := make(chan Request)
	readErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(conn)
		sc.Buffer(make([]byte, 0, 4096), maxLine)
		for sc.Scan() {
			var r Request
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				readErr <- fmt.Errorf("bad request %q: %w", sc.Text(), err)
				return
			}
			select {
			case reqs <- r:
			case <-ctx.Done():
				return
			}
		}
		err := sc.Err()
		if err == nil {
			err = io.EOF
		}
		readErr <- err
	}()
	var sp Speaker
	stop := func() {
		if sp == nil {
			return
		}
		sctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
		defer cancel()
		sp.Stop(sctx)
		sp = nil
	}
	defer stop()
	enc := json.NewEncoder(conn)
	for {
		var r Request
		select {
		case <-ctx.Done():
			log.Info().Msg("BGP speaker: signalled, withdrawing and stopping")
			return nil
		case err := <-readErr:
			if errors.Is(err, io.EOF) {
				log.Info().Msg("BGP speaker: gkeepalived went away, withdrawing and stopping")
				return nil
			}
			return err
		case r = <-reqs:
		}
		resp := Response{V: Version, ID: r.ID}
		err := func() error {
			if r.V != Version {
				return fmt.Errorf("protocol version %d, this speaker speaks %d", r.V, Version)
			}
			switch r.Op {
			case OpConfigure:
				if sp != nil {
					return errors.New("already configured")
				}
				if r.Config == nil {
					return errors.New("configure without a configuration")
				}
				s, err := start(ctx, *r.Config, log)
				if err != nil {
					return err
				}
				sp = s
				return nil
			case OpStop:
				stop()
				return nil
			}
			if sp == nil {
				return fmt.Errorf("%s before configure", r.Op)
			}
			switch r.Op {
			case OpAnnounce, OpWithdraw:
				if err := sp.Announce(r.Op == OpAnnounce); err != nil {
					return err
				}
			case OpStatus:
			default:
				return fmt.Errorf("unknown operation %q", r.Op)
			}
			resp.Status = &Status{Announced: sp.Announced(), Neighbors: sp.Neighbors()}
			return nil
		}()
		if err != nil {
			resp.Error = err.Error()
		}
		if werr := enc.Encode(resp); werr != nil {
			return fmt.Errorf("answering %s: %w", r.Op, werr)
		}
		if r.Op == OpStop && err == nil {
			return nil
		}
	}
}
