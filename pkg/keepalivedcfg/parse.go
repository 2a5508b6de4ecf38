package keepalivedcfg

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Sentinel errors. Parse wraps them with the file name.
var (
	// ErrInvalid means the configuration has at least one Fatal
	// diagnostic: keepalived would not run its VRRP instances.
	ErrInvalid = errors.New("keepalivedcfg: configuration cannot run")
	// ErrNoConfig means the configuration file does not exist.
	ErrNoConfig = errors.New("keepalivedcfg: no configuration file")
	// ErrMissingParameter means a keyword lacked its parameter; keepalived
	// stops reading at that line (and `keepalived -t` exits 2).
	ErrMissingParameter = errors.New("keepalivedcfg: missing parameter")
)

// Options tune parsing. The zero value reads nothing but the given source.
type Options struct {
	// FS resolves include patterns; nil = includes find no files.
	FS FileSystem
	// ConfigID selects "@ID" lines (keepalived -i, default the host name).
	ConfigID string
	// Hostname is used for the router_id, smtp_helo_name and
	// notification_email_from defaults; "" leaves them empty.
	Hostname string
	// UserName is the user part of the default notification_email_from.
	UserName string
	// ConfigTest selects `keepalived -t`'s number checking: an invalid
	// number is rejected instead of accepted with a "WARNING - " message.
	ConfigTest bool
	// Interfaces, if set, lets the parser check interface names as
	// keepalived does at start-up; nil skips those checks (pure parsing).
	Interfaces func(name string) (InterfaceInfo, bool)
	// ScriptUser, if set, resolves a script user and group ("" = the
	// user's group) as keepalived does while reading (set_uid_gid): false
	// and the line keepalived logs when one does not exist. nil skips the
	// check.
	ScriptUser func(user, group string) (bool, string)
	// CheckScript, if set, checks each script as keepalived does at
	// start-up (check_script_secure): scripts found unusable are removed
	// from the model with keepalived's messages; nil skips those checks.
	CheckScript ScriptCheck
}

// ScriptVerdict is what the start-up check of a script found.
type ScriptVerdict int

const (
	// ScriptRuns: found, executable, and safe (or not run as root).
	ScriptRuns ScriptVerdict = iota
	// ScriptInsecure: runs as root although a non-root user could change
	// it; allowed because enable_script_security is not set.
	ScriptInsecure
	// ScriptInhibited: refused under enable_script_security (unsafe
	// permissions), or a part of its path has the wrong type.
	ScriptInhibited
	// ScriptNotFound: not found or not accessible.
	ScriptNotFound
	// ScriptNotExecutable: not executable by the script's user.
	ScriptNotExecutable
)

// ScriptCheck checks one script's argv for the user and group it runs as
// ("" = keepalived's default script user); security is
// enable_script_security. It returns the verdict and the lines keepalived
// logs about it.
type ScriptCheck func(args []string, user, group string, security bool) (ScriptVerdict, []string)

// InterfaceInfo is what the parser checks about a network interface.
type InterfaceInfo struct {
	Loopback  bool
	Multicast bool
}

// ParseFile reads a keepalived.conf from disk with DefaultOptions. Like
// keepalived's -f, path may be a glob; with several matches the first is
// read (keepalived warns, as here). A missing file gives ErrNoConfig and
// keepalived's message, which `keepalived -t` reports with exit status 0
// (and the daemon with exit status 6).
func ParseFile(path string) (*Config, []Diagnostic, error) {
	return ParseFileOptions(path, DefaultOptions())
}

// ParseFileOptions is ParseFile with explicit options (opts.FS is used to
// read the file itself too; nil means the real file system).
func ParseFileOptions(path string, opts Options) (*Config, []Diagnostic, error) {
	if opts.FS == nil {
		opts.FS = OSFileSystem{}
	}
	var diags []Diagnostic
	matches, _ := opts.FS.Glob(path)
	if len(matches) == 0 {
		diags = append(diags, Diagnostic{Severity: Fatal, Pos: Pos{File: path}, Msg: fmt.Sprintf("Config files missing '%s'.", path), class: classOK})
		return nil, diags, fmt.Errorf("keepalivedcfg: %s: %w", path, ErrNoConfig)
	}
	if len(matches) > 1 {
		diags = append(diags, Diagnostic{Severity: Warning, Pos: Pos{File: path}, Msg: fmt.Sprintf("WARNING, multiple configuration file matches of %s, starting with %s", path, matches[0]), class: classMultipleFiles})
	}
	src, err := opts.FS.ReadFile(matches[0])
	if err != nil {
		diags = append(diags, Diagnostic{Severity: Fatal, Pos: Pos{File: matches[0]}, Msg: fmt.Sprintf("Unable to read configuration file %s", matches[0]), class: classFileNotFound})
		return nil, diags, fmt.Errorf("keepalivedcfg: reading %s: %w", matches[0], err)
	}
	cfg, more, err := Parse(matches[0], src, opts)
	return cfg, append(diags, more...), err
}

// DefaultOptions are keepalived's defaults on this machine.
func DefaultOptions() Options {
	host, _ := os.Hostname()
	uname := "root"
	if u, err := user.Current(); err == nil {
		uname = u.Username
	}
	return Options{FS: OSFileSystem{}, ConfigID: host, Hostname: host, UserName: uname, ConfigTest: true}
}

// Parse reads a keepalived.conf named name (used in diagnostics and to
// resolve relative includes) from src. It always returns the model it could
// build and every diagnostic; err is non-nil when the configuration must
// not run (ErrInvalid, ErrMissingParameter).
func Parse(name string, src []byte, opts Options) (*Config, []Diagnostic, error) {
	if opts.FS == nil {
		opts.FS = noFS{}
	}
	p := &parser{opts: opts, cfg: &Config{Files: []string{name}}}
	p.cfg.Global = defaultGlobal()
	p.gs = globalState{mcastGroup4: netip.MustParseAddr("224.0.0.18"), mcastGroup6: netip.MustParseAddr("ff02::12")}
	p.r = &reader{p: p, stack: []*frame{{display: name, dir: filepath.Dir(name), lines: splitLines(src)}}}
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(abortParse); !ok {
					panic(r)
				}
			}
		}()
		p.processStream(rootKeywords, false)
	}()
	if p.aborted {
		p.orderDiags()
		return p.cfg, p.diags, fmt.Errorf("parsing %s: %w", name, ErrMissingParameter)
	}
	p.finishGlobal()
	p.validate()
	p.orderDiags()
	if HasFatal(p.diags) {
		for _, d := range p.diags {
			if d.Severity == Fatal {
				return p.cfg, p.diags, fmt.Errorf("%s: %s: %w", d.Pos, d.Msg, ErrInvalid)
			}
		}
	}
	return p.cfg, p.diags, nil
}

func init() { installTable() }

type noFS struct{}

func (noFS) ReadFile(name string) ([]byte, error)  { return nil, os.ErrNotExist }
func (noFS) Glob(pattern string) ([]string, error) { return nil, nil }
func (noFS) Stat(name string) (os.FileInfo, error) { return nil, os.ErrNotExist }

type abortParse struct{}

type parser struct {
	opts    Options
	cfg     *Config
	r       *reader
	diags   []Diagnostic
	aborted bool

	kwLevel  int
	skipSub  int
	inGlobal bool // inside global_defs: keepalived's parent pass

	// checkUnicastSrc is vrrp_check_unicast_src, applied to every
	// instance (Instance.CheckUnicastSrc).
	checkUnicastSrc bool
	// skipCheckAdvAddr is vrrp_skip_check_adv_addr: keepalived copies it
	// into the instances declared after it (alloc_vrrp).
	skipCheckAdvAddr bool
	// notifyPrioChanges is vrrp_notify_priority_changes.
	notifyPrioChanges bool
	defaultUser       int  // defaultUserUnknown, OK or Fail
	inHandler         bool // running a top-level block's handler (VRRP pass)
	// missingIf is keepalived's non_existent_interface_specified: any
	// interface named in the VRRP configuration (an instance's, a tracked
	// one, an address's dev, a route's or rule's) that does not exist. The
	// VRRP process then stops before its other checks.
	missingIf    bool
	missingIfPos Pos

	// state of the block being parsed
	inst        *Instance
	instState   *instState
	script      *Script
	proc        *TrackedProcess
	tfile       *TrackedFile
	scriptState *scriptState
	sg          *SyncGroup
	sgState     *sgState
	states      map[*Instance]*instState
	sgStates    map[*SyncGroup]*sgState
	gs          globalState
	rulePrio    *[2]uint32                   // the next preference of a rule without one (IPv4, IPv6)
	rtFiles     map[string]map[string]uint32 // iproute2 names files read (routes.go)
}

// globalState holds the global_defs settings that are only defaults of
// every instance: validate applies them to each Instance, so the model
// does not carry them.
type globalState struct {
	strict               bool       // vrrp_strict
	mcastGroup4          netip.Addr // vrrp_mcast_group4
	mcastGroup6          netip.Addr // vrrp_mcast_group6
	lowerPrioNoAdvert    bool       // vrrp_lower_prio_no_advert
	higherPrioSendAdvert bool       // vrrp_higher_prio_send_advert
	vmacPrefix           string     // vmac_prefix: VMACs without a name are PREFIX.VRID (default "vrrp")
}

// reportAt records a diagnostic at pos.
func (p *parser) reportAt(pos Pos, sev Severity, c class, format string, args ...any) {
	d := Diagnostic{Severity: sev, Pos: pos, Msg: fmt.Sprintf(format, args...), class: c}
	if p.inGlobal || (p.kwLevel == 0 && !p.inHandler) {
		d.parent = true
		if f := p.r.top(); f != nil && !f.named && len(p.r.stack) == 1 {
			d.short = true
		}
	}
	p.diags = append(p.diags, d)
}

// readerReport records a diagnostic from reading lines: keepalived's
// parent pass reads every line, so it prints these first.
func (p *parser) readerReport(pos Pos, sev Severity, c class, format string, args ...any) {
	p.reportAt(pos, sev, c, format, args...)
	d := &p.diags[len(p.diags)-1]
	d.parent = true
	if f := p.r.top(); f != nil && !f.named && len(p.r.stack) == 1 {
		d.short = true
	}
}

// logf records what keepalived only logs (log_message): shown in
// gkeepalived's log, not printed by `keepalived -t`.
func (p *parser) logf(pos Pos, format string, args ...any) {
	p.reportAt(pos, Info, classOK, format, args...)
	p.diags[len(p.diags)-1].logOnly = true
}

// errorf reports a config error (keepalived's CONFIG_GENERAL_ERROR).
func (p *parser) errorf(l line, format string, args ...any) {
	p.reportAt(l.pos, Error, classGeneral, format, args...)
}

// ignoredf reports something gkeepalived parses but does not act on: a
// warning for the user that keepalived itself would not print, so it does
// not change the `-t` exit code.
func (p *parser) ignoredf(l line, format string, args ...any) {
	p.reportAt(l.pos, Warning, classOK, format, args...)
	p.diags[len(p.diags)-1].extra = true
}

// global reports a check made after parsing. keepalived prints these
// without a position; the diagnostic still carries the line of the block
// concerned (shown by LogString).
func (p *parser) global(pos Pos, sev Severity, c class, format string, args ...any) {
	p.diags = append(p.diags, Diagnostic{Severity: sev, Pos: pos, Msg: fmt.Sprintf(format, args...), class: c, bare: true})
}

// arg returns word i of the line or stops parsing as keepalived does.
func (p *parser) arg(l line, i int) string {
	if i < len(l.words) {
		return l.words[i]
	}
	var msg string
	if i > 0 && i-1 < len(l.words) {
		msg = fmt.Sprintf("*** Configuration line starting `%s` is missing a parameter after keyword `%s` at word position %d", l.words[0], l.words[i-1], i+1)
	} else {
		msg = fmt.Sprintf("*** Configuration line starting `%s` is missing a parameter at word position %d", l.words[0], i+1)
	}
	p.reportAt(l.pos, Fatal, classMissingParameter, "%s", msg)
	p.diags[len(p.diags)-1].abort = true
	p.aborted = true
	panic(abortParse{})
}

// keyword is one entry of a keepalived keyword table.
type keyword struct {
	name    string
	handler func(p *parser, l line)
	sub     []keyword     // a block of keywords
	close   func(*parser) // run at the end of the block unless it was skipped
	skip    bool          // not implemented: its block is skipped
	info    *KeywordInfo  // set for Cosmetic and Refused keywords (table.go)
}

func findKeyword(kws []keyword, name string) *keyword {
	for i := range kws {
		if kws[i].name == name {
			return &kws[i]
		}
	}
	return nil
}

// processStream reads lines for one block level, as lib/parser.c
// process_stream. It returns true if the block was skipped.
func (p *parser) processStream(kws []keyword, needBob bool) bool {
	for {
		l, ok := p.r.next()
		if !ok {
			return false
		}
		str := l.words[0]
		if p.skipSub == -1 {
			if str == "{" {
				p.skipSub = 1
				needBob = false
				continue
			}
			p.skipSub = 0
		}
		if p.skipSub != 0 {
			for _, w := range l.words {
				if w == "{" {
					p.skipSub++
				} else if w == "}" {
					p.skipSub--
					if p.skipSub == 0 {
						str = w
						break
					}
				}
			}
			if str == "}" && p.skipSub == 0 && p.kwLevel > 0 {
				return true
			}
			continue
		}
		if needBob {
			needBob = false
			if str == "{" && p.kwLevel > 0 {
				continue
			}
			p.reportAt(l.pos, Error, classMissingBOB, "Missing '{' at beginning of configuration block")
		} else if str == "{" {
			p.reportAt(l.pos, Error, classUnexpectedBOB, "Unexpected '{' - ignoring")
			continue
		}
		if str == "}" && p.kwLevel > 0 {
			return false
		}
		kw := findKeyword(kws, str)
		if kw == nil {
			p.reportAt(l.pos, Error, classUnknownKeyword, "Unknown keyword '%s'", str)
			continue
		}
		if kw.info != nil {
			p.reportKeyword(l, kw.info)
			if !kw.skip {
				continue
			}
		}
		if kw.skip {
			if l.words[len(l.words)-1] == "{" {
				p.skipSub = 1
			} else {
				p.skipSub = -1
			}
			if kw.sub != nil {
				p.kwLevel++
				p.processStream(nil, true)
				p.kwLevel--
			}
			continue
		}
		bobNeeded := false
		if kw.sub != nil {
			if l.words[len(l.words)-1] == "{" && len(l.words) > 1 {
				l.words = l.words[:len(l.words)-1]
			} else {
				bobNeeded = true
			}
		}
		if kw.handler != nil {
			p.inHandler = true
			kw.handler(p, l)
			p.inHandler = false
		}
		if kw.sub != nil {
			p.kwLevel++
			skipped := p.processStream(kw.sub, bobNeeded)
			p.kwLevel--
			if !skipped && kw.close != nil {
				p.inHandler = true
				kw.close(p)
				p.inHandler = false
			}
		}
	}
}

// skipBlock is keepalived's skip_block(true): ignore the block that follows.
func (p *parser) skipBlock() { p.skipSub = -1 }

// valueBlock reads a "{ value lines }" block as lib/parser.c
// alloc_value_block, calling fn for each line's words.
func (p *parser) valueBlock(l line, fn func(line)) {
	needBob := true
	var first *line
	if len(l.words) > 1 {
		if l.words[1] == "{" {
			needBob = false
			if len(l.words) > 2 {
				f := line{words: l.words[2:], raw: l.raw, pos: l.pos}
				first = &f
			}
		} else {
			p.errorf(l, "Block %s has extra parameters %s ...", l.words[0], l.words[1])
		}
	}
	for {
		var cur line
		hadEOB := false
		if first != nil {
			cur = *first
			first = nil
			if cur.words[len(cur.words)-1] == "}" {
				cur.words = cur.words[:len(cur.words)-1]
				hadEOB = true
			}
		} else {
			var ok bool
			cur, ok = p.r.next()
			if !ok {
				return
			}
			if needBob {
				needBob = false
				if cur.words[0] == "{" {
					if len(cur.words) == 1 {
						continue
					}
					cur.words = cur.words[1:]
				} else {
					p.logf(cur.pos, "'{' missing from beginning of block %s", l.words[0])
				}
			}
			if cur.words[len(cur.words)-1] == "}" {
				if len(cur.words) == 1 {
					return
				}
				hadEOB = true
				cur.words = cur.words[:len(cur.words)-1]
			}
		}
		if len(cur.words) > 0 {
			fn(cur)
		}
		if hadEOB {
			return
		}
	}
}

// readValueBlock collects every word of a value block (read_value_block).
func (p *parser) readValueBlock(l line) []string {
	var out []string
	p.valueBlock(l, func(v line) { out = append(out, v.words...) })
	return out
}

// --- numbers, as lib/parser.c reads them -----------------------------------

// strtol parses like C's strtol(s, &end, 10): leading white space, a sign,
// digits. rest is what follows; ok false on overflow of int64.
func strtol(s string) (v int64, rest string, overflow bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var u uint64
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		d := uint64(s[i] - '0')
		if u > (math.MaxUint64-d)/10 {
			overflow = true
			u = math.MaxUint64
		} else if !overflow {
			u = u*10 + d
		}
		i++
	}
	if i == start {
		return 0, s, false
	}
	if neg {
		if u > 1<<63 {
			return math.MinInt64, s[i:], true
		}
		return -int64(u), s[i:], overflow
	}
	if u > math.MaxInt64 {
		return math.MaxInt64, s[i:], true
	}
	return int64(u), s[i:], overflow
}

func (p *parser) warnPrefix(ignoreErr bool) string {
	if ignoreErr && !p.opts.ConfigTest {
		return "WARNING - "
	}
	return ""
}

// readInt is read_int_func: it reports and returns ok=false for a bad value
// (except, outside -t mode with ignoreErr, an in-range value with trailing
// junk, which keepalived accepts with a warning).
func (p *parser) readInt(l line, i int, min, max int, ignoreErr bool) (int, bool) {
	s := p.arg(l, i)
	warn := p.warnPrefix(ignoreErr)
	v, rest, ovf := strtol(s)
	switch {
	case rest != "":
		p.reportAt(l.pos, Error, classInvalidNumber, "%sinvalid number '%s'", warn, s)
	case ovf || v < math.MinInt32 || v > math.MaxInt32:
		p.reportAt(l.pos, Error, classInvalidNumber, "%snumber '%s' outside integer range", warn, s)
	case v < int64(min) || v > int64(max):
		p.reportAt(l.pos, Error, classInvalidNumber, "number '%s' outside range [%d, %d]", s, min, max)
	default:
		return int(v), true
	}
	return int(v), ignoreErr && v >= int64(min) && v <= int64(max) && !p.opts.ConfigTest
}

// readUnsigned is read_unsigned_func.
func (p *parser) readUnsigned(l line, i int, min, max uint64, ignoreErr bool) (uint64, bool) {
	return p.readUnsignedStr(l, p.arg(l, i), min, max, ignoreErr)
}

func (p *parser) readUnsignedStr(l line, s string, min, max uint64, ignoreErr bool) (uint64, bool) {
	warn := p.warnPrefix(ignoreErr)
	t := strings.TrimLeft(s, whiteSpace)
	v, rest, ovf := strtol(t)
	u := uint64(v)
	switch {
	case strings.HasPrefix(t, "-"):
		p.reportAt(l.pos, Error, classInvalidNumber, "%snegative number '%s'", warn, s)
	case rest != "":
		p.reportAt(l.pos, Error, classInvalidNumber, "%sinvalid number '%s'", warn, s)
	case ovf || u > math.MaxUint32:
		p.reportAt(l.pos, Error, classInvalidNumber, "%snumber '%s' outside unsigned integer range", warn, s)
	case u < min || u > max:
		p.reportAt(l.pos, Error, classInvalidNumber, "%snumber '%s' outside range [%d, %d]", warn, s, min, max)
	default:
		return u, true
	}
	return u, ignoreErr && u >= min && u <= max && !p.opts.ConfigTest && !strings.HasPrefix(t, "-")
}

// readDecimal is read_decimal_unsigned_long_func with shift 6: a decimal
// number of seconds returned in microseconds, rounded to 6 places.
func (p *parser) readDecimal(l line, i int, min, max uint64, ignoreErr bool) (uint64, bool) {
	const shift = 6
	s := p.arg(l, i)
	warn := p.warnPrefix(ignoreErr)
	if strings.HasPrefix(s, "-") {
		p.reportAt(l.pos, Error, classInvalidNumber, "%snegative number '%s'", warn, s)
		return 0, false
	}
	intPart, frac, hasDP := strings.Cut(s, ".")
	roundUp := false
	if hasDP && len(frac) > shift {
		p.reportAt(l.pos, Error, classInvalidNumber, "%snumber '%s' has too many decimal places", warn, s)
		roundUp = frac[shift] >= '5'
		frac = frac[:shift]
	}
	digits := intPart + frac + strings.Repeat("0", shift-len(frac))
	v, rest, ovf := strtol(digits)
	if roundUp {
		v++
	}
	u := uint64(v)
	switch {
	case rest != "" || digits == "" || v < 0:
		p.reportAt(l.pos, Error, classInvalidNumber, "%sinvalid number '%s'", warn, s)
	case ovf:
		p.reportAt(l.pos, Error, classInvalidNumber, "%snumber '%s' outside unsigned decimal range", warn, s)
		return 0, false
	case u < min || u > max:
		p.reportAt(l.pos, Error, classInvalidNumber, "%snumber '%s' outside range [%d.%06d, %d.%06d]", warn, s, min/1e6, min%1e6, max/1e6, max%1e6)
	default:
		return u, true
	}
	return u, ignoreErr && u >= min && u <= max
}

// checkTrueFalse is check_true_false: 1, 0, or -1 for an invalid word.
func checkTrueFalse(s string) int {
	switch s {
	case "true", "on", "yes":
		return 1
	case "false", "off", "no":
		return 0
	}
	return -1
}

func usec(v uint64) time.Duration { return time.Duration(v) * time.Microsecond }

func boolPtr(b bool) *bool { return &b }

// --- global_defs -------------------------------------------------------------

func defaultGlobal() Global {
	return Global{
		SMTPPort:             25,
		SMTPConnectTimeout:   30 * time.Second,
		VRRPVersion:          2,
		MinAutoPriorityDelay: time.Second,
		GARP: GARP{
			MasterDelay:         5 * time.Second,
			MasterRepeat:        5,
			MasterRefreshRepeat: 1,
			LowerPrioDelay:      -1,
			LowerPrioRepeat:     -1,
		},
	}
}

// finishGlobal fills the defaults keepalived derives from the host name
// (keepalived/core/global_data.c init_global_data).
func (p *parser) finishGlobal() {
	g := &p.cfg.Global
	p.finishFIFOs()
	// keepalived's vrrp_complete_init: the lower priority GARPs default to
	// the master ones.
	if g.GARP.LowerPrioRepeat == -1 {
		g.GARP.LowerPrioRepeat = g.GARP.MasterRepeat
	}
	if g.GARP.LowerPrioDelay == -1 {
		g.GARP.LowerPrioDelay = g.GARP.MasterDelay
	}
	if g.RouterID == "" {
		g.RouterID = p.opts.Hostname
	}
	if g.SMTPServer != "" && p.opts.Hostname != "" {
		if g.NotificationEmailFrom == "" && p.opts.UserName != "" {
			g.NotificationEmailFrom = p.opts.UserName + "@" + p.opts.Hostname
		}
		if g.SMTPHeloName == "" {
			g.SMTPHeloName = p.opts.Hostname
		}
	}
}

// orderDiags puts the messages of keepalived's parent pass (global_defs,
// the top level, includes) before the others, as `keepalived -t` prints
// them. keepalived repeats the top-level ones in each child's pass; we
// print each once.
func (p *parser) orderDiags() {
	sort.SliceStable(p.diags, func(i, j int) bool { return p.diags[i].parent && !p.diags[j].parent })
}
