package keepalivedcfg

// A sync group's own track lists (vrrp_parser.c vrrp_group_track_*,
// vrrp.c sync_group_tracking_init): every member tracks them, with their
// weights; a member that is an address owner clears the weights.

type sgTracks struct {
	scripts    []TrackScript
	ifaces     []TrackInterface
	processes  []TrackProcess
	files      []TrackFile
	withWeight bool // sync_group_tracking_weight (or global_tracking)
}

var syncGroupTrackKeywords = []keyword{
	{name: "track_interface", handler: func(p *parser, l line) {
		p.valueBlock(l, func(v line) { p.trackIf(v, p.sg.Name, &p.sgState.tracks.ifaces) })
	}},
	{name: "track_script", handler: func(p *parser, l line) {
		p.valueBlock(l, func(v line) { p.trackScript(v, p.sg.Name, &p.sgState.tracks.scripts) })
	}},
	{name: "track_file", handler: func(p *parser, l line) {
		p.valueBlock(l, func(v line) { p.trackFile(v, p.sg.Name, &p.sgState.tracks.files) })
	}},
	{name: "track_process", handler: func(p *parser, l line) {
		p.valueBlock(l, func(v line) { p.trackProcess(v, p.sg.Name, &p.sgState.tracks.processes) })
	}},
	{name: "global_tracking", handler: func(p *parser, l line) {
		p.errorf(l, "(%s) global_tracking is deprecated. Use track_interface/script/file on the sync group", p.sg.Name)
		p.sgState.tracks.withWeight = true
	}},
	{name: "sync_group_tracking_weight", handler: func(p *parser, l line) { p.sgState.tracks.withWeight = true }},
	{name: "notify_priority_changes", handler: func(p *parser, l line) {
		res := 1
		if len(l.words) >= 2 {
			if res = checkTrueFalse(l.words[1]); res < 0 {
				p.errorf(l, "(%s) Invalid value '%s' for sync group notify_priority_changes specified", p.sg.Name, l.words[1])
				return
			}
		}
		p.sgState.notifyPrio = res
	}},
}

// syncGroupTracking is sync_group_tracking_init: the group's tracks are
// added to each member; one the member tracks already keeps the member's
// entry, with the group's weight unless the member's is 0.
func (p *parser) syncGroupTracking() {
	for _, g := range p.cfg.SyncGroups {
		st := p.sgStates[g]
		tr := &st.tracks
		owner := false
		for _, name := range g.Instances {
			if in := p.cfg.Instance(name); in != nil && in.Priority == 255 {
				owner = true
			}
		}
		for i := range tr.scripts {
			if owner && tr.scripts[i].Weight != 0 {
				p.global(g.Pos, Error, classGeneral, "(%s) Cannot have weighted track script '%s' with member having priority %d - clearing weight", g.Name, tr.scripts[i].Name, 255)
				tr.scripts[i].Weight = 0
			}
		}
		for i := range tr.files {
			if owner && tr.files[i].Weight != 0 {
				p.global(g.Pos, Error, classGeneral, "(%s) Cannot have weighted track file '%s' with member having priority %d - setting weight 0", g.Name, tr.files[i].Name, 255)
				tr.files[i].Weight = 0
			}
		}
		for i := range tr.processes {
			if owner && tr.processes[i].Weight != 0 {
				p.global(g.Pos, Error, classGeneral, "(%s) Cannot have weighted track process '%s' with member having priority %d - setting weight 0", g.Name, tr.processes[i].Name, 255)
				tr.processes[i].Weight = 0
			}
		}
		for i := range tr.ifaces {
			if owner && tr.ifaces[i].Weight != 0 {
				p.global(g.Pos, Error, classGeneral, "(%s) Cannot have weighted track interface '%s' with member having priority %d - clearing weight", g.Name, tr.ifaces[i].Name, 255)
				tr.ifaces[i].Weight = 0
			}
		}
		for _, name := range g.Instances {
			in := p.cfg.Instance(name)
			if in == nil {
				continue
			}
			for _, t := range tr.scripts {
				if k := indexTrack(in.TrackScripts, func(x TrackScript) bool { return x.Name == t.Name }); k >= 0 {
					p.logBare(g.Pos, "("+in.Name+") track_script "+t.Name+" is configured on VRRP instance and sync group. Remove vrrp instance config")
					if in.TrackScripts[k].Weight != 0 {
						in.TrackScripts[k].Weight, in.TrackScripts[k].Reverse = t.Weight, t.Reverse
					}
					continue
				}
				in.TrackScripts = append(in.TrackScripts, t)
			}
			for _, t := range tr.files {
				if k := indexTrack(in.TrackFiles, func(x TrackFile) bool { return x.Name == t.Name }); k >= 0 {
					p.logBare(g.Pos, "("+in.Name+") track_file "+t.Name+" is configured on VRRP instance and sync group. Remove vrrp instance config")
					if in.TrackFiles[k].Weight != 0 {
						in.TrackFiles[k].Weight, in.TrackFiles[k].Reverse = t.Weight, t.Reverse
					}
					continue
				}
				in.TrackFiles = append(in.TrackFiles, t)
			}
			for _, t := range tr.processes {
				if k := indexTrack(in.TrackProcesses, func(x TrackProcess) bool { return x.Name == t.Name }); k >= 0 {
					p.logBare(g.Pos, "("+in.Name+") track_process "+t.Name+" is configured on VRRP instance and sync group. Remove vrrp instance config")
					if in.TrackProcesses[k].Weight != 0 {
						in.TrackProcesses[k].Weight = t.Weight
					}
					continue
				}
				in.TrackProcesses = append(in.TrackProcesses, t)
			}
			for _, t := range tr.ifaces {
				if t.Name == in.Interface && !in.DontTrackPrimary && t.Weight == 0 {
					continue // already tracked as the instance's own interface
				}
				if k := indexTrack(in.TrackInterfaces, func(x TrackInterface) bool { return x.Name == t.Name }); k >= 0 {
					if in.TrackInterfaces[k].Weight != 0 {
						in.TrackInterfaces[k].Weight, in.TrackInterfaces[k].Reverse = t.Weight, t.Reverse
					}
					continue
				}
				in.TrackInterfaces = append(in.TrackInterfaces, t)
			}
		}
	}
}

func indexTrack[T any](s []T, match func(T) bool) int {
	for i, x := range s {
		if match(x) {
			return i
		}
	}
	return -1
}

// syncGroupNotifyPrio is the named group's notify_priority_changes (-1
// unset).
func (p *parser) syncGroupNotifyPrio(name string) int {
	for g, st := range p.sgStates {
		if g.Name == name {
			return st.notifyPrio
		}
	}
	return -1
}

// syncGroupWeights says whether the named group keeps its members' own
// weighted tracking (sync_group_tracking_weight).
func (p *parser) syncGroupWeights(name string) bool {
	for g, st := range p.sgStates {
		if g.Name == name {
			return st.tracks.withWeight
		}
	}
	return false
}
