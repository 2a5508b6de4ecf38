package haproxycfg

import (
	"fmt"
	"strconv"
	"time"
)

// maxTimerMS is the largest timer haproxy accepts (INT_MAX milliseconds).
const maxTimerMS = 2147483647

// timeErr is why a time value was refused.
type timeErr int

const (
	timeOK timeErr = iota
	timeEmpty
	timeBadChar // unexpected character at BadChar
	timeOverflow
)

// timeValue is a parsed haproxy time (configuration manual section 2.5,
// "Time format"): an unsigned integer with an optional unit us, ms, s, m,
// h or d; no unit means milliseconds. Sub-millisecond values round up to
// the next millisecond as haproxy's ticks do.
type timeValue struct {
	D       time.Duration
	Err     timeErr
	BadChar byte
	// Trailing is set when characters follow a valid unit ("1m30s"):
	// haproxy 2.6 keeps the first part and only warns.
	Trailing byte
}

func parseTime(s string) timeValue {
	if s == "" {
		return timeValue{Err: timeEmpty}
	}
	i := 0
	var n uint64
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if n < 1<<40 {
			n = n*10 + uint64(s[i]-'0')
		}
		i++
	}
	if i == 0 {
		return timeValue{Err: timeBadChar, BadChar: s[0]}
	}
	unit := s[i:]
	var us uint64 // the value in microseconds
	rest := ""
	mult := func(u string, m uint64) bool {
		if len(unit) >= len(u) && unit[:len(u)] == u {
			us = n * m
			rest = unit[len(u):]
			return true
		}
		return false
	}
	switch {
	case unit == "":
		us = n * 1000
	case mult("us", 1):
	case mult("ms", 1000):
	case mult("s", 1000000):
	case mult("m", 60*1000000):
	case mult("h", 3600*1000000):
	case mult("d", 86400*1000000):
	default:
		return timeValue{Err: timeBadChar, BadChar: unit[0]}
	}
	ms := (us + 999) / 1000
	if n >= 1<<40 || ms > maxTimerMS {
		return timeValue{Err: timeOverflow}
	}
	tv := timeValue{D: time.Duration(ms) * time.Millisecond}
	if rest != "" {
		tv.Trailing = rest[0]
	}
	return tv
}

// trailingWarning is haproxy 2.6's text for "1m30s"-style values.
func trailingWarning(tv timeValue, arg string) string {
	return fmt.Sprintf("unexpected character '%c' after the timer value '%s', only "+
		"(us=microseconds,ms=milliseconds,s=seconds,m=minutes,h=hours,d=days) are supported. "+
		"This will be reported as an error in next versions.", tv.Trailing, arg)
}

// parseUint parses a decimal integer in [0, max]. haproxy itself uses
// atol() for most counts and silently takes "abc" as 0; gproxy refuses.
func parseUint(s string, max int) (int, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > max {
		return 0, false
	}
	return n, true
}

// syslog names (RFC 5424 section 6.2.1) in haproxy's spelling.
var facilities = []string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

var levels = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

func lookupName(names []string, s string) (int, bool) {
	for i, n := range names {
		if n == s {
			return i, true
		}
	}
	return 0, false
}
