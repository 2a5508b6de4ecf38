package keepalived

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"hapair/pkg/bgp/bgpproc"
	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/track"
)

// speaker is what the daemon needs of a BGP speaker (*bgpproc.Client: the
// gkeepalived-bgp process, GoBGP, which gkeepalived does not link).
type speaker interface {
	Announce(on bool) error
	Announced() bool
	Stop(ctx context.Context)
}

// startSpeaker starts the speaker process; tests replace it.
var startSpeaker = func(ctx context.Context, cfg bgpproc.Config, log zerolog.Logger) (speaker, error) {
	c, err := bgpproc.Start(ctx, "", cfg, log)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// checkSpeaker is `-t`'s check of a configuration with a bgp block: the
// speaker executable is there. keepalived's -t reports a vrrp_script whose
// script is missing and exits 5; so does ours for a missing speaker.
var checkSpeaker = func() error {
	_, err := bgpproc.FindSpeaker()
	return err
}

// bgpConfigTest is what -t adds for the bgp block: a message and an exit
// status (0: nothing to add).
func bgpConfigTest(cfg *keepalivedcfg.Config) (string, int) {
	if cfg == nil || cfg.BGP == nil {
		return "", keepalivedcfg.ExitOK
	}
	if err := checkSpeaker(); err != nil {
		return fmt.Sprintf("(%s: Line %d) %v\n", cfg.BGP.Pos.File, cfg.BGP.Pos.Line, err), keepalivedcfg.ExitConfigErrors
	}
	return "", keepalivedcfg.ExitOK
}

// runningBGP is the bgp block of the running configuration: the speaker
// process and the verdicts of the checks that gate the announcement.
type runningBGP struct {
	key string
	sp  speaker
	log zerolog.Logger

	mu     sync.Mutex
	checks map[string]bool // "script:NAME" / "process:NAME" -> up
	// announce is what the checks last asked for; written under mu so
	// verdicts that race apply in order.
	announce bool
}

// bgpSubscriber is the name the bgp block subscribes to scripts under (no
// vrrp_instance can be called that).
const bgpSubscriber = "\x00bgp"

func bgpKey(b *keepalivedcfg.BGP) string {
	if b == nil {
		return ""
	}
	c := *b
	c.Pos = keepalivedcfg.Pos{}
	c.Neighbors = append([]keepalivedcfg.BGPNeighbor(nil), b.Neighbors...)
	for i := range c.Neighbors {
		c.Neighbors[i].Pos = keepalivedcfg.Pos{}
	}
	k, _ := json.Marshal(c)
	return string(k)
}

// bgpScripts marks the vrrp_scripts the bgp block tracks as used, so that
// they run even when no instance tracks them.
func bgpScripts(cfg *keepalivedcfg.Config, used map[string]bool) {
	if cfg.BGP == nil {
		return
	}
	for _, name := range cfg.BGP.TrackScripts {
		used[name] = true
	}
}

func speakerConfig(b *keepalivedcfg.BGP) bgpproc.Config {
	c := bgpproc.Config{RouterID: b.RouterID, LocalAS: b.LocalAS, Prefixes: b.Announce, NextHop: b.NextHop}
	for _, n := range b.Neighbors {
		c.Neighbors = append(c.Neighbors, bgpproc.Neighbor{Address: n.Address, RemoteAS: n.RemoteAS, HoldTime: n.HoldTime, Keepalive: n.Keepalive, ConnectRetry: n.ConnectRetry})
	}
	return c
}

// applyBGP starts, keeps or replaces the speaker and points the tracked
// checks at it. It runs at the end of apply, once scripts and process
// counting run.
func (d *Daemon) applyBGP(cfg *keepalivedcfg.Config) {
	log := d.env.Log
	key := bgpKey(cfg.BGP)
	if d.bgp != nil && d.bgp.key != key {
		d.stopBGP(context.Background())
	}
	if cfg.BGP == nil {
		return
	}
	if d.bgp == nil {
		sp, err := startSpeaker(d.ctx, speakerConfig(cfg.BGP), log)
		if err != nil {
			// At start Daemon.Start fails with it; at a reload the
			// block stays withdrawn.
			d.bgpErr = err
			log.Error().Msgf("BGP: %v", err)
			return
		}
		log.Info().Msgf("BGP: router id %s, AS %d, %d neighbor(s); announcing %s while %s", cfg.BGP.RouterID, cfg.BGP.LocalAS,
			len(cfg.BGP.Neighbors), prefixList(cfg.BGP), checkList(cfg.BGP))
		d.bgp = &runningBGP{key: key, sp: sp, log: log}
	}
	r := d.bgp
	checks := map[string]bool{}
	for _, name := range cfg.BGP.TrackScripts {
		checks["script:"+name] = false // down until its first verdict
	}
	for _, name := range cfg.BGP.TrackProcesses {
		checks["process:"+name] = d.procs != nil && d.procs.w.Up(name)
	}
	r.mu.Lock()
	r.checks = checks
	r.mu.Unlock()
	if d.procs != nil {
		d.procs.mu.Lock()
		d.procs.bgp = func(name string, up bool) { r.set("process:"+name, up) }
		d.procs.mu.Unlock()
	}
	for _, name := range cfg.BGP.TrackScripts {
		s := d.scripts[name]
		if s == nil {
			// Removed by the script checks at start-up: it never passes.
			log.Error().Msgf("BGP: tracked script %s does not run: %s stays withdrawn", name, prefixList(cfg.BGP))
			continue
		}
		s.subscribe(bgpSubscriber, func(res track.Result) { r.set("script:"+res.Name, res.OK) })
	}
	r.update("")
}

func (r *runningBGP) set(check string, up bool) {
	r.mu.Lock()
	if old, ok := r.checks[check]; !ok || old == up {
		r.mu.Unlock()
		return
	}
	r.checks[check] = up
	r.mu.Unlock()
	state := "up"
	if !up {
		state = "down"
	}
	r.update(check + " " + state)
}

// update announces while every check is up and withdraws otherwise.
func (r *runningBGP) update(why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var down []string
	for name, up := range r.checks {
		if !up {
			down = append(down, name)
		}
	}
	sort.Strings(down)
	want := len(down) == 0
	if why == "" {
		why = "all tracked checks up"
		if !want {
			why = "down: " + strings.Join(down, ", ")
		}
	}
	if want == r.announce && want == r.sp.Announced() {
		return
	}
	if err := r.sp.Announce(want); err != nil {
		r.log.Error().Msgf("BGP: %v", err)
		return
	}
	r.announce = want
	if want {
		r.log.Info().Msgf("BGP: announcing (%s)", why)
	} else {
		r.log.Info().Msgf("BGP: withdrawing (%s)", why)
	}
}

// stopBGP withdraws the prefixes and closes the sessions (graceful: the
// routers drop this node's routes at once).
func (d *Daemon) stopBGP(ctx context.Context) {
	if d.bgp == nil {
		return
	}
	if d.procs != nil {
		d.procs.mu.Lock()
		d.procs.bgp = nil
		d.procs.mu.Unlock()
	}
	for _, s := range d.scripts {
		s.mu.Lock()
		delete(s.subscribers, bgpSubscriber)
		s.mu.Unlock()
	}
	d.bgp.sp.Stop(ctx)
	d.env.Log.Info().Msg("BGP: withdrawn, sessions closed")
	d.bgp = nil
}

func prefixList(b *keepalivedcfg.BGP) string {
	s := make([]string, len(b.Announce))
	for i, p := range b.Announce {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}

func checkList(b *keepalivedcfg.BGP) string {
	var s []string
	for _, n := range b.TrackScripts {
		s = append(s, "script "+n)
	}
	for _, n := range b.TrackProcesses {
		s = append(s, "process "+n)
	}
	if len(s) == 0 {
		return "running"
	}
	return fmt.Sprintf("%s up", strings.Join(s, ", "))
}

// dumpBGP is the bgp block's part of the data dump (SIGUSR1), our
// extension: keepalived has no such section.
func (d *Daemon) dumpBGP(b *strings.Builder) {
	if d.cfg == nil || d.cfg.BGP == nil {
		return
	}
	c := d.cfg.BGP
	b.WriteString("------< BGP (gkeepalived extension) >------\n")
	fmt.Fprintf(b, " Router ID = %s, local AS = %d\n", c.RouterID, c.LocalAS)
	for _, n := range c.Neighbors {
		fmt.Fprintf(b, " Neighbor = %s, remote AS = %d, hold time = %v, keepalive = %v\n", n.Address, n.RemoteAS, n.HoldTime, n.Keepalive)
	}
	state := "not running"
	var checks []string
	if r := d.bgp; r != nil {
		state = "withdrawn"
		if r.sp.Announced() {
			state = "announced"
		}
		r.mu.Lock()
		for name, up := range r.checks {
			checks = append(checks, fmt.Sprintf("%s %s", name, map[bool]string{true: "up", false: "down"}[up]))
		}
		r.mu.Unlock()
		sort.Strings(checks)
	}
	fmt.Fprintf(b, " Announce = %s (%s)\n", prefixList(c), state)
	if r := d.bgp; r != nil {
		if cl, ok := r.sp.(*bgpproc.Client); ok {
			st, pid, err := cl.Status()
			if err != nil {
				fmt.Fprintf(b, " Speaker = %s (%v)\n", bgpproc.SpeakerName, err)
			} else {
				fmt.Fprintf(b, " Speaker = %s pid %d\n", bgpproc.SpeakerName, pid)
				for _, n := range st.Neighbors {
					fmt.Fprintf(b, " Session = %s %s\n", n.Address, n.State)
				}
			}
		}
	}
	for _, ch := range checks {
		fmt.Fprintf(b, " Tracked = %s\n", ch)
	}
}
