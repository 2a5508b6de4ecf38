package keepalived

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"

	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/track"
	"hapair/pkg/vrrpfsm"
)

// runningProcs is the vrrp_track_process counter of the running
// configuration and the instances it reports to.
type runningProcs struct {
	w      *track.ProcessWatcher
	key    string
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	subs map[string][]*vrrpfsm.Instance // tracked process -> instances tracking it
	bgp  func(name string, up bool)     // the bgp block's gate (bgp.go); nil = none
}

func (r *runningProcs) change(name string, up bool) {
	r.mu.Lock()
	subs, bgp := r.subs[name], r.bgp
	r.mu.Unlock()
	if bgp != nil {
		bgp(name, up)
	}
	for _, fsm := range subs {
		fsm.SetTrack("process:"+name, up)
	}
}

func processKey(cfg *keepalivedcfg.Config) string {
	var ps []keepalivedcfg.TrackedProcess
	for _, p := range cfg.Processes {
		c := *p
		c.Pos = keepalivedcfg.Pos{}
		ps = append(ps, c)
	}
	b, _ := json.Marshal(ps)
	return string(b)
}

// applyProcesses starts counting the configured processes (a scan of
// /proc, then the kernel's events), or keeps the running counter when
// the vrrp_track_process blocks did not change on reload.
func (d *Daemon) applyProcesses(cfg *keepalivedcfg.Config) {
	key := processKey(cfg)
	if d.procs != nil && d.procs.key == key {
		return
	}
	d.stopProcesses()
	if len(cfg.Processes) == 0 {
		return
	}
	var specs []track.ProcessSpec
	for _, p := range cfg.Processes {
		specs = append(specs, track.ProcessSpec{
			Name: p.Name, Process: p.Process, Params: p.Params, Match: track.ParamMatch(p.ParamMatch),
			FullCommand: p.FullCommand, Quorum: p.Quorum, QuorumMax: p.QuorumMax,
			ForkDelay: p.ForkDelay, TerminateDelay: p.TerminateDelay,
		})
	}
	r := &runningProcs{key: key, done: make(chan struct{}), subs: map[string][]*vrrpfsm.Instance{}}
	r.w = track.StartProcessWatcher(specs, r.change, d.env.Log)
	ctx, cancel := context.WithCancel(d.ctx)
	r.cancel = cancel
	go func() {
		defer close(r.done)
		r.w.Run(ctx)
	}()
	d.procs = r
}

// subscribeProcesses points the counter at the running instances; those
// kept over a reload get the new counter's states.
func (d *Daemon) subscribeProcesses(cfg *keepalivedcfg.Config, isNew map[*node]bool) {
	if d.procs == nil {
		return
	}
	subs := map[string][]*vrrpfsm.Instance{}
	kept := map[string][]*vrrpfsm.Instance{}
	for _, in := range cfg.Instances {
		n := d.nodes[in.Name]
		if n == nil {
			continue
		}
		for _, tp := range in.TrackProcesses {
			subs[tp.Name] = append(subs[tp.Name], n.fsm)
			if !isNew[n.node] {
				kept[tp.Name] = append(kept[tp.Name], n.fsm)
			}
		}
	}
	d.procs.mu.Lock()
	d.procs.subs = subs
	d.procs.mu.Unlock()
	for name, fsms := range kept {
		up := d.procs.w.Up(name)
		for _, fsm := range fsms {
			fsm.SetTrack("process:"+name, up)
		}
	}
}

func (d *Daemon) stopProcesses() {
	if d.procs == nil {
		return
	}
	d.procs.cancel()
	<-d.procs.done
	d.procs = nil
}

// dumpProcesses is the "VRRP Track processes" part of the data dump
// (keepalived's dump_vprocess).
func (d *Daemon) dumpProcesses(b *strings.Builder) {
	if d.cfg == nil || len(d.cfg.Processes) == 0 {
		return
	}
	b.WriteString("------< VRRP Track processes >------\n")
	for _, p := range d.cfg.Processes {
		fmt.Fprintf(b, " VRRP Track process = %s\n", p.Name)
		fmt.Fprintf(b, "   Process = %s\n", p.Process)
		if len(p.Params) > 0 {
			fmt.Fprintf(b, "   Parameters = %s\n", strings.Join(p.Params, " "))
		}
		switch p.ParamMatch {
		case keepalivedcfg.ParamMatchExact:
			b.WriteString("   Param match\n")
		case keepalivedcfg.ParamMatchPartial:
			b.WriteString("   Param match = partial\n")
		case keepalivedcfg.ParamMatchInitial:
			b.WriteString("   Param match = initial\n")
		}
		fmt.Fprintf(b, "   Min processes = %d\n", p.Quorum)
		if p.QuorumMax < math.MaxUint32 {
			fmt.Fprintf(b, "   Max processes = %d\n", p.QuorumMax)
		}
		cur, up := 0, false
		if d.procs != nil {
			cur, up = d.procs.w.Count(p.Name), d.procs.w.Up(p.Name)
		}
		fmt.Fprintf(b, "   Current processes = %d\n", cur)
		fmt.Fprintf(b, "   Have quorum = %v\n", up)
		fmt.Fprintf(b, "   Weight = %d%s\n", p.Weight, map[bool]string{true: " reverse"}[p.Reverse])
		fmt.Fprintf(b, "   Terminate delay = %fs\n", p.TerminateDelay.Seconds())
		fmt.Fprintf(b, "   Fork delay = %fs\n", p.ForkDelay.Seconds())
		fmt.Fprintf(b, "   Full command = %v\n", p.FullCommand)
	}
}
