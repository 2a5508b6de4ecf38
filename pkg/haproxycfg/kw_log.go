package haproxycfg

import (
	"fmt"
	"sort"
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
		smp, msg := parseLogSample(args[i+1])
		if msg != "" {
			p.alert("log", "log : %s", msg)
			return t, false
		}
		t.Sample = smp
		i += 2
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

// readUint reads leading digits as haproxy's read_uint, returning the
// value and the rest.
func readUint(s string) (int, string) {
	n := 0
	for len(s) > 0 && s[0] >= '0' && s[0] <= '9' {
		if n < 1<<31 {
			n = n*10 + int(s[0]-'0')
		}
		s = s[1:]
	}
	return n, s
}

// parseLogSample reads "RANGES:SIZE" ("1,3-5:10") as haproxy's
// parse_logsrv; the message is haproxy's when the value is refused.
func parseLogSample(v string) (*LogSample, string) {
	rangesStr, sizeStr, _ := strings.Cut(v, ":")
	smp := &LogSample{}
	maxHigh := 0
	rest := rangesStr
	for rest != "" {
		cur := rest
		one, next, found := strings.Cut(rest, ",")
		low, after := readUint(one)
		high := low
		bad := low == 0 || after != "" && after[0] != '-'
		if !bad && after != "" {
			high, after = readUint(after[1:])
			bad = high == 0 || high <= low || after != ""
		}
		if bad {
			return nil, fmt.Sprintf("wrong sample range '%s'", cur)
		}
		for _, r := range smp.Ranges {
			if low >= r[0] && low <= r[1] || high >= r[0] && high <= r[1] {
				return nil, "ranges are overlapping"
			}
		}
		smp.Ranges = append(smp.Ranges, [2]int{low, high})
		maxHigh = max(maxHigh, high)
		rest = next
		if !found {
			break
		}
	}
	if len(smp.Ranges) == 0 {
		return nil, "no sampling ranges given"
	}
	size, after := readUint(sizeStr)
	if size == 0 || after != "" {
		return nil, fmt.Sprintf("wrong sample size '%s' for sample range '%s'", sizeStr, rangesStr)
	}
	if size < maxHigh {
		return nil, fmt.Sprintf("sample size %d should be greater or equal to %d the maximum of the high ranges limits", size, maxHigh)
	}
	smp.Size = size
	sort.Slice(smp.Ranges, func(i, j int) bool { return smp.Ranges[i][0] < smp.Ranges[j][0] })
	return smp, ""
}
