// Package bgp announces a balancer's service prefixes to its routers over
// BGP, so that a router spreads flows over every healthy balancer (ECMP
// anycast). The BGP speaker is GoBGP (github.com/osrg/gobgp/v4), linked
// only into the speaker process gkeepalived-bgp (cmd/gkeepalived/bgpspeaker,
// driven by gkeepalived through pkg/bgp/bgpproc): this package only
// configures it (router id, AS, neighbors, timers, BFD)
// and adds or withdraws the prefixes when the node's health changes.
package bgp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"
	"github.com/rs/zerolog"

	"hapair/pkg/bgp/bgpproc"
)

// Neighbor and Config are the protocol's: gkeepalived sends them to the
// speaker process (pkg/bgp/bgpproc).
type (
	Neighbor = bgpproc.Neighbor
	Config   = bgpproc.Config
)

// ErrStopped is returned by a speaker that has been stopped.
var ErrStopped = errors.New("bgp: speaker stopped")

// Speaker is a running BGP speaker.
type Speaker struct {
	cfg Config
	log zerolog.Logger
	srv *server.BgpServer

	mu        sync.Mutex
	announced bool
	stopped   bool
	cancel    context.CancelFunc
	states    map[netip.Addr]string // neighbor -> session state
}

// Start runs a speaker: it connects to every neighbor and announces
// nothing until Announce(true).
func Start(ctx context.Context, cfg Config, log zerolog.Logger) (*Speaker, error) {
	if !cfg.RouterID.Is4() {
		return nil, fmt.Errorf("bgp: router id %v: want an IPv4 address", cfg.RouterID)
	}
	lvl := &slog.LevelVar{}
	lvl.Set(slog.LevelWarn)
	slogger := slog.New(slog.NewTextHandler(logWriter{log}, &slog.HandlerOptions{Level: lvl}))
	srv := server.NewBgpServer(server.LoggerOption(slogger, lvl))
	go srv.Serve()
	s := &Speaker{cfg: cfg, log: log, srv: srv, states: map[netip.Addr]string{}}
	for _, n := range cfg.Neighbors {
		s.states[n.Address] = "Idle"
	}
	port := int32(-1)
	if cfg.ListenPort > 0 {
		port = int32(cfg.ListenPort)
	}
	if err := srv.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn: cfg.LocalAS, RouterId: cfg.RouterID.String(), ListenPort: port,
	}}); err != nil {
		srv.Stop()
		return nil, fmt.Errorf("bgp: starting: %w", err)
	}
	wctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if err := srv.WatchEvent(wctx, server.WatchEventMessageCallbacks{
		OnPeerUpdate: func(ev *apiutil.WatchEventMessage_PeerEvent, _ time.Time) {
			if ev.Type == apiutil.PEER_EVENT_STATE {
				s.mu.Lock()
				s.states[ev.Peer.State.NeighborAddress] = stateName(ev.Peer.State.SessionState)
				s.mu.Unlock()
				log.Info().Msgf("BGP neighbor %s (AS %d): %s", ev.Peer.State.NeighborAddress, ev.Peer.State.PeerASN, stateName(ev.Peer.State.SessionState))
			}
		},
	}, server.WatchPeer()); err != nil {
		s.stop(ctx)
		return nil, fmt.Errorf("bgp: watching peers: %w", err)
	}
	for _, n := range cfg.Neighbors {
		if err := srv.AddPeer(ctx, &api.AddPeerRequest{Peer: peer(n)}); err != nil {
			s.stop(ctx)
			return nil, fmt.Errorf("bgp: neighbor %s: %w", n.Address, err)
		}
	}
	return s, nil
}

func stateName(s bgp.FSMState) string {
	switch s {
	case bgp.BGP_FSM_IDLE:
		return "Idle"
	case bgp.BGP_FSM_CONNECT:
		return "Connect"
	case bgp.BGP_FSM_ACTIVE:
		return "Active"
	case bgp.BGP_FSM_OPENSENT:
		return "OpenSent"
	case bgp.BGP_FSM_OPENCONFIRM:
		return "OpenConfirm"
	case bgp.BGP_FSM_ESTABLISHED:
		return "Established"
	}
	return fmt.Sprintf("state %d", int(s))
}

func seconds(d time.Duration) uint64 { return uint64((d + time.Second/2) / time.Second) }

func peer(n Neighbor) *api.Peer {
	p := &api.Peer{
		Conf: &api.PeerConf{NeighborAddress: n.Address.String(), PeerAsn: n.RemoteAS},
		Timers: &api.Timers{Config: &api.TimersConfig{
			HoldTime: seconds(n.HoldTime), KeepaliveInterval: seconds(n.Keepalive),
			ConnectRetry: seconds(n.ConnectRetry),
		}},
	}
	return p
}

// paths are the announced prefixes as GoBGP paths (origin IGP, IPv4).
func (s *Speaker) paths() ([]*apiutil.Path, error) {
	var out []*apiutil.Path
	for _, p := range s.cfg.Prefixes {
		nlri, err := bgp.NewIPAddrPrefix(p)
		if err != nil {
			return nil, fmt.Errorf("bgp: prefix %s: %w", p, err)
		}
		if !p.Addr().Is4() {
			return nil, fmt.Errorf("bgp: prefix %s: only IPv4 is implemented", p)
		}
		nh := s.cfg.NextHop
		if !nh.IsValid() {
			// 0.0.0.0: GoBGP puts the session's local address.
			nh = netip.IPv4Unspecified()
		}
		a, err := bgp.NewPathAttributeNextHop(nh)
		if err != nil {
			return nil, fmt.Errorf("bgp: next hop %s: %w", nh, err)
		}
		attrs := []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP), a}
		fam := bgp.RF_IPv4_UC
		out = append(out, &apiutil.Path{Family: fam, Nlri: nlri, Attrs: attrs})
	}
	return out, nil
}

// Announce adds (on) or withdraws (off) the configured prefixes; the
// routers hear of it at once (an UPDATE to every established neighbor).
func (s *Speaker) Announce(on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	if s.announced == on {
		return nil
	}
	paths, err := s.paths()
	if err != nil {
		return err
	}
	if on {
		resp, err := s.srv.AddPath(apiutil.AddPathRequest{Paths: paths})
		if err == nil {
			for _, r := range resp {
				if r.Error != nil {
					err = r.Error
					break
				}
			}
		}
		if err != nil {
			return fmt.Errorf("bgp: announcing %v: %w", s.cfg.Prefixes, err)
		}
	} else if err := s.srv.DeletePath(apiutil.DeletePathRequest{Paths: paths}); err != nil {
		return fmt.Errorf("bgp: withdrawing %v: %w", s.cfg.Prefixes, err)
	}
	s.announced = on
	return nil
}

// Announced reports whether the prefixes are announced.
func (s *Speaker) Announced() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.announced
}

// Neighbors reports every session's state.
func (s *Speaker) Neighbors() []bgpproc.NeighborStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]bgpproc.NeighborStatus, 0, len(s.cfg.Neighbors))
	for _, n := range s.cfg.Neighbors {
		out = append(out, bgpproc.NeighborStatus{Address: n.Address, State: s.states[n.Address]})
	}
	return out
}

// Stop withdraws the prefixes, then closes every session with a Cease
// NOTIFICATION (RFC 4486 Administrative Shutdown): the routers drop this
// node's routes at once rather than when the hold timer expires.
func (s *Speaker) Stop(ctx context.Context) {
	if err := s.Announce(false); err != nil && !errors.Is(err, ErrStopped) {
		s.log.Warn().Msgf("%v", err)
	}
	s.stop(ctx)
}

func (s *Speaker) stop(ctx context.Context) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	s.mu.Unlock()
	for _, n := range s.cfg.Neighbors {
		// ShutdownPeer sends the Cease, as `gobgp neighbor X shutdown`.
		_ = s.srv.ShutdownPeer(ctx, &api.ShutdownPeerRequest{Address: n.Address.String(), Communication: "gkeepalived stopping"})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.srv.StopBgp(ctx, &api.StopBgpRequest{})
		s.srv.Stop()
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.log.Warn().Msg("BGP speaker did not stop in time")
	}
	if s.cancel != nil {
		s.cancel()
	}
}

// logWriter sends GoBGP's own log lines (warnings and errors) to ours.
type logWriter struct{ log zerolog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Warn().Msgf("BGP: %s", trimNL(p))
	return len(p), nil
}

func trimNL(p []byte) string {
	for len(p) > 0 && p[len(p)-1] == '\n' {
		p = p[:len(p)-1]
	}
	return string(p)
}

// StartProc is Start for the speaker process's bgpproc.Serve.
func StartProc(ctx context.Context, cfg Config, log zerolog.Logger) (bgpproc.Speaker, error) {
	s, err := Start(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return s, nil
}
