package keepalivedcfg

import "strings"

// track_file blocks (keepalived/trackers/track_file.c). keepalived's
// checker process reads them too and, under -t, reports their errors
// first: checkerToo repeats a handler's diagnostics as that pass does.

func checkerToo(fn func(p *parser, l line)) func(p *parser, l line) {
	return func(p *parser, l line) {
		n := len(p.diags)
		fn(p, l)
		p.repeatForChecker(n)
	}
}

func (p *parser) repeatForChecker(from int) {
	for _, d := range append([]Diagnostic(nil), p.diags[from:]...) {
		if d.logOnly {
			continue
		}
		d.parent, d.short = true, false
		p.diags = append(p.diags, d)
	}
}

var trackFileKeywords = []keyword{
	{name: "file", handler: checkerToo(func(p *parser, l line) {
		t := p.tfile
		if len(l.words) < 2 {
			p.errorf(l, "track file file name missing")
			return
		}
		if t.Path != "" {
			p.errorf(l, "File already set for track file %s - ignoring %s", t.Name, l.words[1])
			return
		}
		t.Path = l.words[1]
	})},
	{name: "weight", handler: checkerToo(func(p *parser, l line) {
		t := p.tfile
		if len(l.words) < 2 {
			p.errorf(l, "No weight specified for track file %s - ignoring", t.Name)
			return
		}
		if t.Weight != 1 {
			p.errorf(l, "Weight already set for track file %s - ignoring %s", t.Name, l.words[1])
			return
		}
		w, ok := p.readInt(l, 1, -254, 254, true)
		if !ok {
			p.errorf(l, "Weight (%s) for track_file %s must be between [-254..254] inclusive. Ignoring...", l.words[1], t.Name)
			w = 1
		}
		t.Weight = w
		if len(l.words) >= 3 {
			if l.words[2] == "reverse" {
				t.Reverse = true
			} else {
				p.errorf(l, "track_file %s unknown weight option %s", t.Name, l.words[2])
			}
		}
	})},
	{name: "init_file", handler: checkerToo(func(p *parser, l line) {
		t := p.tfile
		t.Init, t.InitValue = TrackFileCreate, 0
		for i := 1; i < len(l.words); i++ {
			w := strings.TrimLeft(l.words[i], whiteSpace)
			switch {
			case w != "" && (w[0] == '-' || (w[0] >= '0' && w[0] <= '9')):
				v, ok := p.readInt(l, i, -1<<31, 1<<31-1, false)
				if !ok {
					p.errorf(l, "Track file %s init value %s is invalid", t.Name, w)
					v = 0
				} else if v < -254 || v > 254 {
					p.errorf(l, "Track file %s init value %d is outside sensible range [%d, %d]", t.Name, v, -254, 254)
				}
				t.InitValue = v
			case w == "overwrite":
				t.Init = TrackFileOverwrite
			default:
				p.errorf(l, "Unknown track file init option %s", w)
			}
		}
	})},
}

func (p *parser) trackFileBlock(l line) {
	p.tfile = &TrackedFile{Name: p.arg(l, 1), Weight: 1, Pos: l.pos}
}

func (p *parser) vrrpTrackFileBlock(l line) {
	p.logf(l.pos, "\"vrrp_track_file\" is deprecated, please use \"track_file\"")
	p.trackFileBlock(l)
}

func (p *parser) trackFileEnd() {
	t := p.tfile
	if t.Path == "" {
		n := len(p.diags)
		p.reportAt(p.r.last, Error, classGeneral, "No file set for track_file %s - ignoring", t.Name)
		p.repeatForChecker(n)
		return
	}
	p.cfg.TrackFiles = append(p.cfg.TrackFiles, t)
}

// TrackedFile returns the first track_file with that name, or nil.
func (c *Config) TrackedFile(name string) *TrackedFile {
	for _, t := range c.TrackFiles {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// trackFile is vrrp_alloc_track_file. keepalived 2.2.7 -t loops for ever
// on a track file that is not defined (seen); the message is the daemon's.
func (p *parser) trackFile(l line, owner string, list *[]TrackFile) {
	var def *trackEntry
	if tf := p.cfg.TrackedFile(l.words[0]); tf != nil {
		def = &trackEntry{Weight: tf.Weight, Reverse: tf.Reverse}
	}
	addTrack(p, l, owner, trackKind{
		noun: "track file", key: "track_file", weightKey: "track file",
		badWeight:        "(%s) weight for track file %s must be in [-254..254] inclusive. Ignoring...",
		badOptionDropsIt: true,
	}, def, list)
}
