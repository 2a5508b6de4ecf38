package proxy

import (
	"hapair/pkg/haproxycfg"
	"hapair/pkg/sample"
)

// balanceSample is what `balance hash EXPR` or `balance rdp-cookie`
// hashes for t: the expression's value as binary; false when absent (the
// choice is then round robin, as haproxy's). A value that may still change
// (a payload not fully read) counts as absent, as for rdp-cookie.
func balanceSample(b *Backend, t *sample.Txn) (string, bool) {
	e := b.px.BalanceArgs.Expr
	if e == nil {
		return "", false
	}
	v, ok := e.Eval(t)
	if !ok {
		return "", false
	}
	v, ok = sample.Cast(v, sample.TypeBin)
	if !ok || b.px.Balance == haproxycfg.RDPCookie && v.Str == "" {
		return "", false
	}
	return v.Str, true
}

// useServer is the server the backend's use-server rules pick for t (nil:
// load balancing decides), as haproxy 2.6's process_server_rules: the
// first rule whose condition holds names the server; a server that is
// down or in maintenance passes to the next rule, unless `option
// persist`; a name built per request that names no server ends the rules.
func (b *Backend) useServer(t *sample.Txn) *Server {
	for i := range b.px.Rules.UseServers {
		u := &b.px.Rules.UseServers[i]
		if !u.Cond.Eval(t) {
			continue
		}
		name := u.Name
		if u.Format != nil {
			name = string(u.Format.Format.Append(nil, t, nil))
		}
		var srv *Server
		for _, s := range b.Servers() {
			if s.Name() == name {
				srv = s
				break
			}
		}
		if srv == nil {
			return nil
		}
		if srv.Usable() || b.px.Options.Persist {
			return srv
		}
	}
	return nil
}

// SrvID is the id (puid) of a server of a backend, 0 when unknown: the
// srv_id fetch (sample.SrvIDEnv).
func (e *Engine) SrvID(backend, server string) int {
	b := e.Backend(backend)
	if b == nil {
		return 0
	}
	for _, s := range b.Servers() {
		if s.Name() == server {
			return s.id
		}
	}
	return 0
}
