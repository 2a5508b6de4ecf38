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
