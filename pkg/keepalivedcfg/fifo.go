package keepalivedcfg

// notify_fifo and friends (keepalived/core/global_parser.c notify_fifo,
// notify_fifo_script).

func (p *parser) notifyFIFO(l line, kind string, dst **NotifyFIFO) {
	if len(l.words) < 2 {
		p.errorf(l, "No %snotify_fifo name specified", kind)
		return
	}
	f := *dst
	if f == nil {
		f = &NotifyFIFO{}
	}
	if f.Path != "" {
		p.errorf(l, "%snotify_fifo already specified - ignoring %s", kind, l.words[1])
		return
	}
	f.Path = l.words[1]
	if len(l.words) > 2 {
		f.User = l.words[2]
		if len(l.words) > 3 {
			f.Group = l.words[3]
		}
	}
	*dst = f
}

func (p *parser) notifyFIFOScript(l line, kind string, dst **NotifyFIFO) {
	if len(l.words) < 2 {
		p.errorf(l, "No %snotify_fifo_script specified", kind)
		return
	}
	f := *dst
	if f == nil {
		f = &NotifyFIFO{}
	}
	if f.Script != nil {
		p.errorf(l, "%snotify_fifo_script already specified - ignoring %s", kind, l.words[1])
		return
	}
	p.notify(l, kind, "%snotify_fifo_script already specified - ignoring %s", &f.Script)
	*dst = f
}

// finishFIFOs drops what keepalived drops once global_defs is read: a
// FIFO script without a FIFO does nothing, and a vrrp FIFO on the global
// FIFO's path would get every line twice.
func (p *parser) finishFIFOs() {
	g := &p.cfg.Global
	for _, f := range []**NotifyFIFO{&g.NotifyFIFO, &g.VRRPNotifyFIFO} {
		if *f != nil && (*f).Path == "" {
			*f = nil
		}
	}
	if g.NotifyFIFO != nil && g.VRRPNotifyFIFO != nil && g.NotifyFIFO.Path == g.VRRPNotifyFIFO.Path {
		p.logBare(Pos{}, "notify FIFO "+g.VRRPNotifyFIFO.Path+" has been specified for global and vrrp FIFO - ignoring vrrp FIFO")
		g.VRRPNotifyFIFO = nil
	}
}
