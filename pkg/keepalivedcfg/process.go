package keepalivedcfg

import (
	"math"
)

// TrackedProcess returns the first vrrp_track_process with that name, or
// nil (keepalived's find_tracked_process_by_name).
func (c *Config) TrackedProcess(name string) *TrackedProcess {
	for _, t := range c.Processes {
		if t.Name == name {
			return t
		}
	}
	return nil
}

var processKeywords = []keyword{
	{name: "process", handler: func(p *parser, l line) {
		t := p.proc
		arg := p.arg(l, 1)
		if t.Process != "" {
			p.errorf(l, "Process already set for track process %s - ignoring %s", t.Name, arg)
			return
		}
		t.Process = arg
		if len(l.words) > 2 {
			t.Params = append([]string(nil), l.words[2:]...)
			if t.ParamMatch == ParamMatchNone {
				t.ParamMatch = ParamMatchExact
			}
			t.FullCommand = true
		}
	}},
	{name: "param_match", handler: func(p *parser, l line) {
		t := p.proc
		switch {
		case len(l.words) == 1:
			t.ParamMatch = ParamMatchExact
		case l.words[1] == "initial":
			t.ParamMatch = ParamMatchInitial
		case l.words[1] == "partial":
			t.ParamMatch = ParamMatchPartial
		default:
			p.errorf(l, "Invalid param_match type %s - ignoring", l.words[1])
			return
		}
		t.FullCommand = true
	}},
	{name: "weight", handler: func(p *parser, l line) {
		t := p.proc
		if len(l.words) < 2 {
			p.errorf(l, "No weight specified for track process %s - ignoring", t.Name)
			return
		}
		if t.Weight != 0 {
			p.errorf(l, "Weight already set for track process %s - ignoring %s", t.Name, l.words[1])
			return
		}
		w, ok := p.readInt(l, 1, -254, 254, true)
		if !ok {
			p.errorf(l, "Weight (%s) for vrrp_track_process %s must be between [-254..254] inclusive. Ignoring...", l.words[1], t.Name)
			return
		}
		if len(l.words) >= 3 {
			if l.words[2] == "reverse" {
				t.Reverse = true
			} else {
				p.errorf(l, "vrrp_track_process %s unknown weight option %s", t.Name, l.words[2])
			}
		}
		t.Weight = w
	}},
	{name: "quorum", handler: func(p *parser, l line) {
		t := p.proc
		v, ok := p.readUnsigned(l, 1, 1, 65535, true)
		if !ok {
			p.errorf(l, "Quorum (%s) for vrrp_track_process %s must be between [1..65535] inclusive. Ignoring...", l.words[1], t.Name)
			return
		}
		if int(v) > t.QuorumMax {
			p.errorf(l, "Quorum is greater than quorum_max - ignoring")
			return
		}
		t.Quorum = int(v)
	}},
	{name: "quorum_max", handler: func(p *parser, l line) {
		t := p.proc
		v, ok := p.readUnsigned(l, 1, 0, 65535, true)
		if !ok {
			p.errorf(l, "quorum_max (%s) for vrrp_track_process %s must be between [0..65535] inclusive. Ignoring...", l.words[1], t.Name)
			return
		}
		// quorum_max 0 is allowed when quorum is not set: "up" while
		// no such process runs.
		if (v != 0 || t.Quorum > 1) && int(v) < t.Quorum {
			p.errorf(l, "quorum_max is less than quorum - ignoring")
			return
		}
		t.QuorumMax = int(v)
		if v == 0 {
			t.Quorum = 0
		} else if t.Quorum == 0 {
			t.Quorum = 1
		}
	}},
	{name: "delay", handler: func(p *parser, l line) { p.processDelay(l, "", true, true) }},
	{name: "terminate_delay", handler: func(p *parser, l line) { p.processDelay(l, "terminate_", false, true) }},
	{name: "fork_delay", handler: func(p *parser, l line) { p.processDelay(l, "fork_", true, false) }},
	{name: "full_command", handler: func(p *parser, l line) { p.proc.FullCommand = true }},
}

func (p *parser) processDelay(l line, prefix string, fork, terminate bool) {
	t := p.proc
	v, ok := p.readDecimal(l, 1, 1, 3600*1000000, true)
	if !ok {
		p.errorf(l, "%sdelay (%s) for vrrp_track_process %s must be between [0.000001..3600] inclusive. Ignoring...", prefix, l.words[1], t.Name)
		return
	}
	if fork {
		t.ForkDelay = usec(v)
	}
	if terminate {
		t.TerminateDelay = usec(v)
	}
}

func (p *parser) vrrpTrackProcess(l line) {
	p.proc = &TrackedProcess{Name: p.arg(l, 1), Quorum: 1, QuorumMax: math.MaxUint32, Pos: l.pos}
	p.cfg.Processes = append(p.cfg.Processes, p.proc)
}

func (p *parser) vrrpTrackProcessEnd() {
	t := p.proc
	if t.Process == "" {
		p.reportAt(p.r.last, Error, classGeneral, "track process '%s' process name not specified", t.Name)
		p.cfg.Processes = p.cfg.Processes[:len(p.cfg.Processes)-1]
	}
}

// trackProcess is alloc_track_process.
func (p *parser) trackProcess(l line, owner string, list *[]TrackProcess) {
	var def *trackEntry
	if tp := p.cfg.TrackedProcess(l.words[0]); tp != nil {
		def = &trackEntry{Weight: tp.Weight, Reverse: tp.Reverse}
	}
	addTrack(p, l, owner, trackKind{
		noun: "track process", key: "track_process", weightKey: "track_process",
		badWeight: "(%s) weight for track process %s must be in [-254..254] inclusive. Ignoring...",
	}, def, list)
}
