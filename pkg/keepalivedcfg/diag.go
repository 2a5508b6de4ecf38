package keepalivedcfg

import (
	"fmt"
	"strings"
)

// Pos is where a line was read, for diagnostics ("keepalived.conf:12").
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Severity says what a diagnostic means for running the configuration.
type Severity int

const (
	// Info is printed by keepalived but does not count as a config error
	// (`-t` still exits 0), e.g. a missing optional include file.
	Info Severity = iota
	// Warning is counted by keepalived (`-t` exits 5) but changes nothing,
	// e.g. a deprecated keyword or a keyword gkeepalived ignores.
	Warning
	// Error is a config error keepalived corrects or ignores before it runs
	// (`-t` exits 5): an unknown keyword, a value out of range, auth_pass
	// truncated, state MASTER cleared by AH.
	Error
	// Fatal means keepalived would not run the VRRP instances at all
	// (file not found, missing parameter, an instance that cannot work).
	Fatal
	// Security is keepalived's script-security violation (`-t` exits 6).
	Security
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	case Fatal:
		return "fatal"
	case Security:
		return "security"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// class mirrors keepalived 2.2.7's config_err_t (lib/parser.h), in its order:
// `keepalived -t` remembers the highest class reported and maps it to an exit
// code (keepalived/core/main.c config_test_exit).
type class int

const (
	classOK class = iota
	classFileNotFound
	classBadIf
	classFatal
	classMultipleFiles
	classUnknownKeyword
	classUnexpectedBOB
	classMissingBOB
	classUnexpectedEOB
	classMissingEOB
	classUnmatchedQuote
	classMissingParameter
	classInvalidNumber
	classGeneral
	// classUnsupported is gkeepalived's own: a keyword it refuses (not
	// implemented). Like keepalived's other config errors, `-t` exits 5.
	classUnsupported
	classWarning
	classDeprecated
	classSecurity
)

func (c class) severity() Severity {
	switch {
	case c == classOK:
		return Info
	case c == classFileNotFound || c == classBadIf || c == classFatal:
		return Fatal
	case c == classWarning || c == classDeprecated:
		return Warning
	case c == classSecurity:
		return Security
	}
	return Error
}

// Diagnostic is one message about the configuration, with the file and line
// it concerns: the line read, or for checks made after parsing (which
// keepalived prints without a position) the line of the block concerned.
type Diagnostic struct {
	Severity Severity
	Pos      Pos
	Msg      string

	class   class
	abort   bool // keepalived exits at once (missing parameter: exit 2)
	short   bool // keepalived's parent pass prints "(Line N)" for its main file
	parent  bool // reported by keepalived's parent pass (printed first)
	extra   bool // gkeepalived's own notice; keepalived prints nothing
	bare    bool // keepalived prints it without a position
	logOnly bool // keepalived logs it when running; `-t` does not print it
}

// String formats the diagnostic exactly as `keepalived -t` prints it on
// stderr: "(FILE: Line N) message", or the bare message for checks made
// after parsing.
func (d Diagnostic) String() string {
	if d.bare || d.Pos.Line == 0 || d.Pos.File == "" {
		return d.Msg
	}
	if d.short {
		return fmt.Sprintf("(Line %d) %s", d.Pos.Line, d.Msg)
	}
	return fmt.Sprintf("(%s: Line %d) %s", d.Pos.File, d.Pos.Line, d.Msg)
}

// LogOnly reports whether keepalived only logs this message while running
// (log_message), so that `keepalived -t` does not print it.
func (d Diagnostic) LogOnly() bool { return d.logOnly }

// LogString is the diagnostic for a log line: severity, file:line, message.
func (d Diagnostic) LogString() string {
	if d.Pos.File == "" {
		return fmt.Sprintf("%s: %s", d.Severity, d.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", d.Severity, d.Pos, d.Msg)
}

// Exit codes of `keepalived -t` (keepalived 2.2.7, keepalived/core/main.c
// config_test_exit and lib/scheduler.h): the highest config error class
// reported decides, and the classes are ordered so that a plain error (5)
// outranks a fatal one (4), and a security violation (6) outranks both.
const (
	ExitOK               = 0 // no config error reported
	ExitMissingParameter = 2 // a keyword lacked its parameter: keepalived stops at once
	ExitFatal            = 4 // only fatal classes: file not found, bad interface, unusable instance
	ExitConfigErrors     = 5 // any other config error or warning
	ExitSecurity         = 6 // script security not enabled while scripts run
)

// ConfigTestExitCode returns the exit status `keepalived -t` would give for these
// diagnostics.
func ConfigTestExitCode(diags []Diagnostic) int {
	max := classOK
	for _, d := range diags {
		if d.abort {
			return ExitMissingParameter
		}
		if d.class > max {
			max = d.class
		}
	}
	switch {
	case max == classOK:
		return ExitOK
	case max == classFileNotFound || max == classBadIf || max == classFatal:
		return ExitFatal
	case max == classSecurity:
		return ExitSecurity
	}
	return ExitConfigErrors
}

// HasFatal reports whether any diagnostic means the configuration cannot run.
func HasFatal(diags []Diagnostic) bool {
	for _, d := range diags {
		if d.Severity == Fatal || d.abort {
			return true
		}
	}
	return false
}

// FormatDiagnostics joins diagnostics one per line, as `keepalived -t`
// prints them. Messages keepalived only logs while running (LogOnly) are
// left out; gkeepalived's own notices (keyword ignored, ...) are kept.
func FormatDiagnostics(diags []Diagnostic) string {
	var b strings.Builder
	for _, d := range diags {
		if d.logOnly {
			continue
		}
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}
