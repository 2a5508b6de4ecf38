package gproxyd

import (
	"fmt"
	"os/user"

	"hapair/pkg/haproxycfg"
)

// Checks haproxy 2.6's -c makes beyond the grammar, and that gproxy's
// parser leaves to the process layer because they need the machine (user
// and group databases) or the whole configuration.

// checkCredentials refuses `user`/`group` names the machine does not know,
// as haproxy does while parsing (gproxy would only fail at start, after
// -c said the file is valid). The model keeps no line for them, so the
// message names the directive instead.
func checkCredentials(g haproxycfg.Global) []haproxycfg.Diagnostic {
	var out []haproxycfg.Diagnostic
	if g.User != "" {
		if _, err := user.Lookup(g.User); err != nil {
			out = append(out, haproxycfg.Diagnostic{Severity: haproxycfg.Alert, Style: haproxycfg.LocNone, Keyword: "user",
				Msg: fmt.Sprintf("global 'user %s' : cannot find user id for '%s' (0:Success)", g.User, g.User)})
		}
	}
	if g.Group != "" {
		if _, err := user.LookupGroup(g.Group); err != nil {
			out = append(out, haproxycfg.Diagnostic{Severity: haproxycfg.Alert, Style: haproxycfg.LocNone, Keyword: "group",
				Msg: fmt.Sprintf("global 'group %s' : cannot find group id for '%s' (0:Success)", g.Group, g.Group)})
		}
	}
	return out
}

// checkModes refuses an http frontend that sends traffic to a tcp backend,
// with haproxy's alert: haproxy refuses it, and gproxy would serve it in
// some mode of its own choosing. A tcp frontend sending to an http backend
// is refused too: haproxy serves it as HTTP, gproxy does not (yet).
func checkModes(cfg *haproxycfg.Config) []haproxycfg.Diagnostic {
	var out []haproxycfg.Diagnostic
	kind := func(p *haproxycfg.Proxy) string {
		if p.Kind == haproxycfg.KindListen {
			return "proxy"
		}
		return "backend"
	}
	check := func(fe *haproxycfg.Proxy, name, how string) {
		be := cfg.Proxy(name, haproxycfg.KindBackend, haproxycfg.KindListen)
		if be == nil || be.Mode == fe.Mode {
			return
		}
		if fe.Mode == haproxycfg.ModeTCP {
			// haproxy accepts it and upgrades the stream to HTTP (each
			// request balanced on its own, HTTP errors and logs); gproxy
			// would relay the bytes: refused until implemented.
			out = append(out, haproxycfg.Diagnostic{Severity: haproxycfg.Alert, Style: haproxycfg.LocNone, Pos: fe.Pos,
				Msg: fmt.Sprintf("tcp frontend '%s' (%s) uses http %s '%s' (%s) %s: upgrading a tcp stream to HTTP is not implemented by gproxy; set 'mode http' on the frontend, or keep haproxy for this configuration.",
					fe.Name, fe.Pos, kind(be), be.Name, be.Pos, how)})
			return
		}
		out = append(out, haproxycfg.Diagnostic{Severity: haproxycfg.Alert, Style: haproxycfg.LocNone, Pos: fe.Pos,
			Msg: fmt.Sprintf("%s frontend '%s' (%s) tries to use incompatible %s %s '%s' (%s) %s (see 'mode').",
				fe.Mode, fe.Name, fe.Pos, be.Mode, kind(be), be.Name, be.Pos, how)})
	}
	for _, px := range cfg.Proxies {
		if !px.Kind.HasFrontend() || px.Kind == haproxycfg.KindListen && px.DefaultBackend == "" && len(px.UseBackends) == 0 {
			continue
		}
		if px.DefaultBackend != "" {
			check(px, px.DefaultBackend, "as its default backend")
		}
		for _, ub := range px.UseBackends {
			check(px, ub.Name, "in a 'use_backend' rule")
		}
	}
	return out
}
