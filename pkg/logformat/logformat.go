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

// Parse compiles a log-format string ("%ci:%cp [%tr] %ft %[req.hdr(host)]").
func Parse(s string, o *sample.ParseOptions) (*Format, error) { return parse(s, o) }

// Append appends the formatted text for one stream. l carries the log
// fields (%T, %ST, %b, ...); it may be nil where only sample expressions
// and connection fields are known (header rules before the response).
func (f *Format) Append(dst []byte, t *sample.Txn, l *accesslog.Session) []byte {
	return f.impl.appendTo(dst, t, l)
}
