package haproxycfg

import "hapair/pkg/logformat"

// Logging is what a frontend logs and captures for each stream
// (configuration manual sections 4.2 "log-format", "capture", "unique-id-
// format" and 8.2.4), compiled for the proxy's mode.
type Logging struct {
	// Access is the access-log line: `log-format`, or the string of
	// `option tcplog`, `option httplog` or `option httplog clf`; nil
	// without any (the frontend then logs "Connect from" lines).
	Access *logformat.Format
	// StructuredData is `log-format-sd`, the STRUCTURED-DATA of rfc5424
	// targets; nil prints haproxy's default "-".
	StructuredData *logformat.Format
	// Error is `error-log-format`: the line logged for a connection
	// that failed before it became a stream (a TLS handshake failure),
	// instead of haproxy's "frontend/listener: message" line; nil
	// without one.
	Error *logformat.Format `json:",omitempty"`
	// UniqueID is `unique-id-format` (%ID); nil without one.
	UniqueID *logformat.Format
	// UniqueIDHeader is `unique-id-header`: the request header carrying
	// the unique id to the server; "" sends none.
	UniqueIDHeader string
	// ReqCaptures and ResCaptures are `capture request header` and
	// `capture response header`, in declaration order (%hr, %hs).
	ReqCaptures, ResCaptures []HeaderCapture
	// Cookie is `capture cookie NAME len N` (%CC, %CS); Name "" = none.
	Cookie HeaderCapture
	// Tag is `log-tag`: the syslog tag of this proxy's messages; ""
	// uses the global one.
	Tag string `json:",omitempty"`
}

// HeaderCapture is one capture: a header (or cookie) name and the number
// of bytes of its value kept; Name "" is a slot filled by capture rules.
type HeaderCapture struct {
	Name string
	Len  int
}

// AddCapture adds a capture slot without a header name (`declare capture`,
// or the slot an `http-request capture ... len N` rule creates) and
// returns its id, the index the rule's action fills (see proxy.RuleCapture).
func (l *Logging) AddCapture(response bool, length int) int {
	slots := &l.ReqCaptures
	if response {
		slots = &l.ResCaptures
	}
	*slots = append(*slots, HeaderCapture{Len: length})
	return len(*slots) - 1
}

// LogSample is a log target's `sample` option.
type LogSample struct {
	// Ranges are the 1-based positions sent in each period, ordered and
	// disjoint: {1,1}, {3,5} for "1,3-5".
	Ranges [][2]int
	Size   int // the period, at least the highest position
}
