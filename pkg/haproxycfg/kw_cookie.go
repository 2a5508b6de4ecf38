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
		case "maxidle", "maxlife":
			what := "<idletime>"
			if args[i] == "maxlife" {
				what = "<lifetime>"
			}
			if next == "" {
				alertTight("'%s' expects %s in seconds as argument.", args[i], what)
				return
			}
			n, bad, over := parseSeconds(next)
			switch {
			case over:
				alertTight("timer overflow in argument <%s> to <%s>, maximum value is 2147483647 s (~68 years).", next, args[i])
				return
			case bad != 0:
				alertTight("unexpected character '%c' in argument to <%s>.", bad, args[i])
				return
			}
			if args[i] == "maxidle" {
				c.MaxIdle = n
			} else {
				c.MaxLife = n
			}
			i++
		case "dynamic":
			c.Dynamic = true
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

// parseSeconds reads a delay whose default unit is the second (haproxy's
// parse_time_err with TIME_UNIT_S), rounding up; bad is the first
// unexpected character (0 if none), over an overflow.
func parseSeconds(v string) (n int, bad byte, over bool) {
	i := 0
	var val uint64
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		if val < 1<<40 {
			val = val*10 + uint64(v[i]-'0')
		}
		i++
	}
	if i == 0 {
		return 0, v[0], false
	}
	mult, div := uint64(1), uint64(1)
	if i < len(v) {
		switch v[i] {
		case 's':
		case 'u':
			if i+1 >= len(v) || v[i+1] != 's' {
				return 0, v[i], false
			}
			div = 1000000
			i++
		case 'm':
			if i+1 < len(v) && v[i+1] == 's' {
				div = 1000
				i++
			} else {
				mult = 60
			}
		case 'h':
			mult = 3600
		case 'd':
			mult = 86400
		default:
			return 0, v[i], false
		}
	}
	r := (val*mult + div - 1) / div
	if r >= 0x80000000 || val >= 1<<40 {
		return 0, 0, true
	}
	return int(r), 0, false
}
