// Package health runs haproxy's server health checks (configuration manual,
// section 5.2 "check", "inter", "fastinter", "downinter", "rise", "fall",
// "port", "addr"; section 4.2 "option httpchk" and "http-check expect") and
// drives each server's operational state in the proxy engine, logging the
// state changes with haproxy 2.6's words.
package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/sample"
)

// Code is a check's result as haproxy's stats show it (check_status), as in
// the management guide, section 9.1, field 36. Its value is haproxy's
// HCHK_STATUS_* number (`show servers state` prints it).
type Code int

// The check results, numbered as haproxy's HCHK_STATUS_*.
const (
	CodeNone    Code = 1  // INI: no check has completed yet
	CodeHANA    Code = 4  // `observe` saw too many errors in live traffic (on-error)
	CodeSOCKERR Code = 5  // local socket error, or an I/O error once connected
	CodeL4OK    Code = 6  // TCP connect succeeded
	CodeL4TOUT  Code = 7  // TCP connect timed out
	CodeL4CON   Code = 8  // TCP connect failed (refused, unreachable)
	CodeL6OK    Code = 9  // layer 6 (TLS hello) answer accepted
	CodeL6TOUT  Code = 10 // layer 6 timeout
	CodeL6RSP   Code = 11 // layer 6 invalid response
	CodeL7TOUT  Code = 12 // no complete answer in time
	CodeL7RSP   Code = 13 // not a valid answer of the protocol
	CodeL7OK    Code = 15 // layer 7 answer accepted
	CodeL7OKC   Code = 16 // conditionally passed (http-check disable-on-404)
	CodeL7STS   Code = 17 // the answer says the service is not well
)

var codeNames = map[Code][2]string{
	CodeNone: {"INI", "Initializing"}, CodeHANA: {"HANA", "Health analyze"}, CodeSOCKERR: {"SOCKERR", "Socket error"},
	CodeL4OK: {"L4OK", "Layer4 check passed"}, CodeL4TOUT: {"L4TOUT", "Layer4 timeout"},
	CodeL4CON: {"L4CON", "Layer4 connection problem"}, CodeL6OK: {"L6OK", "Layer6 check passed"},
	CodeL6TOUT: {"L6TOUT", "Layer6 timeout"}, CodeL6RSP: {"L6RSP", "Layer6 invalid response"},
	CodeL7TOUT: {"L7TOUT", "Layer7 timeout"}, CodeL7RSP: {"L7RSP", "Layer7 invalid response"},
	CodeL7OK: {"L7OK", "Layer7 check passed"}, CodeL7OKC: {"L7OKC", "Layer7 check conditionally passed"},
	CodeL7STS: {"L7STS", "Layer7 wrong status"},
}

// codeByName reads the names `ok-status`, `error-status` and `tout-status` take.
func codeByName(s string) Code {
	for c, n := range codeNames {
		if n[0] == s {
			return c
		}
	}
	return 0
}

func (c Code) String() string {
	if n, ok := codeNames[c]; ok {
		return n[0]
	}
	return fmt.Sprintf("Code(%d)", int(c))
}

// Desc is haproxy's description of the result ("Layer4 connection problem").
func (c Code) Desc() string { return codeNames[c][1] }

// Num is haproxy's number for the result (HCHK_STATUS_*).
func (c Code) Num() int { return int(c) }

// OK reports whether the result counts as a passed check.
func (c Code) OK() bool {
	return c == CodeL4OK || c == CodeL6OK || c == CodeL7OK || c == CodePROCOK
}

// HasData reports whether the result carries a check code (haproxy prints
// "code: N" and fills check_code from L7OK on).
func (c Code) HasData() bool { return c >= CodeL7OK }

// Result is one check's outcome.
type Result struct {
	Code Code
	// HTTP is the check code (check_code): the HTTP status, the MySQL
	// error number, the SMTP or LDAP result code.
	HTTP int
	Info string // the "info:" of logs, last_chk of the CSV
	// Duration is how long the check took; negative for a result no
	// check made (HANA), whose log lines then give no duration.
	Duration time.Duration
	// Interim is a pass haproxy reports before the check ends
	// (mysql-check's server version, ldap-check's "Success"): it is
	// logged and counted in the health as a result of its own, then
	// the final result replaces it, as haproxy's two calls of
	// set_server_check_status do.
	Interim *Result
}

// Reason is the "reason: ..." part of haproxy's state-change log lines:
// `Layer7 wrong status, code: 404, info: "Not Found"`; the info is
// encoded as haproxy's chunk_asciiencode does.
func (r Result) Reason() string {
	s := r.Code.Desc()
	if r.Code.HasData() {
		s += fmt.Sprintf(", code: %d", r.HTTP)
	}
	if r.Info != "" {
		s += ", info: \"" + asciiEncode(r.Info) + "\""
	}
	return s
}

// asciiEncode writes bytes that are not printable ASCII, '<', '>' and
// '"' as <HH>.
func asciiEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '<' || c == '>' || c == '"' {
			fmt.Fprintf(&b, "<%02X>", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// descLen is haproxy's HCHK_DESC_LEN: the info is cut to one byte less.
const descLen = 128

func withInfo(c Code, code int, info string) Result {
	if i := strings.IndexByte(info, 0); i >= 0 {
		info = info[:i]
	}
	if len(info) > descLen-1 {
		info = info[:descLen-1]
	}
	return Result{Code: c, HTTP: code, Info: info}
}

// Probe is what a check does against one server.
type Probe struct {
	Addr    string // host:port of the check (the server's, or `addr` and `port`)
	Type    haproxycfg.CheckType
	Steps   []Step
	Connect time.Duration // connect timeout
	Read    time.Duration // time allowed for the answers after connecting
	Whole   time.Duration // bound on the whole check; 0 = none beyond Connect and Read
	ext     *extCheck     // option external-check
	TLS     *tls.Config   // check-ssl: the implicit connect runs TLS; nil in clear (tls.go)
	// ServerTLS is the server's TLS settings, which `connect ssl` rules
	// use with their own sni and alpn (nil when the proxy has none).
	ServerTLS *haproxycfg.ServerTLS
	// DisableOn404 is `http-check disable-on-404`; ServerUp tells
	// whether the server is up or stopping (haproxy's next_state not
	// STOPPED), when a 404 passes conditionally. nil: never.
	DisableOn404 bool
	ServerUp     func() bool
	// SendProxy is the server's PROXY protocol setting, which picks the
	// header a check sends (proxy.go); DefaultProxy says whether the
	// default connect sends one (check-send-proxy, or send-proxy on the
	// traffic port).
	SendProxy    haproxycfg.SendProxy
	DefaultProxy bool
	// State, with `http-check send-state`, is the value of the
	// X-Haproxy-Server-State header each HTTP check request carries.
	State func() string
	// Backend and Server name the checked server for the rules' sample
	// fetches (be_name, srv_name); Env answers the fetches about the
	// running process, Vars holds the process-wide variables (proc.*).
	// Both may be nil.
	Backend, Server string
	Env             sample.Env
	Vars            ProcVars
	// H2: HTTP checks speak HTTP/2 with prior knowledge (check-proto h2,
	// or the server's proto h2) on the default connect.
	H2 bool
}

// ProcVars is the process-wide variables (proc.*), which check rules read
// and set as every other rule does.
type ProcVars interface {
	ProcVars() map[string]sample.Value
	SetProcVar(name string, v sample.Value)
	UnsetProcVar(name string)
}

// Run performs one check. now is the clock used for the duration.
func (p *Probe) Run(ctx context.Context, now func() time.Time) Result {
	start := now()
	var res Result
	if p.ext != nil {
		res = p.ext.run(ctx)
	} else {
		res = p.run(ctx)
	}
	res.Duration = now().Sub(start)
	if res.Duration < 0 {
		res.Duration = 0
	}
	if res.Interim != nil {
		res.Interim.Duration = res.Duration
	}
	return res
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// errnoText is the C library's strerror text haproxy puts in "info:"
// ("Connection refused"); Go's errno strings are the same words in lower case.
func errnoText(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		s := en.Error()
		if s != "" {
			return strings.ToUpper(s[:1]) + s[1:]
		}
	}
	return err.Error()
}
