package haproxycfg

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// The `peers` section (configuration manual section 3.5), with haproxy
// 2.6's messages (cfgparse.c cfg_parse_peers), and the `localpeer` global
// keyword.

// secPeers is the section kind of a peers section.
const secPeers sectionKind = 101

// peersState is the peers section being read.
type peersState struct {
	s        *Peers
	skip     bool // a bad header: its lines are ignored
	peerLine bool // a `peer` line was seen
	bindLine bool // a `bind` line was seen
	bindPos  Pos
}

// localPeerName is the name this process has among peers: -L, else the
// host name, as haproxy's localpeer.
func localPeerName(opts ParseOptions) string {
	if opts.LocalPeer != "" {
		return opts.LocalPeer
	}
	h, _ := os.Hostname()
	return h
}

func (p *parser) startPeers(args []string) {
	p.endSection()
	p.section = secPeers
	p.sectionName = "peers"
	st := &peersState{skip: true}
	p.peers = st
	if len(args) < 2 || args[1] == "" {
		p.alert(args[0], "missing name for peers section.")
		p.abort = true
		return
	}
	if p.tooMany(args, 1) {
		return
	}
	if c, ok := validName(args[1]); !ok {
		p.alert(args[0], "character '%c' is not permitted in '%s' name '%s'.", c, args[0], args[1])
		p.abort = true
		return
	}
	for _, o := range p.allPeers {
		if o.Name == args[1] {
			p.diag(Alert, LocParsingCap, args[0], "peers section '%s' has the same name as another peers section declared at %s:%d.", args[1], o.Pos.File, o.Pos.Line)
		}
	}
	st.s = &Peers{Name: args[1], Pos: p.pos(), Local: p.localPeer}
	st.skip = false
	p.allPeers = append(p.allPeers, st.s)
}

func (p *parser) peersKeyword(args []string) {
	st := p.peers
	if st == nil || st.skip {
		return
	}
	s := st.s
	kw := args[0]
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch kw {
	case "peer", "server":
		name := arg(1)
		if name == "" {
			p.diag(Alert, LocBracket, kw, "'%s' expects <name> and <addr>[:<port>] as arguments.", kw)
			return
		}
		local := name == p.localPeer
		if kw == "peer" {
			if st.bindLine {
				p.alert(kw, "mixing \"peer\" and \"bind\" line is forbidden")
				return
			}
			st.peerLine = true
		}
		if c, ok := validName(name); !ok {
			p.diag(Alert, LocBracket, kw, "character '%c' is not permitted in %s name '%s'.", c, kw, name)
			return
		}
		for _, o := range s.Peers {
			if o.Name == name && local {
				p.alert(kw, "'%s %s' : local peer name already referenced at %s:%d. %s", kw, name, o.Pos.File, o.Pos.Line, name)
				return
			}
		}
		d := PeerDef{Name: name, Local: local, Pos: p.pos()}
		next := 2
		if kw == "peer" || !local {
			if arg(2) == "" {
				if kw == "server" {
					// haproxy takes a remote `server` without an address,
					// and never reaches it.
					s.Peers = append(s.Peers, d)
					return
				}
				p.diag(Alert, LocBracket, kw, "'%s' expects <name> and <addr>[:<port>] as arguments.", kw)
				return
			}
			addr, ok := p.peerAddr(kw, name, arg(2))
			if !ok {
				return
			}
			d.Addr = addr
			next = 3
		}
		if kw == "server" && local && next == 2 && len(args) > 2 && !strings.HasPrefix(args[2], "ssl") {
			p.diag(Alert, LocBracket, kw, "'server %s/%s' : unknown keyword '%s'. Hint: no address was expected for this server.", p.localPeer, name, args[2])
			return
		}
		if len(args) > next {
			p.refuseForm(grpSections, LocParsing, kw, "", fmt.Sprintf("'%s' option '%s' in a peers section (TLS and other server options for peers)", kw, args[next]))
			return
		}
		if local {
			if kw == "peer" {
				s.Listen = d.Addr
			} else {
				d.Addr = s.Listen
			}
		}
		s.Peers = append(s.Peers, d)
	case "bind":
		if st.peerLine {
			p.alert(kw, "mixing \"peer\" and \"bind\" line is forbidden")
			return
		}
		if st.bindLine {
			p.alert(kw, "One listener per \"peers\" section is authorized but another is already configured at [%s:%d].", st.bindPos.File, st.bindPos.Line)
			return
		}
		if arg(1) == "" {
			p.alert(kw, "'%s' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.", kw)
			return
		}
		addr, ok := "", false
		if a := envExpand(arg(1), p.env); strings.HasPrefix(a, "fd@") {
			// A listening socket inherited from the parent (haproxy's
			// reg-tests hand one to each peers section).
			sa, msg, _ := p.parseSockAddr("fd", a[len("fd@"):], a, true)
			if msg != "" {
				p.alert(kw, "%s", msg)
				return
			}
			addr, ok = sa.String(), true
		} else {
			addr, ok = p.peerAddr(kw, "", arg(1))
		}
		if !ok {
			return
		}
		if len(args) > 2 {
			p.refuseForm(grpSections, LocParsing, kw, "", fmt.Sprintf("'%s' option '%s' in a peers section (TLS and other bind options for peers)", kw, args[2]))
			return
		}
		st.bindLine, st.bindPos = true, p.pos()
		s.Listen = addr
		for i := range s.Peers {
			if s.Peers[i].Local {
				s.Peers[i].Addr = addr
			}
		}
	case "default-server", "default-bind":
		if len(args) > 1 {
			p.refuseForm(grpSections, LocParsing, kw, "", fmt.Sprintf("'%s %s' in a peers section (TLS and other options for peers)", kw, args[1]))
		}
	case "disabled":
		s.Disabled = true
	case "enabled":
		s.Disabled = false
	case "table":
		// A table of its own, named SECTION/NAME, synced by the section
		// under NAME (haproxy's nid).
		if o := p.cfg.StickTable(arg(1)); o != nil && arg(1) != "" {
			p.alert(kw, "stick-table name '%s' conflicts with table declared in proxy '%s'.", arg(1), arg(1))
			return
		}
		cfg := p.stickTableArgs(kw, args, 2, s.Name+"/"+arg(1), false)
		if cfg == nil {
			return
		}
		cfg.Peers = s.Name
		p.cfg.PeersTables = append(p.cfg.PeersTables, cfg)
	case "log":
		p.refuseForm(grpSections, LocParsing, kw, "", fmt.Sprintf("'%s' in a peers section", kw))
	default:
		p.alert(kw, "unknown keyword '%s' in '%s' section", kw, "peers")
	}
}

// peerAddr reads a peer's or a bind line's address: an IPv4 or IPv6
// address or a host name, and a port. kw and name are for messages.
func (p *parser) peerAddr(kw, name, arg string) (string, bool) {
	orig := arg
	if arg = envExpand(arg, p.env); arg == "" {
		p.alert(kw, "'%s %s' : '%s' resolves to an empty address (environment variable missing?)", kw, name, orig)
		return "", false
	}
	if strings.Contains(arg, "@") || strings.HasPrefix(arg, "/") {
		p.refuseForm(grpAddress, LocParsing, kw, "", fmt.Sprintf("the peers address '%s'", arg))
		return "", false
	}
	host, port, err := net.SplitHostPort(arg)
	if err != nil {
		p.alert(kw, "'%s %s' : missing or invalid port in '%s'", kw, name, arg)
		return "", false
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		p.diag(Alert, LocBracket, kw, "'server %s/%s' : invalid port '%s'", p.localPeer, name, port)
		return "", false
	}
	if host == "*" {
		host = ""
	}
	return net.JoinHostPort(host, port), true
}

// localPeerKeyword is the global `localpeer NAME`.
func (p *parser) localPeerKeyword(args []string) {
	kw := args[0]
	if p.tooMany(args, 1) {
		return
	}
	if len(args) < 2 || args[1] == "" {
		p.alert(kw, "'%s' expects a name as an argument.", kw)
		return
	}
	if p.localPeerCmdline {
		p.warn(kw, "'%s' ignored since it is already set by using the '-L' command line argument.", kw)
		return
	}
	if len(p.allPeers) > 0 {
		p.warn(kw, "'%s' ignored since it is used after 'peers' section.", kw)
		return
	}
	p.localPeer, p.localPeerSet = args[1], true
}

// finishPeers checks the tables naming a peers section, as haproxy's
// check_config_validity, and keeps the sections this process syncs.
func (p *parser) finishPeers() {
	p.cfg.LocalPeer = p.localPeer
	for _, d := range p.diags {
		if d.Severity == Alert {
			// haproxy stops before these checks.
			return
		}
	}
	for _, ps := range p.proxies {
		t := ps.px.StickTable
		if t == nil || t.Peers == "" {
			continue
		}
		var found *Peers
		for _, s := range p.allPeers {
			if s.Name == t.Peers {
				found = s
			}
		}
		if found == nil {
			p.diags = append(p.diags, Diagnostic{Severity: Alert, Pos: ps.px.Pos, Keyword: "stick-table", Style: LocNone,
				Msg: fmt.Sprintf("Proxy '%s': unable to find sync peers '%s'.", ps.px.Name, t.Peers)})
		}
	}
	// haproxy lists its sections last declared first.
	for i := len(p.allPeers) - 1; i >= 0; i-- {
		s := p.allPeers[i]
		hasLocal := false
		for _, d := range s.Peers {
			hasLocal = hasLocal || d.Local
		}
		switch {
		case s.Disabled:
		case !hasLocal || s.Listen == "":
			p.diags = append(p.diags, Diagnostic{Severity: Warning, Pos: s.Pos, Keyword: "peers", Style: LocNone,
				Msg: fmt.Sprintf("Removing incomplete section 'peers %s' (no peer named '%s').", s.Name, p.localPeer)})
		default:
			p.cfg.Peers = append([]*Peers{s}, p.cfg.Peers...)
		}
	}
}
