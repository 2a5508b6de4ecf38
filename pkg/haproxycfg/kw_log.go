package haproxycfg

import (
	"fmt"
	"strings"
)

// logFormats are the `log ... format F` values haproxy 2.6 knows.
var logFormats = map[string]bool{
	"local": true, "rfc3164": true, "rfc5424": true, "priority": true,
	"short": true, "timed": true, "iso": true, "raw": true,
}

// stdLogTargets are `log stdout` and `log stderr`: haproxy writes the
// lines to the process's file descriptor 1 or 2 (Network "fd").
var stdLogTargets = map[string]string{"stdout": "1", "stderr": "2"}

// logTarget parses `log ADDR [len N] [format F] [sample R:S] FACILITY
// [LEVEL [MINLEVEL]]` (configuration manual section 3.1, "log").
func (p *parser) logTarget(args []string) (LogTarget, bool) {
	t := LogTarget{MaxLevel: 7, MinLevel: 0, Pos: p.pos()}
	if len(args) < 3 {
		p.alert("log", "log : expects <address> and <facility>  as arguments")
		return t, false
	}
	network, address, ok := p.logAddr(args[1])
	if !ok {
		return t, false
	}
	t.Network, t.Address = network, address
	// haproxy takes the options in this order only: len, format, sample.
	i := 2
	if i < len(args) && args[i] == "len" {
		v := ""
		if i+1 < len(args) {
			v = args[i+1]
		}
		n, ok := parseUint(v, 65535)
		if !ok || n < 80 {
			p.alert("log", "log : invalid log length '%s', must be between 80 and 65535", v)
			return t, false
		}
		t.MaxLen = n
		i += 2
	}
	if i < len(args) && args[i] == "format" {
		v := ""
		if i+1 < len(args) {
			v = args[i+1]
		}
		if !logFormats[v] {
			p.alert("log", "log : unknown log format '%s'", v)
			return t, false
		}
		t.Format = v
		i += 2
	}
	if i < len(args) && args[i] == "sample" {
		if i+1 >= len(args) || !strings.Contains(args[i+1], ":") {
			p.alert("log", "log : Missing sample size")
			return t, false
		}
		k, _ := lookup(CtxLogOption, "sample")
		p.notImplemented(k, LocParsing, "log", "", fmt.Sprintf("log sampling 'sample %s'", args[i+1]))
		return t, false
	}
	if i >= len(args) {
		p.alert("log", "log : expects <address> and <facility>  as arguments")
		return t, false
	}
	f, ok := lookupName(facilities, args[i])
	if !ok {
		p.alert("log", "log : unknown log facility '%s'", args[i])
		return t, false
	}
	t.Facility = Facility(f)
	if i+1 < len(args) {
		l, ok := lookupName(levels, args[i+1])
		if !ok {
			p.alert("log", "log : unknown optional log level '%s'", args[i+1])
			return t, false
		}
		t.MaxLevel = Level(l)
	}
	if i+2 < len(args) {
		l, ok := lookupName(levels, args[i+2])
		if !ok {
			p.alert("log", "log : unknown optional minimum log level '%s'", args[i+2])
			return t, false
		}
		t.MinLevel = Level(l)
	}
	if i+3 < len(args) {
		p.alert("log", "log : cannot handle unexpected argument '%s'", args[i+3])
		return t, false
	}
	return t, true
}

// proxyLog is `log` in a proxy or defaults section: a target, `log
// global` (a copy of the global targets read so far, as haproxy copies
// them at parse time) or `no log`.
func (p *parser) proxyLog(args []string, no bool) {
	px := p.cur.px
	if no {
		if len(args) > 1 {
			p.alert("log", "log : 'no log' does not expect arguments")
			return
		}
		px.Logs = nil
		return
	}
	if len(args) == 2 && args[1] == "global" {
		px.Logs = append(px.Logs, p.cfg.Global.Logs...)
		return
	}
	if t, ok := p.logTarget(args); ok {
		px.Logs = append(px.Logs, t)
	}
}
