package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/logformat"
	"hapair/pkg/sample"
)

// The rule engine of haproxy 2.6's checks (src/tcpcheck.c, tcpcheck_main):
// every check is a list of connect, send and expect steps, run in order on
// one connection at a time. Expect steps read what has arrived and wait for
// more while a match is still possible; consecutive expect steps test the
// same data. A plain connect check is one implicit connect step.

// Step is one compiled rule.
type Step struct {
	haproxycfg.CheckRule
	// send: build the bytes at run time (the date in ssl-hello-chk).
	build func(now time.Time) []byte
	// expect: a protocol's own parser (mysql, ldap), replacing Match.
	custom func(r *runner, st *Step, last bool) evalResult
	re     *regexp.Regexp // rstring, rbinary, rstatus
	hname  *regexp.Regexp // hdr name -m reg
	hvalue *regexp.Regexp // hdr value -m reg
	// the protocol checks' log-format messages, as functions of the data
	onError, onOK func(buf []byte) string
	code          func(buf []byte) (int, bool) // status-code
	head          int                          // index of the first expect of this run of expects
}

type evalResult int

const (
	evalContinue evalResult = iota
	evalWait
	evalStop
)

// bufSize is haproxy's tune.bufsize: what a check reads at most.
const bufSize = 16384

type runner struct {
	p      *Probe
	conn   net.Conn
	buf    []byte
	code   int
	cur    int // index of the current step; -1 before the first
	res    Result
	linger bool // the connect step asked for a FIN rather than a reset
	tls    bool // the connection runs TLS (check-ssl)
	// useH2: the connection speaks HTTP/2 (h2check.go); h2 is its state
	// once the request is sent.
	useH2 bool
	h2    *h2Conn
	// interim is a pass reported by the last expect step before the
	// check ends (Result.Interim).
	interim *Result
	expire  time.Time
	// vars are the check's variables (check.*, sess.*: a check is a
	// session of its own in haproxy, both start empty at each run) and
	// the process's (proc.*); nil until a rule needs them.
	vars map[string]sample.Value
	txn  sample.Txn
}

// sampleTxn is what the rules' sample fetches read in a check, as
// haproxy's check session gives them: the backend and server checked,
// the variables, and what the server answered so far (the payload, or
// the HTTP response of an HTTP check).
func (r *runner) sampleTxn() *sample.Txn {
	if r.vars == nil {
		r.vars = map[string]sample.Value{}
		if r.p.Vars != nil {
			for k, v := range r.p.Vars.ProcVars() {
				r.vars[k] = v
			}
		}
	}
	t := &r.txn
	*t = sample.Txn{Backend: r.p.Backend, Server: r.p.Server, Env: r.p.Env, Vars: r.vars, InResponse: true}
	if r.p.Type == haproxycfg.CheckHTTP {
		if len(r.buf) > 0 {
			if h, ok := parseHTTP(r.buf, true); ok && h != nil {
				t.Res = h.message()
			}
		}
	} else {
		// haproxy's payload fetches read the check's input buffer
		t.ResPayload = r.buf
	}
	return t
}

// setVar runs set-var, set-var-fmt and unset-var. Only the scopes a
// check has are kept: check, sess and proc; haproxy finds no txn, req
// or res variables in a check and drops them.
func (r *runner) setVar(st *Step) {
	scope, _, _ := strings.Cut(st.Var, ".")
	if scope != "check" && scope != "sess" && scope != "proc" {
		return
	}
	t := r.sampleTxn()
	if st.Action == haproxycfg.RuleUnsetVar {
		delete(r.vars, st.Var)
		if scope == "proc" && r.p.Vars != nil {
			r.p.Vars.UnsetProcVar(st.Var)
		}
		return
	}
	var v sample.Value
	if st.Fmt != nil {
		v = sample.Value{Type: sample.TypeStr, Str: string(st.Fmt.Append(nil, t, nil))}
	} else {
		var ok bool
		if v, ok = st.VarExpr.Eval(t); !ok {
			return
		}
	}
	r.vars[st.Var] = v
	if scope == "proc" && r.p.Vars != nil {
		r.p.Vars.SetProcVar(st.Var, v)
	}
}

// close ends the connection as haproxy does: with a reset (SO_LINGER 0)
// unless the connect step has `linger`.
func (r *runner) close() {
	if r.conn == nil {
		return
	}
	if tc, ok := r.conn.(*net.TCPConn); ok && !r.linger {
		_ = tc.SetLinger(0)
	}
	r.conn.Close()
	r.conn = nil
}

// compile prepares the steps of a rule list.
func compile(rules []haproxycfg.CheckRule) []Step {
	steps := make([]Step, len(rules))
	for i, r := range rules {
		st := Step{CheckRule: r, head: i}
		if r.Action == haproxycfg.RuleExpect {
			// haproxy's expect.head: a wait goes back to the first
			// inverted expect of the run of expects before this one
			// (variables and comments between them), or to this one.
			for j := i - 1; j >= 0; j-- {
				pr := &rules[j]
				if pr.Action == haproxycfg.RuleExpect {
					if pr.Inverse {
						st.head = j
					}
					continue
				}
				if pr.Action != haproxycfg.RuleSetVar && pr.Action != haproxycfg.RuleUnsetVar {
					break
				}
			}
		}
		switch r.Match {
		case "rstring", "rbinary", "rstatus":
			st.re = regexp.MustCompile(r.Pattern)
		}
		if h := r.Header; h != nil {
			if h.NameMatch == "reg" {
				st.hname = regexp.MustCompile("(?i)" + h.Name)
			}
			if h.ValueMatch == "reg" {
				st.hvalue = regexp.MustCompile(h.Value)
			}
		}
		steps[i] = st
	}
	return steps
}

func (p *Probe) run(ctx context.Context) Result {
	r := &runner{p: p, cur: -1}
	defer r.close()
	var whole time.Time
	if p.Whole > 0 {
		whole = time.Now().Add(p.Whole)
	}
	mustRead, last := true, false
	for i := 0; i < len(p.Steps); {
		st := &p.Steps[i]
		r.code = 0
		switch st.Action {
		case haproxycfg.RuleConnect:
			r.cur = i
			if res, ok := r.connect(ctx, st, whole); !ok {
				return res
			}
			mustRead, last = true, false
		case haproxycfg.RuleSetVar, haproxycfg.RuleUnsetVar:
			// an action rule: never the current step
			r.setVar(st)
		case haproxycfg.RuleSend:
			r.cur = i
			// haproxy releases the input buffer at each send.
			r.buf = r.buf[:0]
			data := st.Data
			switch {
			case st.build != nil:
				data = st.build(time.Now())
			case st.HTTP != nil:
				state := ""
				if p.State != nil {
					state = p.State()
				}
				if r.useH2 {
					if err := r.sendH2(st.HTTP, state); err != nil {
						return r.connErr(err, false)
					}
					mustRead = true
					i++
					continue
				}
				data = httpRequest(st.HTTP, state, r.lf)
			case st.Fmt != nil:
				data = st.Fmt.Append(nil, r.sampleTxn(), nil)
				if st.Binary && len(data) > 0 {
					b, ok := unhex(data)
					if !ok {
						return withInfo(CodeL7RSP, 0, fmt.Sprintf("tcp-check send : failed to build log-format string at step %d", st.Step))
					}
					data = b
				}
			}
			mustRead = true
			if len(data) == 0 {
				// haproxy sends nothing for an empty log-format value
				break
			}
			if _, err := r.conn.Write(data); err != nil {
				return r.connErr(err, false)
			}
		case haproxycfg.RuleExpect:
			r.cur = i
			if mustRead {
				res, stop := r.recv(st, &last)
				if stop {
					return res
				}
				mustRead = false
			}
			var ev evalResult
			if p.Type == haproxycfg.CheckHTTP {
				ev = r.expectHTTP(st, last)
			} else {
				ev = r.expect(st, last)
			}
			switch ev {
			case evalStop:
				return r.res
			case evalWait:
				i, mustRead = st.head, true
				continue
			}
		}
		i++
	}
	res := r.success()
	if r.interim != nil && res.Code.OK() {
		res.Interim = r.interim
	}
	return res
}

// lf evaluates a log-format value for the HTTP request.
func (r *runner) lf(f *logformat.Format) string {
	return string(f.Append(nil, r.sampleTxn(), nil))
}

// unhex is haproxy's parse_binary on a log-format value's text.
func unhex(b []byte) ([]byte, bool) {
	if len(b)%2 != 0 {
		return nil, false
	}
	out := make([]byte, len(b)/2)
	for i := range out {
		n, err := strconv.ParseUint(string(b[2*i:2*i+2]), 16, 8)
		if err != nil {
			return nil, false
		}
		out[i] = byte(n)
	}
	return out, true
}

// cond404 tells whether an HTTP answer with this status passes
// conditionally (disable-on-404 and a server up or stopping).
func (p *Probe) cond404(status int) bool {
	return p.DisableOn404 && status == 404 && p.ServerUp != nil && p.ServerUp()
}

// success is the result of a check whose steps all passed, named after
// the last step run.
func (r *runner) success() Result {
	if r.cur < 0 {
		return withInfo(CodeL7OK, 0, "(tcp-check)")
	}
	st := &r.p.Steps[r.cur]
	switch st.Action {
	case haproxycfg.RuleExpect:
		if r.p.cond404(r.code) {
			return Result{Code: CodeL7OKC, HTTP: 404}
		}
		info := ""
		switch {
		case st.onOK != nil:
			info = st.onOK(r.buf)
		case st.OnOKFmt != nil:
			info = string(st.OnOKFmt.Append(nil, r.sampleTxn(), nil))
		case st.OnOK != "":
			info = st.OnOK
		case r.p.Type == haproxycfg.CheckTCP:
			info = "(tcp-check)"
		}
		code := r.stepCode(st)
		c := CodeL7OK
		if st.OKStatus != "" {
			c = codeByName(st.OKStatus)
		}
		return withInfo(c, code, info)
	case haproxycfg.RuleConnect:
		c := CodeL4OK
		if r.tls {
			c = CodeL6OK
		}
		if st.Step == 0 {
			return Result{Code: c}
		}
		return withInfo(c, 0, "(tcp-check)")
	}
	return withInfo(CodeL7OK, 0, "(tcp-check)")
}

func (r *runner) connect(ctx context.Context, st *Step, whole time.Time) (Result, bool) {
	r.close()
	r.buf = r.buf[:0]
	// the server's check protocol applies to the default connect only,
	// as haproxy installs check->mux_proto there
	r.h2, r.useH2 = nil, r.p.Type == haproxycfg.CheckHTTP && (st.Proto == "h2" || (st.Proto == "" && r.p.H2 && (st.Step == 0 || st.Default)))
	r.linger = st.Linger
	addr := r.p.Addr
	// haproxy's port: the rule's `port` (a number or an expression),
	// the port written in its `addr`, then the check's own.
	port := st.Port
	if port == 0 && st.PortExpr != nil {
		if v, ok := st.PortExpr.Eval(r.sampleTxn()); ok {
			if v, ok = sample.Cast(v, sample.TypeInt); ok {
				port = int(uint16(v.Int))
			}
		}
	}
	if port == 0 {
		port = st.AddrPort
	}
	if st.Addr != "" || port != 0 {
		host, p, _ := net.SplitHostPort(addr)
		if st.Addr != "" {
			host = st.Addr
		}
		if port != 0 {
			p = strconv.Itoa(port)
		}
		addr = net.JoinHostPort(host, p)
	}
	cctx, cancel := context.WithTimeout(ctx, r.p.Connect)
	defer cancel()
	var d net.Dialer
	network := "tcp"
	if sa, ok := haproxycfg.ParseDialToken(addr); ok {
		network, addr = "unix", sa.UnixName()
	}
	c, err := d.DialContext(cctx, network, addr)
	if err != nil {
		if isTimeout(err) {
			return withInfo(CodeL4TOUT, 0, r.stepSuffix()), false
		}
		text := connectErrText(err)
		if r.p.ruleTLS(st) != nil && r.p.muxAfterALPN(st) {
			// With an ALPN list haproxy installs the check's mux only
			// after the handshake, so its TLS layer sees the error
			// first and names it (conn_err_code_str).
			text = "SSL handshake failure (" + errnoText(err) + ")"
		}
		return withInfo(CodeL4CON, 0, text+r.stepSuffix()), false
	}
	if st.SendProxy || (r.p.DefaultProxy && (st.Step == 0 || st.Default)) {
		_ = c.SetWriteDeadline(time.Now().Add(r.p.Connect))
		_, err := c.Write(checkProxyLine(r.p.SendProxy, c))
		_ = c.SetWriteDeadline(time.Time{})
		if err != nil {
			c.Close()
			return r.connErr(err, true), false
		}
	}
	r.tls = false
	if cfg := r.p.ruleTLS(st); cfg != nil {
		// check-ssl applies to the implicit connect and `connect
		// default`, as the server's default check settings do in
		// haproxy; `connect ssl` to its own step.
		tc, res, ok := handshakeWith(cctx, c, cfg)
		if !ok {
			c.Close()
			res.Info += r.stepSuffix()
			return res, false
		}
		c, r.tls = tc, true
	}
	r.conn = c
	r.expire = time.Now().Add(r.p.Read)
	if !whole.IsZero() && whole.Before(r.expire) {
		r.expire = whole
	}
	_ = c.SetDeadline(r.expire)
	return Result{}, true
}

// recv reads what the server sent, once; it stops the check on a timeout,
// an error with nothing read, or an empty answer.
func (r *runner) recv(st *Step, last *bool) (Result, bool) {
	if r.h2 != nil {
		return r.recvH2(st, last)
	}
	if len(r.buf) >= bufSize {
		*last = true
		return Result{}, false
	}
	if cap(r.buf) < bufSize {
		nb := make([]byte, len(r.buf), bufSize)
		copy(nb, r.buf)
		r.buf = nb
	}
	n, err := r.conn.Read(r.buf[len(r.buf):bufSize])
	r.buf = r.buf[:len(r.buf)+n]
	if err != nil {
		if isTimeout(err) {
			return r.timeout(), true
		}
		*last = true
		if !errors.Is(err, io.EOF) && len(r.buf) == 0 {
			return r.connErr(err, false), true
		}
	}
	// An HTTP check's empty answer is judged by its expect step (L7RSP,
	// no info), as haproxy's HTX receive path does.
	if *last && len(r.buf) == 0 && r.p.Type != haproxycfg.CheckHTTP {
		c := CodeL7RSP
		if st.ErrStatus != "" {
			c = codeByName(st.ErrStatus)
		}
		info := fmt.Sprintf("TCPCHK got an empty response at step %d", st.Step)
		if st.Comment != "" {
			info += fmt.Sprintf(" comment: '%s'", st.Comment)
		}
		return withInfo(c, 0, info), true
	}
	return Result{}, false
}

// timeout is the result of a check that ran out of time once connected.
func (r *runner) timeout() Result {
	c := CodeL7TOUT
	if r.cur >= 0 {
		if st := &r.p.Steps[r.cur]; st.Action == haproxycfg.RuleExpect && st.ToutStatus != "" {
			c = codeByName(st.ToutStatus)
		}
	}
	return withInfo(c, 0, r.stepSuffix())
}

// connErr is an I/O error on an established connection.
func (r *runner) connErr(err error, _ bool) Result {
	return withInfo(CodeSOCKERR, 0, errnoText(err)+r.stepSuffix())
}

// stepSuffix is what haproxy adds to connection errors of a tcp-check
// (chk_report_conn_err): " at step 3 of tcp-check (expect string 'x')".
func (r *runner) stepSuffix() string {
	if r.p.Type != haproxycfg.CheckTCP {
		return ""
	}
	if r.cur < 0 || r.p.Steps[r.cur].Step == 0 {
		return " at initial connection step of tcp-check"
	}
	st := &r.p.Steps[r.cur]
	s := fmt.Sprintf(" at step %d of tcp-check", st.Step)
	switch st.Action {
	case haproxycfg.RuleConnect:
		if st.Port != 0 {
			s += fmt.Sprintf(" (connect port %d)", st.Port)
		} else {
			s += " (connect)"
		}
	case haproxycfg.RuleExpect:
		switch st.Match {
		case "string":
			s += fmt.Sprintf(" (expect string '%s')", st.Pattern)
		case "binary":
			s += fmt.Sprintf(" (expect binary '%s')", st.Pattern)
		case "rstring":
			s += " (expect regex)"
		case "rbinary":
			s += " (expect binary regex)"
		default:
			s += " (expect custom function)"
		}
	case haproxycfg.RuleSend:
		s += " (send)"
	}
	if st.Comment != "" {
		s += fmt.Sprintf(" comment: '%s'", st.Comment)
	}
	return s
}

// expect evaluates a tcp-check expect step (tcpcheck_eval_expect).
func (r *runner) expect(st *Step, last bool) evalResult {
	last = last || len(r.buf) >= bufSize
	if st.custom != nil {
		return st.custom(r, st, last)
	}
	if !last {
		if (st.Match == "string" || st.Match == "binary") && len(r.buf) < len(st.Pattern) {
			return evalWait
		}
		if st.MinRecv > 0 && len(r.buf) < st.MinRecv {
			return evalWait
		}
	}
	var pat []byte // string-lf, binary-lf: the pattern of this run
	if st.Fmt != nil {
		pat = st.Fmt.Append(nil, r.sampleTxn(), nil)
		info := ""
		switch {
		case len(pat) == 0:
			info = "log-format string evaluated to an empty string"
		case st.Binary:
			var ok bool
			if pat, ok = unhex(pat); !ok {
				info = "Failed to parse hexastring resulting of eval of a log-format string"
			}
		}
		if info != "" {
			r.fail(st, CodeL7RSP, false, info)
			return evalStop
		}
		if !last && len(r.buf) < len(pat) {
			return evalWait
		}
	}
	var match bool
	switch st.Match {
	case "string", "binary":
		match = bytes.Contains(r.buf, []byte(st.Pattern))
	case "string-lf", "binary-lf":
		match = len(r.buf) >= len(pat) && bytes.Contains(r.buf, pat)
	case "rstring":
		match = st.re.Match(r.buf)
	case "rbinary":
		match = st.re.MatchString(fmt.Sprintf("%X", r.buf))
	}
	if !match && !last && st.MinRecv == -1 {
		return evalWait
	}
	if match != st.Inverse {
		return evalContinue
	}
	c := CodeL7RSP
	if st.ErrStatus != "" {
		c = codeByName(st.ErrStatus)
	}
	r.fail(st, c, match, "")
	return evalStop
}

// fail sets the result of a failed expect step as haproxy's
// tcpcheck_expect_onerror_message words it.
func (r *runner) fail(st *Step, c Code, matched bool, info string) {
	msg := info
	switch {
	case info != "":
	case st.onError != nil:
		msg = st.onError(r.buf)
	case st.OnErrorFmt != nil:
		msg = string(st.OnErrorFmt.Append(nil, r.sampleTxn(), nil))
	case st.OnError != "":
		msg = st.OnError
	case r.p.Type != haproxycfg.CheckTCP:
	default:
		msg = "TCPCHK did not match content"
		if matched {
			msg = "TCPCHK matched unwanted content"
		}
		switch st.Match {
		case "status":
			msg += fmt.Sprintf("(status codes) at step %d", st.Step)
		case "string":
			msg += fmt.Sprintf(" '%s' at step %d", st.Pattern, st.Step)
		case "binary":
			msg += fmt.Sprintf(" (binary) at step %d", st.Step)
		case "rstring", "rstatus":
			msg += fmt.Sprintf(" (regex) at step %d", st.Step)
		case "rbinary":
			msg += fmt.Sprintf(" (binary regex) at step %d", st.Step)
		case "string-lf":
			msg += fmt.Sprintf(" (log-format string) at step %d", st.Step)
		case "binary-lf":
			msg += fmt.Sprintf(" (log-format binary) at step %d", st.Step)
		case "hdr", "fhdr":
			msg += fmt.Sprintf(" (header pattern) at step %d", st.Step)
		}
	}
	if st.Comment != "" {
		msg += " comment: " + st.Comment
	}
	r.res = withInfo(c, r.stepCode(st), msg)
}

// stepCode is the check code an expect step reports: a protocol's own
// (mysql's error number...), `status-code EXPR`, or the HTTP status.
func (r *runner) stepCode(st *Step) int {
	code := r.code
	if st.code != nil {
		if n, ok := st.code(r.buf); ok {
			code = n
		}
	}
	if st.StatusCode != nil {
		if v, ok := st.StatusCode.Eval(r.sampleTxn()); ok {
			if v, ok = sample.Cast(v, sample.TypeInt); ok {
				code = int(v.Int)
			}
		}
	}
	return code
}

// httpResponse is an HTTP check's answer.
type httpResponse struct {
	status  int
	version string
	reason  string
	headers [][2]string
	body    []byte
	done    bool // the whole message arrived
}

// message is the answer as the sample fetches read it (status, res.hdr...).
func (h *httpResponse) message() *sample.Message {
	m := &sample.Message{Version: h.version, Status: h.status, Body: h.body}
	for _, kv := range h.headers {
		m.Headers = append(m.Headers, sample.Header{Name: kv[0], Value: kv[1]})
	}
	return m
}

// parseHTTP reads an HTTP/1 answer from buf; nil with ok when more data
// is needed, !ok when it is not HTTP.
func parseHTTP(buf []byte, last bool) (*httpResponse, bool) {
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	sep := 4
	if end < 0 {
		if e := bytes.Index(buf, []byte("\n\n")); e >= 0 {
			end, sep = e, 2
		}
	}
	if end < 0 {
		if !last {
			return nil, true
		}
		end, sep = len(buf), 0
	}
	lines := strings.Split(strings.ReplaceAll(string(buf[:end]), "\r\n", "\n"), "\n")
	sl := lines[0]
	if !strings.HasPrefix(sl, "HTTP/") || len(sl) < 12 || sl[8] != ' ' || (len(sl) > 12 && sl[12] != ' ') {
		return nil, false
	}
	code, err := strconv.Atoi(sl[9:12])
	if err != nil || code < 100 {
		return nil, false
	}
	h := &httpResponse{status: code, version: sl[:8]}
	if len(sl) > 13 {
		h.reason = sl[13:]
	}
	clen := -1
	for _, l := range lines[1:] {
		n, v, ok := strings.Cut(l, ":")
		if !ok {
			return nil, false
		}
		v = strings.Trim(v, " \t")
		h.headers = append(h.headers, [2]string{n, v})
		if strings.EqualFold(n, "content-length") {
			clen, _ = strconv.Atoi(v)
		}
	}
	h.body = buf[min(end+sep, len(buf)):]
	h.done = last || (clen >= 0 && len(h.body) >= clen) || code == 204 || code == 304
	if clen >= 0 && len(h.body) > clen {
		h.body = h.body[:clen]
	}
	return h, true
}

// expectHTTP evaluates an http-check expect step (tcpcheck_eval_expect_http).
func (r *runner) expectHTTP(st *Step, last bool) evalResult {
	last = last || len(r.buf) >= bufSize
	h, ok := parseHTTP(r.buf, last)
	if !ok {
		r.fail(st, CodeL7RSP, false, "")
		return evalStop
	}
	if h == nil {
		if last {
			r.fail(st, CodeL7RSP, false, "")
			return evalStop
		}
		return evalWait
	}
	last = last || h.done
	r.code = h.status
	if r.p.cond404(h.status) {
		// haproxy skips the expect: the check ends L7OKC (success).
		return evalContinue
	}
	c := CodeL7STS
	if st.ErrStatus != "" {
		c = codeByName(st.ErrStatus)
	}
	desc := ""
	var match bool
	switch st.Match {
	case "status":
		for _, rg := range st.Statuses {
			if h.status >= rg[0] && h.status <= rg[1] {
				match = true
			}
		}
		if st.OnError == "" {
			desc = h.reason
		}
	case "rstatus":
		match = st.re.MatchString(strconv.Itoa(h.status))
		if st.OnError == "" {
			desc = h.reason
		}
	case "hdr", "fhdr":
		hm := st.Header
		npat, vpat := hm.Name, hm.Value
		for _, f := range []struct {
			lf  *logformat.Format
			dst *string
		}{{hm.NameFmt, &npat}, {hm.ValueFmt, &vpat}} {
			if f.lf == nil {
				continue
			}
			if *f.dst = string(f.lf.Append(nil, r.sampleTxn(), nil)); *f.dst == "" {
				r.fail(st, CodeL7RSP, false, "log-format string evaluated to an empty string")
				return evalStop
			}
		}
		match = headerMatch(st, h, npat, vpat)
		if st.OnError == "" {
			desc = h.reason
		}
	case "string", "rstring", "string-lf":
		if st.ErrStatus == "" {
			c = CodeL7RSP
		}
		if len(h.body) == 0 {
			if !last {
				return evalWait
			}
			if st.OnError == "" {
				desc = "HTTP content check could not find a response body"
			}
			r.fail(st, c, false, desc)
			return evalStop
		}
		var pat []byte
		if st.Fmt != nil {
			if pat = st.Fmt.Append(nil, r.sampleTxn(), nil); len(pat) == 0 {
				r.fail(st, CodeL7RSP, false, "log-format string evaluated to an empty string")
				return evalStop
			}
		}
		if !last && ((st.Match == "string" && len(h.body) < len(st.Pattern)) || (st.Fmt != nil && len(h.body) < len(pat)) ||
			(st.MinRecv > 0 && len(h.body) < st.MinRecv)) {
			return evalWait
		}
		switch st.Match {
		case "string":
			match = bytes.Contains(h.body, []byte(st.Pattern))
		case "string-lf":
			match = bytes.Contains(h.body, pat)
		default:
			match = st.re.Match(h.body)
		}
		if !match && !last && st.MinRecv == -1 {
			return evalWait
		}
		if st.OnError == "" {
			desc = "HTTP content check did not match"
			if st.Inverse {
				desc = "HTTP check matched unwanted content"
			}
		}
	}
	if match != st.Inverse {
		return evalContinue
	}
	r.fail(st, c, false, desc)
	return evalStop
}

// headerMatch tells whether a header of h matches the name pattern npat
// and, when the step has one, the value pattern vpat.
func headerMatch(st *Step, h *httpResponse, npat, vpat string) bool {
	hm := st.Header
	for _, kv := range h.headers {
		name := strings.ToLower(kv[0])
		pat := strings.ToLower(npat)
		var ok bool
		switch hm.NameMatch {
		case "str":
			ok = name == pat
		case "beg":
			ok = strings.HasPrefix(name, pat)
		case "end":
			ok = strings.HasSuffix(name, pat)
		case "sub":
			ok = strings.Contains(name, pat)
		case "reg":
			ok = st.hname.MatchString(kv[0])
		}
		if !ok {
			continue
		}
		if !hm.HasValue {
			return true
		}
		values := []string{kv[1]}
		if !hm.Full {
			values = strings.Split(kv[1], ",")
		}
		for _, v := range values {
			v = strings.Trim(v, " \t")
			switch hm.ValueMatch {
			case "str":
				ok = v == vpat
			case "beg":
				ok = strings.HasPrefix(v, vpat)
			case "end":
				ok = strings.HasSuffix(v, vpat)
			case "sub":
				ok = strings.Contains(v, vpat)
			case "reg":
				ok = st.hvalue.MatchString(v)
			}
			if ok {
				return true
			}
		}
	}
	return false
}

// httpRequest is the check request as haproxy 2.6 sends it
// (testdata/haproxy26_httpchk_*.txt): `OPTIONS / HTTP/1.0` by default,
// header names in lower case, "connection: close" in HTTP/1.1, a
// content-length with a body; after the request's own headers, the
// server's state when state is not empty (http-check send-state). lf
// evaluates the log-format values (uri-lf, body-lf, header values with
// fields); a header whose value comes out empty is left out, an empty
// URI is "/", as haproxy's tcpcheck_eval_send does.
func httpRequest(h *haproxycfg.HTTPRequest, state string, lf func(*logformat.Format) string) []byte {
	method, uri, version, hdrs, body := requestParts(h, state, lf)
	var b strings.Builder
	b.WriteString(method + " " + uri + " " + version + "\r\n")
	for _, kv := range hdrs {
		b.WriteString(kv[0] + ": " + kv[1] + "\r\n")
	}
	// haproxy 2.6.12 writes the length before "connection: close"
	// (measured: TestIntegrationCheckVarsAndFormats).
	if body != "" {
		b.WriteString("content-length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	if version == "HTTP/1.1" {
		b.WriteString("connection: close\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return []byte(b.String())
}

// connectErrText is the info of a failed connect. Errors the kernel gives
// at once, before any packet (no route, a broadcast address), are what
// haproxy calls a "General socket error (...)"; a refusal from the
// server is the bare strerror text.
func connectErrText(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) && (en == syscall.ENETUNREACH || en == syscall.EACCES || en == syscall.EPERM) {
		return "General socket error (" + errnoText(err) + ")"
	}
	return errnoText(err)
}
