package haproxycfg

import (
	"errors"
	"strconv"

	"hapair/pkg/accesslog"
	"hapair/pkg/logformat"
	"hapair/pkg/sample"
)

// logState keeps a proxy's log-format strings while it is read; they are
// compiled once the proxy's mode is known (checkLogging), as haproxy
// compiles them after parsing.
type logState struct {
	from      string // what set the access format: "log-format", "option httplog", ...; "" none
	format    string // the log-format text when from is "log-format" or "option httplog clf"
	formatPos Pos
	sd        string
	sdPos     Pos
	uid       string
	uidPos    Pos
	errFmt    string // error-log-format
	errPos    Pos
}

// logOption records `option tcplog`, `option httplog [clf]` (the option
// flags themselves are set by the caller).
func (p *parser) logOption(name string, clf bool) {
	st := &p.cur.logs
	from := "option " + name
	if clf {
		from += " clf"
	}
	if name == "httpslog" {
		p.overrideWarning("option httplog")
	} else {
		p.overrideWarning(from)
	}
	st.from, st.format, st.formatPos = from, "", p.pos()
	if clf {
		st.format = logformat.CLFLogFormat
	}
}

// overrideWarning is haproxy's warning when a defaults section sets its
// log format twice.
func (p *parser) overrideWarning(from string) {
	if p.cur.isDefault && p.cur.logs.from != "" {
		p.diag(Warning, LocParsingTight, "log-format", "'%s' overrides previous '%s' in 'defaults' section.", from, p.cur.logs.from)
	}
}

// logKeyword handles the log and capture keywords of a proxy section; it
// reports whether args[0] was one of them.
func (p *parser) logKeyword(args []string) bool {
	kw := args[0]
	px, st := p.cur.px, &p.cur.logs
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	oneArg := func() bool {
		if arg(1) == "" {
			p.alert(kw, "%s expects an argument.", kw)
			return false
		}
		if len(args) > 2 {
			p.alert(kw, "%s expects only one argument, don't forget to escape spaces!", kw)
			return false
		}
		return true
	}
	backendIgnored := func() bool {
		if !p.cur.isDefault && !px.Kind.HasFrontend() {
			p.warn(kw, "backend '%s' : '%s' directive is ignored in backends.", px.Name, kw)
			return true
		}
		return false
	}
	switch kw {
	case "log-format":
		if !oneArg() {
			return true
		}
		p.overrideWarning("log-format")
		st.from, st.format, st.formatPos = "log-format", args[1], p.pos()
		px.Options.TCPLog, px.Options.HTTPLog = false, false
		backendIgnored()
	case "error-log-format":
		if !oneArg() {
			return true
		}
		if p.cur.isDefault && st.errFmt != "" {
			p.diag(Warning, LocParsingTight, kw, "'error-log-format' overrides previous 'error-log-format' in 'defaults' section.")
		}
		st.errFmt, st.errPos = args[1], p.pos()
		backendIgnored()
	case "log-format-sd":
		if !oneArg() {
			return true
		}
		st.sd, st.sdPos = args[1], p.pos()
		backendIgnored()
	case "unique-id-format":
		if !oneArg() {
			return true
		}
		st.uid, st.uidPos = args[1], p.pos()
	case "unique-id-header":
		if arg(1) == "" {
			p.alert(kw, "%s expects an argument.", kw)
			return true
		}
		px.Logging.UniqueIDHeader = args[1]
	case "log-tag":
		if arg(1) == "" {
			p.alert(kw, "'%s' expects a tag for use in syslog.", kw)
			return true
		}
		px.Logging.Tag = args[1]
	case "capture":
		p.capture(args)
	case "compression":
		p.compression(args)
	case "declare":
		p.declare(args)
	default:
		return false
	}
	return true
}

// capture is `capture cookie NAME len N`, `capture request header NAME
// len N` and `capture response header NAME len N`.
func (p *parser) capture(args []string) {
	px := p.cur.px
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	if !p.cur.isDefault && !px.Kind.HasFrontend() {
		p.warn("capture", "'capture' ignored because %s '%s' has no frontend capability.", px.Kind, px.Name)
	}
	sub := arg(1)
	isHdr := (sub == "request" || sub == "response") && arg(2) == "header"
	if sub != "cookie" && !isHdr {
		p.alert("capture", "'%s' expects 'cookie' or 'request header' or 'response header'.", args[0])
		return
	}
	if p.cur.isDefault {
		p.alert("capture", "'%s %s' not allowed in 'defaults' section.", args[0], sub)
		return
	}
	if len(args) > 6 {
		p.alert("capture", "'%s %s' cannot handle unexpected argument '%s'.", args[0], sub, args[6])
		return
	}
	if sub == "cookie" {
		if arg(4) == "" {
			p.alert("capture", "'%s' expects 'cookie' <cookie_name> 'len' <len>.", args[0])
			return
		}
		px.Logging.Cookie = HeaderCapture{Name: args[2], Len: atol(args[4])}
		return
	}
	if arg(3) == "" || arg(4) != "len" || arg(5) == "" {
		p.alert("capture", "'%s %s' expects 'header' <header_name> 'len' <len>.", args[0], sub)
		return
	}
	c := HeaderCapture{Name: args[3], Len: atol(args[5])}
	if sub == "request" {
		px.Logging.ReqCaptures = append(px.Logging.ReqCaptures, c)
	} else {
		px.Logging.ResCaptures = append(px.Logging.ResCaptures, c)
	}
}

// atol reads a length as C's atol does: leading digits, 0 without any;
// a negative length keeps nothing.
func atol(s string) int {
	n := 0
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9' && n < 1<<30; i++ {
		n = n*10 + int(s[i]-'0')
	}
	if neg {
		return 0
	}
	return n
}

// checkLogging compiles the proxy's log formats for its mode, as
// haproxy's check_config_validity does, reporting errors at the line
// that set them.
func (p *parser) checkLogging(ps *proxyState) {
	px, st := ps.px, &ps.logs
	lg := &px.Logging
	if !px.Kind.HasFrontend() {
		// Logs are written with the frontend's formats.
		lg.Access, lg.StructuredData, lg.Error = nil, nil, nil
		lg.ReqCaptures, lg.ResCaptures, lg.Cookie = nil, nil, HeaderCapture{}
		if st.uid != "" {
			k := Keyword{Class: Refused, Group: grpLogs}
			p.diags = append(p.diags, Diagnostic{Severity: Alert, Pos: st.uidPos, Keyword: "unique-id-format", Style: LocParsing,
				Msg: "'unique-id-format' in a backend is not implemented by gproxy (" + k.Group.String() + ")."})
		}
		return
	}
	http := px.Mode == ModeHTTP
	opts := &sample.ParseOptions{ReadFile: p.readFile, Refs: p.cfg.PatRefs, Where: sample.Where{File: p.file, Line: p.line}}
	text := ""
	switch {
	case st.from == "log-format":
		text = st.format
	case px.Options.HTTPLog && http && st.from == "option httplog clf":
		text = logformat.CLFLogFormat
	case px.Options.HTTPLog && http && st.from == "option httpslog":
		text = accesslog.HTTPSLogFormat
	case px.Options.HTTPLog && http:
		text = accesslog.HTTPLogFormat
	case px.Options.HTTPLog || px.Options.TCPLog:
		// httplog in mode tcp falls back to tcplog (warned in checkProxy).
		text = accesslog.TCPLogFormat
	}
	compile := func(what, s string, pos Pos, o logformat.Options) *logformat.Format {
		if s == "" {
			return nil
		}
		place := map[string]*exprPlace{"log-format": placeLog, "log-format-sd": placeLogSD, "error-log-format": placeLog, "unique-id": placeUID}[what]
		opts.Parsed = func(refs []sample.ArgRef) {
			for _, r := range refs {
				ps.argRefs = append(ps.argRefs, argRef{pos: pos, ctx: place.ctx, where: place.where, late: true, ref: r})
			}
		}
		o.Sample, o.ASAP = opts, px.Options.LogASAP
		f, err := logformat.ParseWith(s, o)
		if err != nil {
			p.diags = append(p.diags, Diagnostic{Severity: Alert, Pos: pos, Keyword: what, Style: LocParsingCap,
				Msg: "failed to parse " + what + " : " + logformat.Message(err) + "."})
			return nil
		}
		return f
	}
	lg.Access = compile("log-format", text, st.formatPos, logformat.Options{HTTP: http, Log: true})
	lg.StructuredData = compile("log-format-sd", st.sd, st.sdPos, logformat.Options{HTTP: http, Log: true})
	lg.Error = compile("error-log-format", st.errFmt, st.errPos, logformat.Options{HTTP: http, Log: true})
	lg.UniqueID = compile("unique-id", st.uid, st.uidPos, logformat.Options{HTTP: http, Value: true, Merge: true})
}

// declare is `declare capture request|response len N`: a capture slot
// without a header, filled by `http-request|http-response capture ... id
// N` rules (haproxy's proxy_parse_declare, its messages included).
func (p *parser) declare(args []string) {
	px := p.cur.px
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch {
	case p.cur.isDefault:
		p.alert(args[0], "'%s' not available in default section", args[0])
		return
	case !px.Kind.HasFrontend():
		p.alert(args[0], "'%s' only available in frontend or listen section", args[0])
		return
	case arg(1) == "":
		p.alert(args[0], "'%s' needs a second keyword that specify the type of declaration ('capture')", args[0])
		return
	case arg(1) != "capture":
		p.alert(args[0], "unknown declaration type '%s' (supports 'capture')", arg(1))
		return
	case arg(2) != "request" && arg(2) != "response":
		p.alert(args[0], "'%s %s' requires a direction ('request' or 'response')", args[0], args[1])
		return
	case arg(3) != "len":
		p.alert(args[0], "'%s %s' requires a capture length ('len')", args[0], args[1])
		return
	case arg(4) == "":
		p.alert(args[0], "'%s %s': 'len' requires a numeric value that represents the capture length", args[0], args[1])
		return
	}
	n, err := strconv.ParseInt(args[4], 10, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		// haproxy names the 'len' word here, not the value.
		p.alert(args[0], "'%s %s': cannot parse the length '%s'.", args[0], args[1], args[3])
		return
	}
	if n <= 0 {
		p.alert(args[0], "length must be > 0")
		return
	}
	px.Logging.AddCapture(args[2] == "response", int(min(n, 1<<30)))
}
