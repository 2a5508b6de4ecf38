// Package accesslog formats the per-session log lines haproxy writes
// (`option tcplog`, `option httplog`) from what the proxy engine records.
package accesslog

import (
	"net/netip"
	"time"

	"hapair/pkg/sample"
)

// Session is what the proxy engine records about one proxied connection,
// enough to print haproxy's tcplog line:
//
//	%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
type Session struct {
	Client   netip.AddrPort // %ci:%cp
	Frontend netip.AddrPort // the local address the client reached
	Accept   time.Time      // %t, the accept date

	// Level is the syslog severity set-log-level chose: 0 for the
	// default (info), n for severity n-1, -1 for none (silent).
	Level int8

	FrontendName string // %f; %ft is it with '~' appended when SSL is set
	SSL          bool   // the client connection is TLS
	BackendName  string // %b
	ServerName   string // %s; "<NOSRV>" when no server was chosen

	// Timers; a negative value means the step was never reached and is
	// printed as -1.
	//
	// Tw is the time spent before the server connection was attempted:
	// in TCP mode from the accept (queues and server choice), in HTTP mode
	// from the end of the request headers. TCPLog prints it one
	// millisecond higher, as haproxy 2.6 does in TCP mode (see TCPLog).
	Tw time.Duration
	Tc time.Duration // establishing the server connection, after Tw
	Tt time.Duration // whole session, accept to close

	BytesToClient   int64 // %B: bytes sent to the client
	BytesFromClient int64 // %U: bytes received from the client

	// Termination state (%ts), two characters: the cause ('-' normal, 'C'
	// client abort, 'S' server abort or refusal, 'P' proxy, 'R' resource,
	// 'I' internal, 'D' server down, 'K' killed, 'U' server up, 'L' local,
	// 'c' client timeout, 's' server timeout) and the session state at
	// that time ('R' request, 'Q' queue, 'C' connect, 'H' headers, 'D'
	// data, 'L' last, 'T' tarpit, '-' closed normally). A zero byte prints
	// as '-'. Seen from haproxy 2.6: "--", "SC" (no server / refused),
	// "sD" (server timeout), "cD" (client timeout), "PR" (bad request),
	// "CR" (client closed before a full request).
	TermCause byte
	TermState byte
	// The persistence cookie states, the 3rd and 4th characters of %tsc
	// (zero prints as '-', as without a `cookie` mode): the request's
	// cookie ('N' none, 'I' invalid, 'D' its server is down, 'V' valid,
	// 'U' unused) and the response's ('N' none, 'P' passed on, 'D'
	// deleted, 'I' inserted, 'R' rewritten).
	CookieState, SetCookieState byte

	ActConn  int  // %ac: concurrent connections on the process
	FeConn   int  // %fc: on the frontend
	BeConn   int  // %bc: on the backend
	SrvConn  int  // %sc: on the server
	Retries  int  // %rc
	Redisp   bool // %rc is prefixed with '+' when the session was redispatched
	SrvQueue int  // %sq
	BeQueue  int  // %bq

	// HTTP fields, used by HTTPLog only.

	// Th is the handshake time (%Th), Ti the idle time before the request
	// began (%Ti, negative when no request started). The request date %tr
	// is Accept + Th + Ti.
	Th, Ti time.Duration
	// TR is the time to receive the request headers (%TR), Tr the server's
	// response time (%Tr), Ta the request's active time, Tt - Th - Ti
	// (%Ta). Negative means never reached (-1).
	TR, Tr, Ta time.Duration
	// Status is the HTTP status sent to the client (%ST); haproxy prints
	// -1 when no response was produced.
	Status int
	// Method, URI and Version make the request line (%r); an empty Method
	// means no valid request was read and prints "<BADREQ>".
	Method, URI, Version string

	// Fields only custom log formats (pkg/logformat) print.

	// ReqCaptures and ResCaptures are the frontend's `capture request
	// header` / `capture response header` slots in declaration order
	// (%hr %hrl %hs %hsl); nil without captures.
	ReqCaptures, ResCaptures []Capture
	// CookieClient and CookieServer are `capture cookie` (%CC %CS):
	// "NAME=value" cut at the declared length; "" when not seen.
	CookieClient, CookieServer string
	UniqueID                   string         // %ID, from unique-id-format
	ServerAddr                 netip.AddrPort // %si:%sp, the server connected to
	BackendSrc                 netip.AddrPort // %bi:%bp, the local side of the server connection
	ReqCounter                 uint64         // %rt, the process-wide stream number
	// Filled by the log writer: the frontend's log count (%lc), the
	// process id (%pid) and host name (%H).
	LogCount uint64
	PID      int
	Hostname string
	// SSLCipher and SSLVersion are %sslc and %sslv; "" without TLS.
	SSLCipher, SSLVersion string
	// Txn is what sample expressions (%[...]) of a log format read:
	// the request and response heads; nil when the format has none (the
	// connection's fields are then taken from the fields above).
	Txn *sample.Txn
	// SrvFacts is the server connection as bc_err and ssl_bc_err read it
	// when Txn is nil (mode tcp): the log format's own view takes it.
	SrvFacts *sample.SrvConn
}

// Captured reads capture slot id (sample.Captures, for capture.req.hdr
// and capture.res.hdr).
func (s *Session) Captured(response bool, id int) (string, bool) {
	slots := s.ReqCaptures
	if response {
		slots = s.ResCaptures
	}
	if id < 0 || id >= len(slots) || !slots[id].Set {
		return "", false
	}
	return slots[id].Value, true
}

// Capture is one capture slot: Set is false when nothing was captured
// (haproxy's NULL slot), which %hrl prints as '-'.
type Capture struct {
	Value string
	Set   bool
}
