package haproxycfg

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by the error Parse and ParseFiles return when at
// least one diagnostic is an Alert: the configuration must not be used.
var ErrInvalid = errors.New("haproxycfg: invalid configuration")

// Severity is how bad a Diagnostic is, as haproxy's [WARNING] / [ALERT].
type Severity int

const (
	// Warning: the configuration is usable; something was ignored or is
	// suspicious.
	Warning Severity = iota
	// Alert: the configuration is invalid.
	Alert
	// Notice is an informational message (the `.notice` directive).
	Notice
	// AlertNonFatal is printed as [ALERT] but, as in haproxy, does not
	// make the configuration invalid (e.g. "'pidfile' already specified.
	// Continuing.").
	AlertNonFatal
)

func (s Severity) String() string {
	switch s {
	case Warning:
		return "WARNING"
	case Alert, AlertNonFatal:
		return "ALERT"
	case Notice:
		return "NOTICE"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// LocStyle is how haproxy 2.6 writes the location in front of a message;
// it is not consistent across keywords, and we copy each keyword's shape.
type LocStyle int

const (
	// LocParsing: "parsing [file:line] : msg" (most keywords).
	LocParsing LocStyle = iota
	// LocParsingTight: "parsing [file:line]: msg" (tokenizer errors,
	// 'option' negation, 'stats' in proxies, out-of-section keywords).
	LocParsingTight
	// LocBracket: "[file:line] : msg" (the 'server' keyword).
	LocBracket
	// LocParsingCap: "Parsing [file:line]: msg" (duplicate proxy names).
	LocParsingCap
	// LocNone: no location in the text (whole-configuration checks, file
	// errors); Pos may still be set for programs.
	LocNone
)

// Diagnostic is one warning or alert about the configuration.
type Diagnostic struct {
	Severity Severity
	Pos      Pos    // where; File alone for per-file messages
	Keyword  string // the directive concerned ("server", "bind", ...), "" when none
	Msg      string // the message after the location, haproxy's wording
	Style    LocStyle
}

// String is the text haproxy prints after "[LEVEL]    (pid) : ", for
// example "config : parsing [haproxy.cfg:12] : unknown keyword 'foo' in
// 'listen' section". Multi-line messages keep haproxy's "   | " margins.
func (d Diagnostic) String() string {
	loc := ""
	switch d.Style {
	case LocParsing:
		loc = fmt.Sprintf("parsing [%s:%d] : ", d.Pos.File, d.Pos.Line)
	case LocParsingTight:
		loc = fmt.Sprintf("parsing [%s:%d]: ", d.Pos.File, d.Pos.Line)
	case LocBracket:
		loc = fmt.Sprintf("[%s:%d] : ", d.Pos.File, d.Pos.Line)
	case LocParsingCap:
		loc = fmt.Sprintf("Parsing [%s:%d]: ", d.Pos.File, d.Pos.Line)
	}
	return "config : " + loc + d.Msg
}

// FormatWithPID is the whole line as haproxy 2.6 writes it on stderr:
// "[ALERT]    (1234) : config : parsing [f.cfg:12] : ...".
func (d Diagnostic) FormatWithPID(pid int) string {
	return fmt.Sprintf("%-10s (%d) : %s", "["+d.Severity.String()+"]", pid, d.String())
}

// Error makes a Diagnostic usable as an error value.
func (d Diagnostic) Error() string { return d.String() }
