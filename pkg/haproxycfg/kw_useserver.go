package haproxycfg

import (
	"strings"

	"hapair/pkg/sample"
)

// UseServer is `use-server NAME|%[expr] if|unless COND` (section 4.2,
// "use-server"): a request or connection meeting the condition goes to
// that server, without load balancing, unless it is down (then the next
// rule is tried).
type UseServer struct {
	Name   string
	Format *Text        `json:",omitempty"` // a name built per request
	Cond   *sample.Cond `json:"-"`
	Pos    Pos
}

// useServer parses `use-server`.
func (p *parser) useServer(args []string) {
	kw := args[0]
	if p.notInDefaults(kw) || !p.needCap(kw, false, "") {
		return
	}
	if argAt(args, 1) == "" {
		p.alert(kw, "'%s' expects a server name.", kw)
		return
	}
	if w := argAt(args, 2); w != "if" && w != "unless" {
		p.alert(kw, "'%s' requires either 'if' or 'unless' followed by a condition.", kw)
		return
	}
	cond, err := p.parseCond(p.cur.px, args[2:])
	if err != nil {
		p.alert(kw, "error detected while parsing switching rule : %s.", condError(err))
		return
	}
	u := UseServer{Name: args[1], Cond: cond, Pos: p.pos()}
	if strings.Contains(u.Name, "%") {
		t, err := p.text(u.Name)
		if err != nil {
			p.postDiag(Alert, Pos{}, kw, "Parsing [%s:%d]; use-server rule failed to parse log-format '%s' : %s.", u.Pos.File, u.Pos.Line, u.Name, condError(err))
			return
		}
		if t.Format != nil {
			u.Name, u.Format = "", &t
		}
	}
	rs := &p.cur.px.Rules
	rs.UseServers = append(rs.UseServers, u)
}

// checkUseServers reports use-server rules naming a server the backend
// does not have.
func (p *parser) checkUseServers(ps *proxyState) {
	px := ps.px
	for _, u := range px.Rules.UseServers {
		if u.Format != nil || px.Server(u.Name) != nil {
			continue
		}
		p.postDiag(Alert, Pos{}, "use-server", "%s '%s' : unable to find server '%s' referenced in a 'use-server' rule.", typeStr(px.Kind), px.Name, u.Name)
	}
}

// compileBalanceExpr compiles `balance hash EXPR` (and rdp-cookie's
// expression) once the proxy is read, as haproxy does at check time.
func (p *parser) compileBalanceExpr(ps *proxyState) {
	px := ps.px
	if px.Balance != HashExpr && px.Balance != RDPCookie || px.BalanceArgs.Expr != nil {
		return
	}
	if !ps.isDefault {
		p.exprAt, p.exprPS = placeBalance, ps
		defer func() { p.exprAt, p.exprPS = nil, nil }()
	}
	e, err := sample.ParseExpr(px.BalanceArgs.ExprText, p.sampleOptions())
	if err != nil {
		p.postDiag(Alert, Pos{}, "balance", "%s '%s' [%s:%d]: failed to parse 'balance hash' expression '%s' in : %s.",
			typeStr(px.Kind), px.Name, px.Pos.File, px.Pos.Line, px.BalanceArgs.ExprText, condError(err))
		return
	}
	px.BalanceArgs.Expr = e
}
