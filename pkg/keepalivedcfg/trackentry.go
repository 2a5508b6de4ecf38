package keepalivedcfg

// trackEntry is what TrackScript, TrackProcess and TrackFile hold: one line
// of a track_script, track_process or track_file block.
type trackEntry struct {
	Name    string
	Weight  int
	Reverse bool
}

// trackKind is what differs between keepalived 2.2.7's parsers of those
// three blocks (alloc_track_script, alloc_track_process,
// vrrp_alloc_track_file): the words of their messages and two rules.
type trackKind struct {
	noun      string // "track script": not found, unknown option, no weight value
	key       string // "track_script": duplicate entry
	weightKey string // unknown option after the weight
	badWeight string // weight out of range: format of owner and name
	// clamp254: the range is [-254..254] and +/-254 becomes +/-253 (scripts).
	clamp254 bool
	// badOptionDropsIt: an unknown option after the weight drops the entry
	// (files); the others keep it.
	badOptionDropsIt bool
}

// addTrack parses `NAME [weight W [reverse|noreverse]]` and appends the
// entry to list. def is the tracked object's own weight and reverse, nil
// when no object of that name is defined above.
func addTrack[T ~struct {
	Name    string
	Weight  int
	Reverse bool
}](p *parser, l line, owner string, k trackKind, def *trackEntry, list *[]T) {
	name := l.words[0]
	if def == nil {
		p.errorf(l, "(%s) %s %s not found, ignoring...", owner, k.noun, name)
		return
	}
	for _, t := range *list {
		if trackEntry(t).Name == name {
			p.errorf(l, "(%s) duplicate %s %s - ignoring", owner, k.key, name)
			return
		}
	}
	t := trackEntry{Name: name, Weight: def.Weight, Reverse: def.Reverse}
	if len(l.words) >= 2 {
		if l.words[1] != "weight" {
			p.errorf(l, "(%s) unknown %s option %s - ignoring", owner, k.noun, l.words[1])
			return
		}
		if len(l.words) == 2 {
			p.errorf(l, "(%s) weight without value specified for %s %s - ignoring", owner, k.noun, name)
			return
		}
		w, ok := p.readInt(l, 2, -254, 254, true)
		switch {
		case !ok:
			w = def.Weight
			p.errorf(l, k.badWeight, owner, name)
		case k.clamp254 && (w == -254 || w == 254):
			p.errorf(l, "(%s) weight for %s cannot be +/-254. Setting to +/-253", owner, name)
			w = w / 254 * 253
		}
		t.Weight = w
		if len(l.words) >= 4 {
			switch l.words[3] {
			case "reverse":
				t.Reverse = true
			case "noreverse":
				t.Reverse = false
			default:
				p.errorf(l, "(%s) unknown %s %s weight option %s - ignoring", owner, k.weightKey, name, l.words[3])
				if k.badOptionDropsIt {
					return
				}
			}
		}
	}
	*list = append(*list, T(t))
}
