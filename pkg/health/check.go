// Package health runs haproxy's server health checks (configuration manual,
// section 5.2 "check", "inter", "fastinter", "downinter", "rise", "fall",
// "port", "addr"; section 4.2 "option httpchk" and "http-check expect") and
// drives each server's operational state in the proxy engine, logging the
// state changes with haproxy 2.6's words.
package health

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"hapair/pkg/haproxycfg"
)

// Code is a check's result as haproxy's stats show it (check_status), as in
// the management guide, section 9.1, field 36.
type Code int

// The check results gproxy produces.
const (
	CodeNone    Code = iota // no check has completed yet
	CodeL4OK                // TCP connect succeeded
	CodeL4TOUT              // TCP connect timed out
	CodeL4CON               // TCP connect failed (refused, unreachable)
	CodeL7OK                // HTTP answer accepted
	CodeL7TOUT              // no complete HTTP status line in time
	CodeL7RSP               // not an HTTP answer
	CodeL7STS               // HTTP status not the expected one
	CodeSOCKERR             // local socket error
	CodeL6OK                // TLS handshake succeeded (check-ssl without httpchk)
	CodeL6TOUT              // TLS handshake timed out
	CodeL6RSP               // TLS handshake failed
)

var codeNames = [...]string{"", "L4OK", "L4TOUT", "L4CON", "L7OK", "L7TOUT", "L7RSP", "L7STS", "SOCKERR", "L6OK", "L6TOUT", "L6RSP"}

// haproxy's check descriptions (check_desc in the CSV, "reason:" in logs).
var codeDescs = [...]string{"", "Layer4 check passed", "Layer4 timeout", "Layer4 connection problem",
	"Layer7 check passed", "Layer7 timeout", "Layer7 invalid response", "Layer7 wrong status", "Socket error",
	"Layer6 check passed", "Layer6 timeout", "Layer6 invalid response"}

func (c Code) String() string {
	if c < 0 || int(c) >= len(codeNames) {
		return fmt.Sprintf("Code(%d)", int(c))
	}
	return codeNames[c]
}

// Desc is haproxy's description of the result ("Layer4 connection problem").
func (c Code) Desc() string {
	if c < 0 || int(c) >= len(codeDescs) {
		return ""
	}
	return codeDescs[c]
}

// OK reports whether the result counts as a passed check.
func (c Code) OK() bool { return c == CodeL4OK || c == CodeL7OK || c == CodeL6OK }

// Result is one check's outcome.
type Result struct {
	Code     Code
	HTTP     int    // HTTP status for layer 7 results that read one (check_code)
	Info     string // "Connection refused", "Not Found": the "info:" of logs, last_chk of the CSV
	Duration time.Duration
}

// Reason is the "reason: ..." part of haproxy's state-change log lines:
// `Layer7 wrong status, code: 404, info: "Not Found"`.
func (r Result) Reason() string {
	s := r.Code.Desc()
	if r.HTTP != 0 {
		s += fmt.Sprintf(", code: %d", r.HTTP)
	}
	if r.Info != "" {
		s += fmt.Sprintf(", info: %q", r.Info)
	}
	return s
}

// Probe is what a check does against one address.
type Probe struct {
	Addr    string                // host:port
	HTTP    *haproxycfg.HTTPCheck // nil for a TCP connect check
	Connect time.Duration         // connect timeout
	Read    time.Duration         // time allowed for the HTTP answer after connecting
	Whole   time.Duration         // bound on the whole check; 0 = none beyond Connect and Read
	TLS     *tls.Config           // check-ssl: the check runs over TLS; nil in clear (tls.go)
}

// Run performs one check. now is the clock used for the duration.
func (p Probe) Run(ctx context.Context, now func() time.Time) Result {
	start := now()
	res := p.run(ctx)
	res.Duration = now().Sub(start)
	if res.Duration < 0 {
		res.Duration = 0
	}
	return res
}

func (p Probe) run(ctx context.Context) Result {
	var end time.Time
	if p.Whole > 0 {
		end = time.Now().Add(p.Whole)
	}
	cctx, cancel := context.WithTimeout(ctx, p.Connect)
	defer cancel()
	var d net.Dialer
	network, addr := "tcp", p.Addr
	if sa, ok := haproxycfg.ParseDialToken(p.Addr); ok {
		network, addr = "unix", sa.UnixName()
	}
	c, err := d.DialContext(cctx, network, addr)
	if err != nil {
		if isTimeout(err) {
			return Result{Code: CodeL4TOUT}
		}
		return Result{Code: CodeL4CON, Info: errnoText(err)}
	}
	defer c.Close()
	c, res, ok := p.handshake(cctx, c)
	if !ok {
		return res
	}
	defer c.Close()
	if p.HTTP == nil {
		return res
	}
	deadline := time.Now().Add(p.Read)
	if !end.IsZero() && end.Before(deadline) {
		deadline = end
	}
	_ = c.SetDeadline(deadline)
	if _, err := c.Write([]byte(request(p.HTTP))); err != nil {
		return Result{Code: CodeL7RSP, Info: errnoText(err)}
	}
	line, err := bufio.NewReaderSize(c, 1024).ReadString('\n')
	if err != nil {
		if isTimeout(err) {
			return Result{Code: CodeL7TOUT}
		}
		if line == "" {
			return Result{Code: CodeL7RSP, Info: "Empty response"}
		}
	}
	return judge(line, p.HTTP.ExpectStatus)
}

// request is the check request as haproxy 2.6 sends it
// (testdata/haproxy26_httpchk_*.txt): `OPTIONS / HTTP/1.0` when `option
// httpchk` has no arguments; headers hidden after the version ("HTTP/1.1\r\n
// Host: foo") sent with lower-case names; "connection: close" in HTTP/1.1.
func request(h *haproxycfg.HTTPCheck) string {
	method, uri, version := h.Method, h.URI, h.Version
	if method == "" {
		method = "OPTIONS"
	}
	if uri == "" {
		uri = "/"
	}
	if version == "" {
		version = "HTTP/1.0"
	}
	lines := strings.Split(version, "\r\n")
	req := method + " " + uri + " " + lines[0] + "\r\n"
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok || name == "" {
			continue
		}
		req += strings.ToLower(strings.TrimSpace(name)) + ": " + strings.TrimSpace(value) + "\r\n"
	}
	if lines[0] == "HTTP/1.1" {
		req += "connection: close\r\n"
	}
	return req + "\r\n"
}

// judge reads an HTTP status line: with `http-check expect status N` only N
// passes, otherwise any 2xx or 3xx (configuration manual, "option httpchk").
func judge(line string, expect int) Result {
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, "HTTP/") || len(line) < 12 || line[8] != ' ' {
		return Result{Code: CodeL7RSP, Info: "Invalid HTTP response"}
	}
	digits := line[9:12]
	code, err := strconv.Atoi(digits)
	if err != nil || digits[0] < '1' || digits[0] > '9' || digits[1] < '0' || digits[1] > '9' || digits[2] < '0' || digits[2] > '9' || (len(line) > 12 && line[12] != ' ') {
		return Result{Code: CodeL7RSP, Info: "Invalid HTTP response"}
	}
	reason := ""
	if len(line) > 13 {
		reason = line[13:]
	}
	ok := code >= 200 && code < 400
	if expect != 0 {
		ok = code == expect
	}
	if ok {
		return Result{Code: CodeL7OK, HTTP: code}
	}
	return Result{Code: CodeL7STS, HTTP: code, Info: reason}
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
