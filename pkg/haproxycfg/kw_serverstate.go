package haproxycfg

// Server state across reloads (configuration manual 3.1
// "server-state-file", "server-state-base"; 4.2
// "load-server-state-from-file", "server-state-file-name").

func (p *parser) globalServerState(args []string) {
	g := &p.cfg.Global
	kw := args[0]
	dst, what := &g.ServerStateFile, "'%s' expect one argument: a file path."
	if kw == "server-state-base" {
		dst, what = &g.ServerStateBase, "'%s' expects one argument: a directory path."
	}
	if *dst != "" {
		p.diag(AlertNonFatal, LocParsing, kw, "'%s' already specified. Continuing.", kw)
		return
	}
	if len(args) < 2 || args[1] == "" {
		p.alert(kw, what, kw)
		return
	}
	*dst = args[1]
}

func (p *parser) proxyServerState(args []string) {
	kw := args[0]
	px := p.cur.px
	if !p.cur.isDefault && !px.Kind.HasBackend() {
		p.warn(kw, "'%s' ignored because %s '%s' has no backend capability.", kw, px.Kind, px.Name)
		return
	}
	v := ""
	if len(args) > 1 {
		v = args[1]
	}
	if kw == "load-server-state-from-file" {
		switch v {
		case "global", "local":
			px.LoadServerState = v
		case "none":
			px.LoadServerState = ""
		default:
			p.alert(kw, "'%s' expects 'global', 'local' or 'none'. Got '%s'", kw, v)
		}
		return
	}
	if p.tooMany(args, 1) {
		return
	}
	if v == "" || v == "use-backend-name" {
		v = px.Name
	}
	px.ServerStateFileName = v
}
