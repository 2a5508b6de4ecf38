// Package logformat is haproxy's custom log format (configuration manual
// section 8.2.4): the `log-format` strings of access logs and the
// log-format values of rules (`http-request set-header X %[src]`,
// `%ci:%cp`), parsed once while reading the configuration and appended per
// request.
package logformat

import (
	"hapair/pkg/accesslog"
	"hapair/pkg/sample"
)

// Format is a compiled log-format string.
type Format struct {
	impl formatImpl
}

// Parse compiles a log-format string ("%ci:%cp [%tr] %ft %[req.hdr(host)]")
// used as a value (a header value, a redirect location, a unique id): in
// mode http, spaces kept as written, empty fields printing nothing and
// sample values encoded for an HTTP header (haproxy's LOG_OPT_HTTP).
func Parse(s string, o *sample.ParseOptions) (*Format, error) {
	return ParseWith(s, Options{Sample: o, HTTP: true, Value: true})
}

// Options say where a log-format string is used.
type Options struct {
	Sample *sample.ParseOptions
	// HTTP is the proxy's mode: false refuses the HTTP-only variables
	// (%r, %HM, %Ta, ...) as haproxy does in mode tcp, and prints the
	// timers as haproxy does for a stream without an HTTP request.
	HTTP bool
	// Log is an access-log line (`log-format`, `log-format-sd`,
	// `error-log-format`): runs of spaces print as one, and an empty field
	// prints '-' (haproxy's LOG_OPT_MERGE_SPACES|LOG_OPT_MANDATORY).
	Log bool
	// Value is a value sent in HTTP (a header, unique-id-format): sample
	// values are %-encoded where a header could not carry them
	// (LOG_OPT_HTTP).
	Value bool
	// ASAP marks the times and byte count that `option logasap` logs
	// before the end with a '+' (%B, %Ta, %Tt, %Tu; haproxy's proxy
	// without LW_BYTES).
	ASAP bool
	// Merge merges runs of spaces without Log's '-' for empty fields, as
	// unique-id-format is read (LOG_OPT_MERGE_SPACES alone).
	Merge bool
	// At, when not empty, are the places a rule's value is evaluated
	// (a listen section's rule runs as frontend and as backend): a
	// sample fetch available at none of them is refused, as haproxy
	// refuses `http-response set-header X %[path]`.
	At []sample.Checkpoint
}

// ParseWith compiles a log-format string for the given use.
func ParseWith(s string, o Options) (*Format, error) { return parse(s, o) }

// ParseLog compiles an access-log line (`log-format`): ParseWith with
// Log set.
func ParseLog(s string, o *sample.ParseOptions, http bool) (*Format, error) {
	return ParseWith(s, Options{Sample: o, HTTP: http, Log: true})
}

// Append appends the formatted text for one stream. l carries the log
// fields (%T, %ST, %b, ...); it may be nil where only sample expressions
// and connection fields are known (header rules before the response).
func (f *Format) Append(dst []byte, t *sample.Txn, l *accesslog.Session) []byte {
	return f.impl.appendTo(dst, t, l)
}

// String returns the text the format was parsed from.
func (f *Format) String() string { return f.impl.src }

// Empty reports whether the format prints nothing at all (an empty
// string), which haproxy treats as "no format".
func (f *Format) Empty() bool { return len(f.impl.nodes) == 0 }

// MarshalText is the source text, so that a configuration model holding
// formats prints them as written.
func (f *Format) MarshalText() ([]byte, error) { return []byte(f.impl.src), nil }

// HasExpr reports whether the format holds sample expressions (%[...]),
// which need the stream's request and response (accesslog.Session.Txn).
func (f *Format) HasExpr() bool { return f != nil && f.impl.exprs }

// HasFields reports whether the format holds fields other than sample
// expressions (%ci, %b, %T...), which need a stream's log data.
func (f *Format) HasFields() bool {
	if f == nil {
		return false
	}
	for _, n := range f.impl.nodes {
		if n.kind == kVar {
			return true
		}
	}
	return false
}

// ReadsResponse reports whether a sample expression of the format reads
// the response.
func (f *Format) ReadsResponse() bool {
	if f == nil {
		return false
	}
	for _, n := range f.impl.nodes {
		if n.expr != nil && n.expr.ReadsResponse() {
			return true
		}
	}
	return false
}
