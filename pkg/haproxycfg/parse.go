package haproxycfg

import (
	"bytes"
	"fmt"
	"hapair/pkg/sample"
	"hapair/pkg/tlsconf"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ParseOptions tune parsing.
type ParseOptions struct {
	// LookupEnv resolves "${VAR}" in double quotes; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// ReadFile reads files a directive names (errorfile). Parse leaves
	// it nil (no file is touched and contents stay empty); ParseFiles
	// uses os.ReadFile when nil, as haproxy reads them while parsing.
	ReadFile func(string) ([]byte, error)
	// CheckFD checks that an inherited descriptor named by fd@ or
	// sockpair@ is a socket, as haproxy does while parsing. Parse leaves
	// it nil (no check); ParseFiles uses the process's descriptors.
	CheckFD func(fd int) error
	// LocalPeer is the -L argument: this process's name in `peers`
	// sections. Empty: the global `localpeer`, else the host name.
	LocalPeer string
	// Dynamic is set when the text is one server line of `add server`
	// (the runtime API): its TLS options take the running
	// configuration's global TLS defaults, and a `ca-file` names a CA
	// file already in memory (haproxy 2.6 loads none for a dynamic
	// server); checks use TLS only with `check-ssl`.
	Dynamic *DynamicServer
}

// DynamicServer is what a dynamic server line is read against.
type DynamicServer struct {
	Running *Config          // the configuration gproxy started with
	CAFiles *tlsconf.CAFiles // the CA files in memory (`show ssl ca-file`)
	// Cert is the certificate file in memory of that path (`show ssl
	// cert`), or nil.
	Cert func(path string) *tlsconf.Cert
}

// Parse reads one configuration text named name (used in diagnostics). It
// touches no file or socket. The returned error wraps ErrInvalid exactly
// when at least one diagnostic is an Alert; the Config is returned anyway
// (partially filled) so callers can inspect it.
func Parse(name string, src []byte, opts ParseOptions) (*Config, []Diagnostic, error) {
	p := newParser(opts)
	p.parseFile(name, src)
	return p.finish()
}

// ParseFiles reads the -f arguments in order, as haproxy does: a directory
// stands for its *.cfg files (regular files only) sorted by name.
func ParseFiles(paths []string, opts ParseOptions) (*Config, []Diagnostic, error) {
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	if opts.CheckFD == nil {
		opts.CheckFD = checkSocketFD
	}
	p := newParser(opts)
	for _, path := range paths {
		files, err := expandPath(path)
		if err != nil {
			p.diags = append(p.diags, Diagnostic{Severity: Alert, Pos: Pos{File: path}, Style: LocNone,
				Msg: fmt.Sprintf("Cannot open configuration file/directory %s : %s", path, errnoText(err))})
			continue
		}
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				p.diags = append(p.diags, Diagnostic{Severity: Alert, Pos: Pos{File: f}, Style: LocNone,
					Msg: fmt.Sprintf("Cannot open configuration file/directory %s : %s", f, errnoText(err))})
				continue
			}
			p.parseFile(f, src)
		}
	}
	return p.finish()
}

// errnoText is strerror's wording ("No such file or directory").
func errnoText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	s := err.Error()
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

func expandPath(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		// haproxy keeps names whose first ".cfg" ends them, skips dot
		// files, and joins with a plain "/" (so "conf.d/" gives
		// "conf.d//a.cfg" in messages, as in haproxy).
		name := e.Name()
		if i := strings.Index(name, ".cfg"); strings.HasPrefix(name, ".") || i < 0 || i != len(name)-4 {
			continue
		}
		full := path + "/" + name
		if st, err := os.Stat(full); err != nil || !st.Mode().IsRegular() {
			continue
		}
		out = append(out, full)
	}
	sort.Strings(out)
	return out, nil
}

// sectionKind is the kind of section being read.
type sectionKind int

const (
	secNone sectionKind = iota
	secGlobal
	secDefaults
	secProxy
	secIgnored // a section haproxy has and gproxy refuses
	secFCGIApp // parsed, never served (kw_fcgi.go)
	secUserlist
	secHTTPErrors
)

// proxyState is a proxy (or defaults section) while it is being read.
type proxyState struct {
	px        *Proxy
	defSrv    Server // default-server values applied to later servers
	isDefault bool
	name      string // defaults sections only ("" when unnamed)
	// balanceSet: a `balance` line (here or in the defaults) set the
	// algorithm; Balance alone cannot tell, as it holds the built-in
	// roundrobin. haproxy ignores `dispatch` then.
	balanceSet bool
	// tcpCaptureContent counts tcp-request content capture rules
	// reading the request's contents (warned without inspect-delay).
	tcpCaptureContent int
	explicitID        bool // `id` given
	idPos             Pos
	defBEPos          Pos // where default_backend was set (maybe in defaults)
	httplogPos        Pos // where `option httplog` was set
	logasapPos        Pos // where `option logasap` was set
	abortPos          Pos // where `option abortonclose` was set
	stickPos          Pos // where `stick-table` was set (kw_stick.go)
	// logs holds the log-format strings until the proxy's mode is known
	// (kw_logs.go).
	logs logState
	// rulesUsers: the kind of the proxies that took this defaults
	// section's rules (frontend or backend), once one did.
	rulesUsers *Kind
	// finalNoCond: the last rule of an http-request, http-response or
	// http-after-response set is final without a condition (kw_rules.go).
	finalNoCond map[string]bool
	chk         checkState // tcp-check and http-check rule sets
	// acls are the `acl` lines of this section, in file order; never
	// inherited from defaults (haproxy keeps a named defaults section's
	// ACLs for its own rules).
	acls sample.ACLSet
	// argRefs are the sample arguments naming configuration objects, in
	// file order, resolved once everything is read (resolveArgs).
	argRefs []argRef
	// errOps are the errorfile, errorfiles and http-error lines, a
	// defaults section's first, applied once everything is read.
	errOps []errOp
}

type parser struct {
	// fcgiApps are the fcgi-app sections, fcgiCur the one being read
	// (nil after a bad header).
	fcgiApps []*fcgiApp
	fcgiCur  *fcgiApp
	env      envFunc
	readFile func(string) ([]byte, error) // nil: referenced files are not read
	checkFD  func(int) error              // nil: inherited descriptors are not checked
	cfg      *Config
	diags    []Diagnostic

	file        string
	line        int
	fileAlerts  int
	section     sectionKind
	sectionName string // "global", "listen", ... for messages
	cur         *proxyState
	// exprAt and exprPS: where the sample expressions compiled now were
	// written, and the proxy that resolves their arguments (nil: not
	// resolved).
	exprAt    *exprPlace
	exprPS    *proxyState
	defaults  *proxyState              // the last defaults section
	named     map[string][]*proxyState // named defaults sections, by name
	proxies   []*proxyState
	cond      []condFrame
	userlist  *userlistState   // the userlist section being read
	userlists []*userlistState // every userlist, for the end checks
	resolvers *Resolvers       // the resolvers section being read
	peers     *peersState      // the peers section being read
	allPeers  []*Peers         // every peers section (kw_peers.go)
	localPeer string           // this process's peer name
	// localPeerCmdline: the name came from -L (`localpeer` is ignored).
	localPeerCmdline bool
	localPeerSet     bool // set by `localpeer`
	abort            bool // stop reading the current file (haproxy's ERR_ABORT)
	// experimental: the global section said expose-experimental-directives
	// (normalize-uri needs it).
	experimental bool
	warned       map[string]bool
	// textAt are the checkpoints of the rule being read: its log-format
	// values may use only the fetches available there (nil: unchecked).
	textAt []sample.Checkpoint
	// envOver is the environment as setenv, presetenv and unsetenv
	// changed it so far (kw_env.go).
	envOver map[string]envVal
	// envReset: a resetenv line unset every variable the overlay does
	// not hold.
	envReset bool
	// userlistExists says whether a userlist section of that name exists
	// (http_auth arguments), asked once every section is read.
	userlistExists func(name string) bool
	tls            tlsGlobal // global TLS defaults (kw_tls.go)
	dyn            *DynamicServer
	// httpErrors are the http-errors sections; curErrors the one being
	// read; replyRefs the http replies naming one (kw_errors.go).
	httpErrors []*httpErrors
	curErrors  *httpErrors
	replyRefs  []replyRef
	// mapRules are the set-map/del-map/add-acl/del-acl rules, given their
	// file's pattern reference once every ACL and map is read.
	mapRules []*Rule
}

func newParser(opts ParseOptions) *parser {
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	p := &parser{
		readFile: opts.ReadFile,
		checkFD:  opts.CheckFD,
		cfg:      &Config{Global: Global{UID: -1, GID: -1}, PatRefs: sample.NewPatRefs()},
		named:    map[string][]*proxyState{},
		warned:   map[string]bool{},
	}
	p.userlistExists = func(name string) bool { return p.cfg.Userlist(name) != nil }
	if d := opts.Dynamic; d != nil {
		p.dyn = d
		if d.Running != nil {
			p.tls = d.Running.tls
			p.tls.crtLists, p.tls.pending = nil, nil
		}
	}
	p.localPeer, p.localPeerCmdline = localPeerName(opts), opts.LocalPeer != ""
	p.env = func(name string) (string, bool) {
		switch name {
		case ".FILE":
			return p.file, true
		case ".LINE":
			return strconv.Itoa(p.line), true
		case ".SECTION":
			return p.sectionName, true
		case "HAPROXY_LOCALPEER":
			// haproxy sets it again on `localpeer`.
			if p.localPeerSet {
				return p.localPeer, true
			}
		}
		if strings.HasPrefix(name, ".") {
			return "", false
		}
		return p.lookupOverlay(name, lookup)
	}
	p.defaults = newDefaults("")
	return p
}

// newDefaults is a fresh defaults section holding haproxy's built-in
// values (proxy_preset_defaults).
func newDefaults(name string) *proxyState {
	return &proxyState{
		isDefault: true,
		name:      name,
		px: &Proxy{
			Retries: 3,
			Balance: RoundRobin,
		},
		defSrv: Server{Weight: 1, Inter: 2 * time.Second, Rise: 2, Fall: 3},
	}
}

// clone copies a defaults section into a new proxy or defaults section.
func (ps *proxyState) clone() *proxyState {
	px := *ps.px
	px.Binds, px.Servers, px.UseBackends = nil, nil, nil
	px.DefaultBackend = ""
	px.Logs = append([]LogTarget(nil), ps.px.Logs...)
	// Each frontend adds its own capture slots after the defaults' ones.
	px.Logging.ReqCaptures = append([]HeaderCapture(nil), ps.px.Logging.ReqCaptures...)
	px.Logging.ResCaptures = append([]HeaderCapture(nil), ps.px.Logging.ResCaptures...)
	if ps.px.ErrorFiles != nil {
		px.ErrorFiles = make(map[int]ErrorFile, len(ps.px.ErrorFiles))
		for code, ef := range ps.px.ErrorFiles {
			px.ErrorFiles[code] = ef
		}
	}
	px.Stats.Auth = append([]UserPass(nil), ps.px.Stats.Auth...)
	if c := ps.px.Compression; c != nil {
		// Algorithms and types are inherited, offload is not.
		px.Compression = &Compression{Algos: append([]string(nil), c.Algos...), Types: append([]string(nil), c.Types...)}
	}
	px.Rules = ps.px.Rules.clone()
	return &proxyState{px: &px, defSrv: ps.defSrv, defBEPos: ps.defBEPos, balanceSet: ps.balanceSet,
		httplogPos: ps.httplogPos, logasapPos: ps.logasapPos, abortPos: ps.abortPos, logs: ps.logs, chk: ps.chk.clone(),
		errOps: append([]errOp(nil), ps.errOps...)}
}

func (p *parser) pos() Pos { return Pos{File: p.file, Line: p.line} }

// diag records a diagnostic at the current line.
func (p *parser) diag(sev Severity, style LocStyle, kw, format string, a ...any) {
	d := Diagnostic{Severity: sev, Pos: p.pos(), Keyword: kw, Msg: fmt.Sprintf(format, a...), Style: style}
	p.diags = append(p.diags, d)
	if sev == Alert {
		p.fileAlerts++
	}
}

// alert is the common "parsing [f:l] : msg" alert.
func (p *parser) alert(kw, format string, a ...any) { p.diag(Alert, LocParsing, kw, format, a...) }

// intArg reads the integer argument of kw (maxconn, retries) with
// haproxy's two alerts: missing is the text for an absent argument.
func (p *parser) intArg(kw, v, missing string) (int, bool) {
	if v == "" {
		p.alert(kw, "%s", missing)
		return 0, false
	}
	n, ok := parseUint(v, 1<<31-1)
	if !ok {
		p.alert(kw, "'%s' expects an integer argument (got '%s').", kw, v)
	}
	return n, ok
}

// warn is the common "parsing [f:l] : msg" warning.
func (p *parser) warn(kw, format string, a ...any) { p.diag(Warning, LocParsing, kw, format, a...) }

// tooMany alerts when args has more than n words after the keyword, with
// haproxy's alertif_too_many_args wording. It reports whether it did.
func (p *parser) tooMany(args []string, n int) bool {
	if len(args) > n+1 {
		p.alert(args[0], "'%s' cannot handle unexpected argument '%s'.", args[0], args[n+1])
		return true
	}
	return false
}

func (p *parser) parseFile(name string, src []byte) {
	p.file = name
	p.line = 0
	p.fileAlerts = 0
	p.section = secNone
	p.sectionName = ""
	p.cur = nil
	p.cond = p.cond[:0]
	p.cfg.Files = append(p.cfg.Files, name)
	p.abort = false
	lines := bytes.Split(src, []byte("\n"))
	missingLF := len(lines[len(lines)-1]) != 0
	if !missingLF {
		lines = lines[:len(lines)-1]
	}
	for i, raw := range lines {
		p.line = i + 1
		// haproxy stops reading a file after 50 fatal errors.
		if p.fileAlerts >= 50 {
			p.diag(Alert, LocParsingTight, "", "too many fatal errors (%d), stopping now.", p.fileAlerts)
			break
		}
		last := i == len(lines)-1
		// haproxy reads lines as C strings: a NUL ends the line, and
		// then the file ("Stray NUL"), or looks like a truncated file
		// on the last line.
		nul := bytes.IndexByte(raw, 0)
		if nul >= 0 {
			raw = raw[:nul]
		}
		p.parseLine(string(raw))
		if p.abort {
			break
		}
		switch {
		case nul >= 0 && !last:
			p.diag(Alert, LocParsingTight, "", "Stray NUL character at position %d.", nul+1)
		case last && (missingLF || nul >= 0):
			p.diag(Alert, LocParsingTight, "", "Missing LF on last line, file might have been truncated at position %d.", len(raw)+1)
		default:
			continue
		}
		break
	}
	if len(p.cond) > 0 && !p.abort {
		p.diag(Alert, LocParsingTight, ".if", "non-terminated '.if' block.")
	}
	p.endSection()
	if p.fileAlerts > 0 {
		p.diags = append(p.diags, Diagnostic{Severity: Alert, Pos: Pos{File: name}, Style: LocNone,
			Msg: "Error(s) found in configuration file : " + name})
	}
}

func (p *parser) parseLine(raw string) {
	res, lerr := tokenize(raw, p.env)
	if lerr != nil {
		if lerr.Col < 0 {
			p.diag(Alert, LocParsingTight, "", "%s.", lerr.What)
		} else {
			p.diag(Alert, LocParsingTight, "", "%s at position %d:\n  %s\n  %*s",
				lerr.What, lerr.Col, sanitize(res.Trimmed), lerr.Caret+1, "^")
		}
		return
	}
	args := res.Args
	if len(args) == 0 {
		return
	}
	if strings.HasPrefix(args[0], ".") && p.directive(args) {
		return
	}
	if !p.condActive() {
		return
	}
	switch args[0] {
	case "global":
		p.startGlobal(args)
		return
	case "defaults", "listen", "frontend", "backend":
		p.startProxy(args)
		return
	case "userlist":
		p.startUserlist(args)
		return
	case "http-errors":
		p.startHTTPErrors(args)
		return
	case "resolvers":
		p.startResolvers(args)
		return
	case "peers":
		p.startPeers(args)
		return
	case "fcgi-app":
		p.startFCGIApp(args)
		return
	}
	if k, ok := lookup(CtxSection, args[0]); ok {
		// A section kind gproxy does not implement: its lines are
		// skipped, and the whole configuration refused.
		p.endSection()
		p.section = secIgnored
		p.sectionName = args[0]
		p.notImplemented(k, LocParsing, args[0], "", fmt.Sprintf("'%s' section", args[0]))
		return
	}
	switch p.section {
	case secNone:
		p.diag(Alert, LocParsingTight, args[0], "unknown keyword '%s' out of section.", args[0])
	case secGlobal:
		p.globalKeyword(args)
	case secDefaults, secProxy:
		// A defaults section's expressions are resolved where they are
		// used (haproxy: in each proxy), not here.
		if p.section == secProxy && p.cur != nil {
			p.exprAt, p.exprPS = exprPlaceOf(args), p.cur
		}
		p.proxyKeyword(args)
		p.exprAt, p.exprPS = nil, nil
	case secUserlist:
		p.userlistKeyword(args)
	case secHTTPErrors:
		p.httpErrorsKeyword(args)
	case secResolvers:
		p.resolversKeyword(args)
	case secPeers:
		p.peersKeyword(args)
	case secFCGIApp:
		p.fcgiAppKeyword(args)
	case secIgnored:
	}
}

// sanitize replaces unprintable characters with '?' as haproxy does when
// echoing a faulty line.
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c >= 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}

func (p *parser) endSection() {
	if p.cur != nil && !p.cur.isDefault {
		p.proxies = append(p.proxies, p.cur)
		p.cfg.Proxies = append(p.cfg.Proxies, p.cur.px)
	}
	p.cur = nil
}

func (p *parser) startGlobal(args []string) {
	p.endSection()
	p.section = secGlobal
	p.sectionName = "global"
	p.tooMany(args, 0)
}

// validProxyName reports whether name only holds the characters haproxy
// accepts in proxy names (invalid_char: letters, digits, '-', '_', '.', ':').
func validName(name string) (byte, bool) {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if isAlnum(c) || c == '-' || c == '_' || c == '.' || c == ':' {
			continue
		}
		return c, false
	}
	return 0, true
}

func (p *parser) startProxy(args []string) {
	p.endSection()
	kw := args[0]
	p.sectionName = kw
	name := ""
	rest := args[1:]
	if len(rest) > 0 && rest[0] != "from" {
		name = rest[0]
		rest = rest[1:]
	}
	if kw != "defaults" && name == "" {
		p.alert(kw, "'%s' expects an <id> argument", kw)
		// Read the section anyway so its keywords are still checked.
		name = ""
	}
	if name != "" {
		if c, ok := validName(name); !ok {
			p.alert(kw, "character '%c' is not permitted in '%s' name '%s'.", c, kw, name)
		}
	}
	base := p.defaults
	if kw == "defaults" {
		// A defaults section without `from` starts from the built-in
		// values, not from the previous defaults section.
		base = newDefaults(name)
	}
	var addrs []string
	if len(rest) >= 1 && rest[0] == "from" {
		if len(rest) < 2 {
			p.alert(kw, "'from' expects a defaults section name.")
		} else {
			if ds := p.named[rest[1]]; len(ds) == 1 {
				base = ds[0]
			} else if len(ds) > 1 {
				p.alert(kw, "ambiguous defaults section name '%s' referenced by %s '%s' exists at least at %s:%d and %s:%d.",
					rest[1], kw, name, ds[0].px.Pos.File, ds[0].px.Pos.Line, ds[1].px.Pos.File, ds[1].px.Pos.Line)
			} else {
				p.alert(kw, "defaults section '%s' not found for %s '%s'.", rest[1], kw, name)
			}
			if len(rest) > 2 {
				p.alert(kw, "'%s' cannot handle unexpected argument '%s'.", kw, rest[2])
			}
		}
	} else if len(rest) > 0 {
		if kw == "listen" || kw == "frontend" {
			// The pre-1.3 form `listen NAME ADDR:PORT`: haproxy 2.6 refuses
			// it ("please use the 'bind' keyword"), gproxy accepts it.
			addrs = rest
		} else if kw == "defaults" {
			// haproxy 2.6 silently ignores these.
			p.warn(kw, "'%s' : extra argument '%s' ignored.", kw, rest[0])
		} else {
			p.alert(kw, "'%s' cannot handle unexpected argument '%s'.", kw, rest[0])
		}
	}

	if !p.inheritRules(kw, base) {
		return
	}
	ps := base.clone()
	ps.px.Pos = p.pos()
	ps.px.Name = name
	switch kw {
	case "defaults":
		p.section = secDefaults
		ps.isDefault = true
		ps.name = name
		ps.px.Name = name
		p.defaults = ps
		if name != "" {
			p.named[name] = append(p.named[name], ps)
		}
	case "listen":
		ps.px.Kind = KindListen
		p.section = secProxy
	case "frontend":
		ps.px.Kind = KindFrontend
		p.section = secProxy
	case "backend":
		ps.px.Kind = KindBackend
		p.section = secProxy
	}
	p.cur = ps
	if !ps.isDefault && name != "" {
		for _, o := range p.proxies {
			if o.px.Name == name && capsOverlap(o.px.Kind, ps.px.Kind) {
				p.diag(Alert, LocParsingCap, kw, "proxy '%s' has the same name as %s '%s' declared at %s:%d.",
					name, "proxy", o.px.Name, o.px.Pos.File, o.px.Pos.Line)
				break
			}
		}
	}
	for _, a := range addrs {
		p.bindAddr("listen", a, Bind{})
	}
}

func capsOverlap(a, b Kind) bool {
	return (a.HasFrontend() && b.HasFrontend()) || (a.HasBackend() && b.HasBackend())
}

// finish runs the whole-configuration checks and builds the result.
func (p *parser) finish() (*Config, []Diagnostic, error) {
	p.endSection()
	p.checkUserlists()
	p.finishResolvers()
	p.finishPeers()
	p.validate()
	p.finishFCGIApps()
	p.finishPatRefs()
	p.cfg.tls = p.tls
	alerts := 0
	var first *Diagnostic
	for i := range p.diags {
		if p.diags[i].Severity == Alert {
			if first == nil {
				first = &p.diags[i]
			}
			alerts++
		}
	}
	if alerts > 0 {
		return p.cfg, p.diags, fmt.Errorf("%w: %d alert(s), first: %s", ErrInvalid, alerts, first.String())
	}
	return p.cfg, p.diags, nil
}
