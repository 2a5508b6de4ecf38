package haproxycfg

// bindProto reads `proto NAME` on a bind line (section 5.1, "proto"): the
// multiplexer haproxy 2.6 lists in `haproxy -vv`. h2 and h1 are for mode
// http, none for mode tcp; fcgi is a server-side protocol. Whether it
// suits the proxy's mode is checked once the section is read
// (checkBindProto), as haproxy does.
func (p *parser) bindProto(b *Bind, args []string, i int) bool {
	if i+1 >= len(args) || args[i+1] == "" {
		p.alert("bind", "'bind %s' in section '%s' : 'proto' : missing value.", args[1], p.sectionName)
		return false
	}
	switch name := args[i+1]; name {
	case "h2", "h1", "none", "fcgi":
		b.Proto = name
		return true
	default:
		p.alert("bind", "'bind %s' in section '%s' : 'proto' :  unknown MUX protocol '%s'", args[1], p.sectionName, name)
		return false
	}
}

// checkBindProto refuses a bind protocol the proxy's mode cannot use,
// with haproxy's words.
func (p *parser) checkBindProto(px *Proxy) {
	if !px.Kind.HasFrontend() {
		return
	}
	for _, b := range px.Binds {
		ok := true
		switch b.Proto {
		case "":
		case "h2", "h1":
			ok = px.Mode == ModeHTTP
		case "none":
			ok = px.Mode != ModeHTTP
		default: // fcgi: servers only
			ok = false
		}
		if !ok {
			p.postDiag(Alert, Pos{}, "bind", "%s '%s' : MUX protocol '%s' is not usable for 'bind %s' at [%s:%d].", px.Kind, px.Name, b.Proto, b.Address(), b.Pos.File, b.Pos.Line)
		}
	}
}

// tuneH2 reads the tune.h2.* settings, with haproxy 2.6's bounds and
// words (its parsers read the number as atoi does).
func (p *parser) tuneH2(h *H2Tuning, args []string) {
	if p.tooMany(args, 1) {
		return
	}
	kw := args[0]
	v := 0
	if len(args) > 1 {
		v = atoi(args[1])
	}
	switch kw {
	case "tune.h2.header-table-size":
		if v < 4096 || v > 65536 {
			p.alert(kw, "'%s' expects a numeric value between 4096 and 65536.", kw)
			return
		}
		h.HeaderTableSize = v
	case "tune.h2.max-frame-size":
		if v < 16384 || v > 16777215 {
			p.alert(kw, "'%s' expects a numeric value between 16384 and 16777215.", kw)
			return
		}
		h.MaxFrameSize = v
	case "tune.h2.initial-window-size", "tune.h2.max-concurrent-streams":
		if v < 0 {
			p.alert(kw, "'%s' expects a positive numeric value.", kw)
			return
		}
		if v == 0 {
			// haproxy reads 0 as no limit on streams, or a window that
			// opens only with WINDOW_UPDATEs; Go's server has neither.
			p.alert(kw, "'%s 0' is not implemented by gproxy: give a positive value, or keep haproxy for this configuration.", kw)
			return
		}
		if kw == "tune.h2.initial-window-size" {
			h.InitialWindowSize = v
		} else {
			h.MaxConcurrentStreams = v
		}
	}
}

// checkServerProto refuses a server protocol the proxy's mode cannot use,
// with haproxy's words, and what gproxy does not implement: FastCGI, and
// HTTP health checks that would speak HTTP/2 (haproxy's checks take the
// server's `proto`, and its `alpn` when `check-alpn` is not set).
func (p *parser) checkServerProto(px *Proxy) {
	if !px.Kind.HasBackend() {
		return
	}
	for _, s := range px.Servers {
		ok := true
		switch s.Proto {
		case "":
		case "h2", "h1", "fcgi":
			ok = px.Mode == ModeHTTP
		case "none":
			ok = px.Mode != ModeHTTP
		}
		if !ok {
			p.postDiag(Alert, Pos{}, "server", "%s '%s' : MUX protocol '%s' is not usable for server '%s' at [%s:%d].", px.Kind, px.Name, s.Proto, s.Name, s.Pos.File, s.Pos.Line)
			continue
		}
		if s.Proto == "fcgi" {
			p.postDiag(Alert, s.Pos, "server", "'server %s/%s' : server option 'proto fcgi' is not implemented by gproxy (FastCGI): remove it, or keep haproxy for this configuration.", px.Name, s.Name)
			continue
		}
		if s.Check && s.CheckProto != "" {
			// haproxy's init_srv_check: an explicit check-proto must
			// suit the check type.
			if httpMux := s.CheckProto != "none"; httpMux != (px.Check.Type == CheckHTTP) {
				p.postDiag(Alert, Pos{}, "", "config: %s '%s': server '%s' uses an incompatible MUX protocol for the selected check type", px.Kind, px.Name, s.Name)
				continue
			}
		}
		if !s.Check || px.Check.Type != CheckHTTP || !s.checksH2() || s.CheckH2Clear() {
			continue
		}
		p.postDiag(Alert, s.Pos, "server", "'server %s/%s' : HTTP health checks over HTTP/2 with TLS ('proto h2', 'check-proto h2' or 'alpn h2' with 'check-ssl') are not implemented by gproxy (health-check rules): use a tcp check, or keep haproxy for this configuration.", px.Name, s.Name)
	}
}

// CheckH2Clear tells whether the server's HTTP checks speak HTTP/2 with
// prior knowledge in clear text, which gproxy does: `check-proto h2`, or
// the server's `proto h2` when check-proto is not set, without TLS on
// the checks.
func (s *Server) CheckH2Clear() bool {
	if s.TLS != nil && s.TLS.Checks {
		return false
	}
	return s.CheckProto == "h2" || (s.CheckProto == "" && s.Proto == "h2")
}

// SpeaksH2 tells whether traffic to the server may be HTTP/2: `proto
// h2`, or TLS offering h2 by ALPN (the server's choice then decides).
func (s *Server) SpeaksH2() bool {
	if s.Proto == "h2" {
		return true
	}
	if s.Proto != "" || s.TLS == nil || !s.TLS.Traffic {
		return false
	}
	for _, a := range s.TLS.Settings.ALPN {
		if a == "h2" {
			return true
		}
	}
	return false
}

// checksH2 tells whether the server's health checks may speak HTTP/2.
// ChecksH2 tells whether the server's HTTP checks would speak HTTP/2.
func (s *Server) ChecksH2() bool { return s.checksH2() }

func (s *Server) checksH2() bool {
	if s.CheckProto != "" {
		return s.CheckProto == "h2"
	}
	if s.Proto == "h2" {
		return true
	}
	if s.Proto != "" || s.TLS == nil || !s.TLS.Checks {
		return false
	}
	alpn := s.TLS.Settings.ALPN
	if s.TLS.CheckALPN != nil {
		alpn = s.TLS.CheckALPN
	}
	for _, a := range alpn {
		if a == "h2" {
			return true
		}
	}
	return false
}
