package haproxycfg

import (
	"fmt"
	"strings"

	"hapair/pkg/sample"
)

// ACLs and conditions (configuration manual section 7): `acl` lines are
// compiled when read, into the proxy's set (parser state only: the model
// carries the compiled conditions of the rules that use them).

// sampleOptions are the sample parser's view of this parser: pattern and
// map files are read through the configuration's file reader (paths as
// written, relative to the working directory, as haproxy opens them), and
// its warnings are haproxy's, printed without a location.
func (p *parser) sampleOptions() *sample.ParseOptions {
	o := &sample.ParseOptions{
		Warn: func(msg string) {
			p.diags = append(p.diags, Diagnostic{Severity: Warning, Pos: p.pos(), Keyword: "acl", Msg: msg, Style: LocNone})
		},
	}
	if p.readFile != nil {
		o.ReadFile = p.readFile
	}
	return o
}

// aclKeyword is `acl NAME FETCH[,CONV...] [FLAGS] PATTERNS...`.
func (p *parser) aclKeyword(args []string) {
	if p.cur.isDefault && p.cur.name == "" {
		p.alert("acl", "'%s' not allowed in anonymous 'defaults' section.", args[0])
		return
	}
	name := ""
	if len(args) > 1 {
		name = args[1]
	}
	if c, bad := invalidNameChar(name); bad || name == "" {
		p.alert("acl", "character '%s' is not permitted in acl name '%s'.", c, name)
		return
	}
	if strings.EqualFold(name, "or") {
		p.alert("acl", "acl name '%s' will never match. 'or' is used to express a logical disjunction within a condition.", name)
		return
	}
	a, err := sample.ParseACL(name, args[2:], p.sampleOptions())
	if err != nil {
		p.alert("acl", "error detected while parsing ACL '%s' : %s.", name, err)
		return
	}
	if p.cur.acls == nil {
		p.cur.acls = sample.ACLSet{}
	}
	p.cur.acls.Add(a)
}

// invalidNameChar is haproxy's invalid_char for names: letters, digits
// and ".-_:" only.
func invalidNameChar(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == ':') {
			return string(c), true
		}
	}
	return "", false
}

// parseCond compiles the condition of a rule line of proxy px (args from
// "if"/"unless" to the end) against px's ACLs, the predefined ones and
// anonymous { } ACLs. The error text is haproxy's; the caller words the
// alert for its keyword, e.g.
//
//	p.alert(kw, "error detected while parsing an '%s %s' condition : %s.", kw, action, err)
func (p *parser) parseCond(px *Proxy, args []string) (*sample.Cond, error) {
	ps := p.cur
	if ps == nil || ps.px != px {
		ps = nil
		for _, q := range p.proxies {
			if q.px == px {
				ps = q
				break
			}
		}
	}
	var acls sample.ACLSet
	if ps != nil {
		if ps.acls == nil {
			ps.acls = sample.ACLSet{}
		}
		acls = ps.acls
	}
	c, err := sample.ParseCond(args, acls, p.sampleOptions())
	if err != nil {
		return nil, fmt.Errorf("%w", err)
	}
	return c, nil
}
