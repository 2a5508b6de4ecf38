package haproxycfg

import "fmt"

// bindKeyword is `bind ADDR[,ADDR...] [options]` (section 4.2, "bind").
func (p *parser) bindKeyword(args []string) {
	if len(args) < 2 || args[1] == "" {
		p.alert("bind", "'bind' expects {<path>|[addr1]:port1[-end1]}{,[addr]:port[-end]}... as arguments.")
		return
	}
	tmpl := Bind{}
	var ssl sslOpts
	for i := 2; i < len(args); {
		opt := args[i]
		if n, handled, ok := p.bindTLSOption(&ssl, args, i); handled {
			if !ok {
				return
			}
			i += 1 + n
			continue
		}
		switch opt {
		case "v4v6":
			tmpl.V4V6 = true
			i++
			continue
		case "v6only":
			tmpl.V6Only = true
			i++
			continue
		case "transparent":
			tmpl.Transparent = true
			i++
			continue
		case "accept-proxy":
			tmpl.AcceptProxy = true
			i++
			continue
		case "proto":
			if !p.bindProto(&tmpl, args, i) {
				return
			}
			i += 2
			continue
		case "name":
			if i+1 >= len(args) || args[i+1] == "" {
				p.alert("bind", "'bind %s' in section '%s' : '%s' : missing name", args[1], p.sectionName, opt)
				return
			}
			tmpl.Name = args[i+1]
			i += 2
			continue
		}
		k, ok := lookup(CtxBind, opt)
		n := k.Args
		if !ok {
			if hint := didYouMean(opt, suggestBind); hint != "" {
				p.alert("bind", "'bind %s' in section '%s': unknown keyword '%s'%s", args[1], p.sectionName, opt, hint)
			} else {
				p.alert("bind", "'bind %s' in section '%s': unknown keyword '%s'.", args[1], p.sectionName, opt)
			}
			return
		}
		if i+n >= len(args) && n > 0 {
			p.alert("bind", "'bind %s' in section '%s': '%s' : missing value.", args[1], p.sectionName, opt)
			return
		}
		shown := opt
		if n > 0 {
			shown += " " + args[i+1]
		}
		p.notImplemented(k, LocParsing, "bind", "", fmt.Sprintf("'bind %s' option '%s'", args[1], shown))
		i += 1 + n
	}
	if !p.finishBindTLS(&ssl, &tmpl, args[1]) {
		return
	}
	p.bindAddr("bind", args[1], tmpl)
}
