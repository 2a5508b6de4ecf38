package haproxycfg

import (
	"fmt"
	"strings"
)

// Error replies beyond `errorfile` (configuration manual 3.8 "HTTP-errors",
// 4.2 "errorfiles", "http-error", and the errorfile, errorfiles and
// default-errorfiles words of an http reply). As haproxy 2.6 does, a
// proxy's errorfile, errorfiles and http-error lines are applied in file
// order (a defaults section's first) once every section is read, so that
// an http-errors section may come after the proxy naming it.

// httpErrors is an `http-errors NAME` section: errorfiles by status.
type httpErrors struct {
	name  string
	pos   Pos
	files map[int]ErrorFile
}

// errOp is one errorfile, errorfiles or http-error line of a proxy.
type errOp struct {
	code    int          // errorfile, http-error: the status
	ef      ErrorFile    // errorfile, http-error: the reply
	section string       // errorfiles (and http-error ... errorfiles NAME): the http-errors section
	codes   map[int]bool // errorfiles: the statuses named (nil: all), http-error: the one
	named   bool         // statuses were named: a missing one is warned about
	pos     Pos
}

// replyRef is an http reply naming an http-errors section, resolved once
// every section is read.
type replyRef struct {
	ret     *Return
	section string
	pos     Pos
	px      string
}

func (p *parser) startHTTPErrors(args []string) {
	p.endSection()
	p.section = secHTTPErrors
	p.sectionName = "http-errors"
	p.curErrors = nil
	if len(args) < 2 || args[1] == "" {
		p.diag(Alert, LocParsing, "http-errors", "missing name for http-errors section.")
		p.abort = true
		return
	}
	if i := strings.IndexFunc(args[1], func(r rune) bool { return !isNameChar(r) }); i >= 0 {
		p.diag(Alert, LocParsing, "http-errors", "character '%c' is not permitted in '%s' name '%s'.", args[1][i], args[0], args[1])
	}
	for _, e := range p.httpErrors {
		if e.name == args[1] {
			p.diag(Alert, LocParsingTight, "http-errors", "http-errors section '%s' already exists (declared at %s:%d).", args[1], e.pos.File, e.pos.Line)
		}
	}
	p.curErrors = &httpErrors{name: args[1], pos: p.pos(), files: map[int]ErrorFile{}}
	p.httpErrors = append(p.httpErrors, p.curErrors)
}

// isNameChar is haproxy's invalid_char set, inverted.
func isNameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)
}

// httpErrorsKeyword is a line of an http-errors section: only errorfile.
func (p *parser) httpErrorsKeyword(args []string) {
	if args[0] != "errorfile" {
		p.alert(args[0], "unknown keyword '%s' in '%s' section", args[0], "http-errors")
		return
	}
	if len(args) < 3 || args[1] == "" || args[2] == "" {
		p.alert("errorfile", "errorfile: expects <status_code> and <file> as arguments.")
		return
	}
	code, _ := parseUint(args[1], 1<<31-1)
	ef, ok := p.loadErrorFile(code, args[2])
	if !ok || p.curErrors == nil {
		return
	}
	p.curErrors.files[code] = ef
}

// loadErrorFile reads and checks an errorfile for code as haproxy does
// (http_parse_errorfile), with its alerts.
func (p *parser) loadErrorFile(code int, path string) (ErrorFile, bool) {
	if !errorStatuses[code] {
		p.alert("errorfile", "errorfile : status code '%d' not handled.", code)
		return ErrorFile{}, false
	}
	ef := ErrorFile{Path: path, Pos: p.pos()}
	if p.readFile == nil {
		return ef, true
	}
	b, err := p.readFile(path)
	if err != nil {
		p.alert("errorfile", "errorfile : error opening file '%s'.", path)
		return ErrorFile{}, false
	}
	m, err := ParseErrorFile(path, b)
	if err != nil {
		p.alert("errorfile", "errorfile : %v", err)
		return ErrorFile{}, false
	}
	if m.Truncated {
		p.warn("errorfile", "%s", ErrorFileTruncated(path))
	}
	ef.Content, ef.Message = b, m
	return ef, true
}

// errorfilesKeyword is `errorfiles NAME [CODE ...]`.
func (p *parser) errorfilesKeyword(args []string) {
	if len(args) < 2 || args[1] == "" {
		p.alert(args[0], "%s : expects <name> as argument.", args[0])
		return
	}
	op := errOp{section: args[1], pos: p.pos()}
	if len(args) > 2 {
		op.codes, op.named = map[int]bool{}, true
		for _, a := range args[2:] {
			c, _ := parseUint(a, 1<<31-1)
			if !errorStatuses[c] {
				p.alert(args[0], "%s : status code '%d' not handled.", args[0], c)
				return
			}
			op.codes[c] = true
		}
	}
	p.cur.errOps = append(p.cur.errOps, op)
}

// httpErrorKeyword is `http-error status CODE [reply arguments]`.
func (p *parser) httpErrorKeyword(args []string) {
	kw := args[0]
	ret, n, rerr := p.replyArgs(kw, args[1:], 0)
	if rerr != "" {
		p.alert(kw, "%s : %s", kw, rerr)
		return
	}
	if ret.Status == 0 {
		p.alert(kw, "%s : expects at least a <status> as arguments.\n", kw)
		return
	}
	if !errorStatuses[ret.Status] {
		p.alert(kw, "%s: status code '%d' not handled.", kw, ret.Status)
		return
	}
	if 1+n < len(args) {
		p.alert(kw, "%s : unknown keyword '%s'.", kw, args[1+n])
		return
	}
	op := errOp{code: ret.Status, pos: p.pos()}
	switch {
	case ret.errorSection != "":
		op.section, op.codes, op.named = ret.errorSection, map[int]bool{ret.Status: true}, true
	case ret.ErrorFile != nil:
		op.ef = *ret.ErrorFile
	case ret.ProxyErrors:
		// default-errorfiles: haproxy's own page, not an inherited file.
		op.ef = ErrorFile{Builtin: true, Pos: p.pos()}
	default:
		op.ef = ErrorFile{Reply: ret, Pos: p.pos()}
	}
	p.cur.errOps = append(p.cur.errOps, op)
}

// replyErrorWords reads an http reply's errorfile, errorfiles and
// default-errorfiles words (rest[0] is one of them); it returns how many
// words it used.
func (p *parser) replyErrorWords(ret *Return, rest []string) (int, ruleError) {
	w := rest[0]
	if ret.act != "" {
		return 0, ruleError(fmt.Sprintf("unexpected '%s' argument, '%s' already defined", w, ret.act))
	}
	ret.act = w
	switch w {
	case "default-errorfiles":
		ret.ProxyErrors = true
		return 1, ""
	case "errorfiles":
		if len(rest) < 2 || rest[1] == "" {
			return 0, ruleError(fmt.Sprintf("'%s' expects <name> as argument", w))
		}
		ret.errorSection = rest[1]
		p.replyRefs = append(p.replyRefs, replyRef{ret: ret, section: rest[1], pos: p.pos(), px: p.cur.px.Name})
		return 2, ""
	}
	if len(rest) < 2 || rest[1] == "" {
		return 0, ruleError(fmt.Sprintf("'%s' expects <fmt> as argument", w))
	}
	ef := ErrorFile{Path: rest[1], Pos: p.pos()}
	if p.readFile != nil {
		b, err := p.readFile(rest[1])
		if err != nil {
			return 0, ruleError(fmt.Sprintf("error opening file '%s'", rest[1]))
		}
		m, err := ParseErrorFile(rest[1], b)
		if err != nil {
			return 0, ruleError(err.Error())
		}
		ef.Content, ef.Message = b, m
	}
	ret.ErrorFile = &ef
	return 2, ""
}

// resolveErrors applies every proxy's errorfile, errorfiles and
// http-error lines in order, and points the http replies naming an
// http-errors section at its files.
func (p *parser) resolveErrors() {
	find := func(name string) *httpErrors {
		for _, e := range p.httpErrors {
			if e.name == name {
				return e
			}
		}
		return nil
	}
	for _, ps := range p.proxies {
		if len(ps.errOps) == 0 {
			continue
		}
		px := ps.px
		px.ErrorFiles = map[int]ErrorFile{}
		for _, op := range ps.errOps {
			if op.section == "" {
				px.ErrorFiles[op.code] = op.ef
				continue
			}
			sec := find(op.section)
			if sec == nil {
				p.postDiag(Alert, Pos{}, "errorfiles", "proxy '%s': unknown http-errors section '%s' (at %s:%d).", px.Name, op.section, op.pos.File, op.pos.Line)
				continue
			}
			for code := range errorStatuses {
				if op.codes != nil && !op.codes[code] {
					continue
				}
				if ef, ok := sec.files[code]; ok {
					px.ErrorFiles[code] = ef
				} else if op.named {
					p.postDiag(Warning, Pos{}, "errorfiles", "config: proxy '%s' : status '%d' not declared in http-errors section '%s' (at %s:%d).", px.Name, code, sec.name, op.pos.File, op.pos.Line)
				}
			}
		}
		if len(px.ErrorFiles) == 0 {
			px.ErrorFiles = nil
		}
	}
	for _, r := range p.replyRefs {
		sec := find(r.section)
		if sec == nil {
			p.postDiag(Alert, r.pos, "errorfiles", "unknown http-errors section '%s' referenced by an http reply ", r.section)
			continue
		}
		if ef, ok := sec.files[r.ret.Status]; ok {
			ef := ef
			r.ret.ErrorFile = &ef
			continue
		}
		p.postDiag(Warning, Pos{}, "errorfiles", "Proxy '%s': status '%d' referenced by an http reply not declared in http-errors section '%s'.", r.px, r.ret.Status, sec.name)
		r.ret.ProxyErrors = true
	}
}
