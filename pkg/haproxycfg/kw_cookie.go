package haproxycfg

import "strings"

// cookie parses `cookie NAME [options]` with haproxy's messages.
func (p *parser) cookie(args []string) {
	kw := args[0]
	if !p.needCap(kw, false, "") {
		return
	}
	if len(args) < 2 || args[1] == "" {
		p.alert(kw, "'%s' expects <cookie_name> as argument.", kw)
		return
	}
	c := &Cookie{Name: args[1], Pos: p.pos()}
	var domains, attrs []string
	alertTight := func(format string, a ...any) { p.diag(Alert, LocParsingTight, kw, format, a...) }
	for i := 2; i < len(args); i++ {
		next := ""
		if i+1 < len(args) {
			next = args[i+1]
		}
		switch args[i] {
		case "rewrite":
			c.Rewrite = true
		case "indirect":
			c.Indirect = true
		case "insert":
			c.Insert = true
		case "nocache":
			c.NoCache = true
		case "postonly":
			c.PostOnly = true
		case "preserve":
			c.Preserve = true
		case "prefix":
			c.Prefix = true
		case "httponly":
			c.HTTPOnly = true
		case "secure":
			c.Secure = true
		case "domain":
			if next == "" {
				alertTight("'%s' expects <domain> as argument.", args[i])
				return
			}
			if !strings.Contains(next, ".") {
				p.diag(Warning, LocParsingTight, kw, "domain '%s' contains no embedded dot, this configuration may not work properly (see RFC6265#5.2.3).", next)
			}
			for j := 0; j < len(next); j++ {
				if ch := next[j]; !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '-' || ch == '_') {
					alertTight("character '%c' is not permitted in domain name '%s'.", ch, next)
					return
				}
			}
			domains = append(domains, next)
			i++
		case "attr":
			if next == "" {
				alertTight("'%s' expects <value> as argument.", args[i])
				return
			}
			for j := 0; j < len(next); j++ {
				if ch := next[j]; ch < 0x20 || ch == 0x7f || ch == ';' {
					alertTight("character '%%x%02X' is not permitted in attribute value.", ch)
					return
				}
			}
			attrs = append(attrs, next)
			i++
		case "maxidle", "maxlife", "dynamic":
			// Dated and dynamic cookies are not implemented.
			shown := "'cookie ... " + args[i]
			if args[i] != "dynamic" {
				shown += " " + next
				i++
			}
			p.refuseForm(grpRouting, LocParsing, kw, "", shown+"'")
			return
		default:
			p.alert(kw, "'%s' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options.", kw)
			return
		}
	}
	c.Domain = strings.Join(domains, "; domain=")
	c.Attrs = strings.Join(attrs, "; ")
	bad := false
	if c.Rewrite && c.Indirect {
		p.alert(kw, "cookie 'rewrite' and 'indirect' modes are incompatible.")
		bad = true
	}
	if b2i(c.Rewrite)+b2i(c.Insert)+b2i(c.Prefix) > 1 {
		p.alert(kw, "cookie 'rewrite', 'insert' and 'prefix' modes are incompatible.")
		bad = true
	}
	if c.Preserve && !c.Insert && !c.Indirect {
		p.alert(kw, "cookie 'preserve' requires at least 'insert' or 'indirect'.")
		bad = true
	}
	if !bad {
		p.cur.px.Cookie = c
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
