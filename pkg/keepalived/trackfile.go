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

// runningFiles is the track_file watcher of the running configuration.
type runningFiles struct {
	w      *track.FileWatcher
	key    string
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	subs map[string][]fileSub // file name -> instances tracking it
}

type fileSub struct {
	fsm     *vrrpfsm.Instance
	weight  int
	reverse bool
}

// fileContribution is what a tracked file's number v adds to an instance's
// priority (track_file.c update_track_file_status): v times the weight
// (negated by reverse); with weight 0, vrrpfsm.ValueFault (FAULT) when v
// is not 0 (reverse: when it is 0).
func fileContribution(v int64, weight int, reverse bool) int {
	if weight == 0 {
		if (v != 0) != reverse {
			return vrrpfsm.ValueFault
		}
		return 0
	}
	m := int64(1)
	if reverse {
		m = -1
	}
	// Saturate as keepalived's weight_range before the instance clamps.
	f := float64(v) * float64(weight) * float64(m)
	switch {
	case f < math.MinInt32:
		return math.MinInt32
	case f > math.MaxInt32:
		return math.MaxInt32
	}
	return int(f)
}

func (r *runningFiles) change(name string, v int64) {
	r.mu.Lock()
	subs := r.subs[name]
	r.mu.Unlock()
	for _, s := range subs {
		s.fsm.SetTrackValue("file:"+name, fileContribution(v, s.weight, s.reverse))
	}
}

// initTrackFiles writes the init_file values, as keepalived does when it
// reads the configuration (not under -t; an existing file is overwritten
// only with `overwrite`, and not on reload).
func (d *Daemon) initTrackFiles(cfg *keepalivedcfg.Config, reload bool) {
	for _, f := range cfg.TrackFiles {
		if f.Init == keepalivedcfg.TrackFileNoInit {
			continue
		}
		if err := track.InitTrackFile(f.Path, f.InitValue, f.Init == keepalivedcfg.TrackFileOverwrite, reload); err != nil {
			if strings.Contains(err.Error(), "not a regular file") {
				d.env.Log.Error().Msgf("Cannot initialise track file %s - it is not a regular file", f.Name)
			} else {
				d.env.Log.Error().Msgf("Unable to initialise track file %s", f.Name)
			}
		}
	}
}

// applyFiles watches the files the instances track, or keeps the running
// watcher when they did not change on reload.
func (d *Daemon) applyFiles(cfg *keepalivedcfg.Config) {
	used := map[string]bool{}
	for _, in := range cfg.Instances {
		for _, t := range in.TrackFiles {
			used[t.Name] = true
		}
	}
	var specs []track.FileSpec
	for _, f := range cfg.TrackFiles {
		if used[f.Name] && cfg.TrackedFile(f.Name) == f {
			specs = append(specs, track.FileSpec{Name: f.Name, Path: f.Path})
		}
	}
	kb, _ := json.Marshal(specs)
	key := string(kb)
	if d.files != nil && d.files.key == key {
		return
	}
	d.stopFiles()
	if len(specs) == 0 {
		return
	}
	r := &runningFiles{key: key, done: make(chan struct{}), subs: map[string][]fileSub{}}
	w, err := track.StartFileWatcher(specs, r.change, d.env.Log)
	if err != nil {
		d.env.Log.Error().Msgf("%v", err)
	}
	r.w = w
	ctx, cancel := context.WithCancel(d.ctx)
	r.cancel = cancel
	go func() {
		defer close(r.done)
		w.Run(ctx)
	}()
	d.files = r
}

// fileTracks are an instance's valued tracks, from the files' values now.
func (d *Daemon) fileTracks(in *keepalivedcfg.Instance) []vrrpfsm.Track {
	var tracks []vrrpfsm.Track
	for _, t := range in.TrackFiles {
		if d.files == nil || !d.files.w.Watched(t.Name) {
			continue // dropped: its directory does not exist
		}
		v := fileContribution(d.files.w.Value(t.Name), t.Weight, t.Reverse)
		tracks = append(tracks, vrrpfsm.Track{Name: "file:" + t.Name, Valued: true, InitialValue: v})
	}
	return tracks
}

// subscribeFiles points the watcher at the running instances; those kept
// over a reload get the current values.
func (d *Daemon) subscribeFiles(cfg *keepalivedcfg.Config, isNew map[*node]bool) {
	if d.files == nil {
		return
	}
	subs := map[string][]fileSub{}
	var kept []func()
	for _, in := range cfg.Instances {
		n := d.nodes[in.Name]
		if n == nil {
			continue
		}
		for _, t := range in.TrackFiles {
			s := fileSub{fsm: n.fsm, weight: t.Weight, reverse: t.Reverse}
			subs[t.Name] = append(subs[t.Name], s)
			if !isNew[n.node] && d.files.w.Watched(t.Name) {
				name, v := t.Name, d.files.w.Value(t.Name)
				kept = append(kept, func() { s.fsm.SetTrackValue("file:"+name, fileContribution(v, s.weight, s.reverse)) })
			}
		}
	}
	d.files.mu.Lock()
	d.files.subs = subs
	d.files.mu.Unlock()
	for _, f := range kept {
		f()
	}
}

func (d *Daemon) stopFiles() {
	if d.files == nil {
		return
	}
	d.files.cancel()
	<-d.files.done
	d.files = nil
}

// dumpFiles is the "VRRP Track files" part of the data dump.
func (d *Daemon) dumpFiles(b *strings.Builder) {
	if d.cfg == nil || len(d.cfg.TrackFiles) == 0 {
		return
	}
	b.WriteString("------< VRRP Track files >------\n")
	for _, f := range d.cfg.TrackFiles {
		var v int64
		if d.files != nil {
			v = d.files.w.Value(f.Name)
		}
		fmt.Fprintf(b, " Track file = %s\n", f.Name)
		fmt.Fprintf(b, "   File = %s\n", f.Path)
		fmt.Fprintf(b, "   Status = %d\n", v)
		fmt.Fprintf(b, "   Weight = %d%s\n", f.Weight, map[bool]string{true: " reverse"}[f.Reverse])
	}
}
