package haproxycfg

import "fmt"

// An fcgi-app section is parsed and checked as haproxy 2.6 does, and
// never served: `use-fcgi-app`, the only way a proxy uses one, stays
// refused. Its keywords other than docroot and index are refused too, so
// that what is accepted is checked exactly.

// fcgiApp is one fcgi-app section.
type fcgiApp struct {
	name    string
	pos     Pos
	docroot bool
}

func (p *parser) startFCGIApp(args []string) {
	p.endSection()
	p.section = secFCGIApp
	p.sectionName = "fcgi-app"
	p.fcgiCur = nil
	if len(args) < 2 || args[1] == "" {
		p.diag(Alert, LocParsingTight, args[0], "'%s' expects <name> as argument.", args[0])
		return
	}
	if p.tooMany(args, 1) {
		return
	}
	if c, ok := validName(args[1]); !ok {
		p.diag(Alert, LocParsingTight, args[0], "character '%c' is not permitted in '%s' name '%s'.", c, args[0], args[1])
		return
	}
	for _, o := range p.fcgiApps {
		if o.name == args[1] {
			p.diag(Alert, LocParsingCap, args[0], "fcgi-app section '%s' has the same name as another one declared at %s:%d.", args[1], o.pos.File, o.pos.Line)
		}
	}
	p.fcgiCur = &fcgiApp{name: args[1], pos: p.pos()}
	p.fcgiApps = append(p.fcgiApps, p.fcgiCur)
}

func (p *parser) fcgiAppKeyword(args []string) {
	app := p.fcgiCur
	if app == nil {
		return // haproxy would crash on a keyword after a bad header; refused already
	}
	kw := args[0]
	switch kw {
	case "docroot", "index":
		if len(args) < 2 || args[1] == "" {
			what := "<path>"
			if kw == "index" {
				what = "<filename>"
			}
			p.alert(kw, "'%s' expects %s as argument.", kw, what)
			return
		}
		if len(args) > 2 {
			p.alert(kw, "'%s %s' cannot handle unexpected argument '%s'.", kw, args[1], args[2])
			return
		}
		if kw == "docroot" {
			app.docroot = true
		}
	case "path-info", "acl", "set-param", "unset-param", "pass-header", "hide-header", "option", "log-stderr":
		p.refuseForm(grpSections, LocParsing, kw, "", fmt.Sprintf("'%s' in an fcgi-app section (only docroot and index are checked)", kw))
	default:
		p.diag(Alert, LocParsingTight, kw, "unknown keyword '%s' in 'fcgi-app' section", kw)
	}
}

// finishFCGIApps checks every section has a docroot; haproxy reports
// the last declared one missing it, and only that one. It runs those
// checks only when parsing found no error.
func (p *parser) finishFCGIApps() {
	for _, d := range p.diags {
		if d.Severity == Alert {
			return // haproxy stops before its post-parsing checks
		}
	}
	for i := len(p.fcgiApps) - 1; i >= 0; i-- {
		if a := p.fcgiApps[i]; !a.docroot {
			p.postDiag(Alert, Pos{}, "", "fcgi-app '%s': no docroot configured.", a.name)
			return
		}
	}
}
