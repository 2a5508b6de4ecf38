package haproxycfg

import (
	"hapair/pkg/logformat"
	"hapair/pkg/sample"
)

// The health-check part of the model: what `option httpchk`, `option
// tcp-check`, the protocol checks (`option redis-check`...) and the
// `tcp-check` / `http-check` rules ask for (configuration manual, sections
// 4.2 "option tcp-check", "tcp-check *", "http-check *" and 5.2 "check").

// CheckType is the kind of health check a backend runs: the last `option`
// naming one wins, as in haproxy.
type CheckType int

const (
	CheckConnect  CheckType = iota // no check option: a TCP connection
	CheckHTTP                      // option httpchk + http-check rules
	CheckTCP                       // option tcp-check + tcp-check rules
	CheckRedis                     // option redis-check
	CheckMySQL                     // option mysql-check
	CheckPgSQL                     // option pgsql-check
	CheckLDAP                      // option ldap-check
	CheckSMTP                      // option smtpchk
	CheckSSLHello                  // option ssl-hello-chk
	CheckExternal                  // option external-check
)

var checkTypeNames = [...]string{"connect", "httpchk", "tcp-check", "redis-check", "mysql-check",
	"pgsql-check", "ldap-check", "smtpchk", "ssl-hello-chk", "external-check"}

func (t CheckType) String() string {
	if t >= 0 && int(t) < len(checkTypeNames) {
		return checkTypeNames[t]
	}
	return "unknown"
}

// MarshalText writes the option name, so JSON dumps read "tcp-check".
func (t CheckType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// Check is a backend's health-check configuration.
type Check struct {
	Type CheckType
	// Rules are the check's steps as haproxy runs them, completed at the
	// end of the parse: the `tcp-check` rules for CheckTCP, the
	// `http-check` rules for CheckHTTP with the request of `option
	// httpchk` merged in, the implicit connect first and the implicit
	// `expect status 200-399` last where haproxy adds them. Empty for the
	// other types, whose steps are fixed by the protocol.
	Rules []CheckRule
	// DisableOn404 is `http-check disable-on-404`: a 404 answer to an HTTP
	// check of a server that is up passes conditionally (L7OKC) and puts
	// the server in NOLB (soft stop); haproxy's PR_O_DISABLE404.
	DisableOn404 bool `json:",omitempty"`
	// SendState is `http-check send-state`: HTTP checks carry the
	// server's state as haproxy sees it in an X-Haproxy-Server-State
	// header (PR_O2_CHK_SNDST).
	SendState bool `json:",omitempty"`
	// User is the user of mysql-check and pgsql-check ("" = none).
	User string
	// MySQLPre41 is `option mysql-check user U pre-41`.
	MySQLPre41 bool
	// SMTPHello is the greeting of `option smtpchk` ("HELO localhost").
	SMTPHello string
	// Command and Path are `external-check command` and `external-check
	// path` (the PATH the command runs with; "" = haproxy's empty default).
	Command, Path string
}

// RuleAction is what one tcp-check or http-check rule does.
type RuleAction int

const (
	RuleConnect RuleAction = iota
	RuleSend
	RuleExpect
	// RuleSetVar is `set-var(NAME) EXPR` or `set-var-fmt(NAME) FMT`,
	// RuleUnsetVar `unset-var(NAME)`: haproxy's action rules, which take
	// a step number but never become the check's current step.
	RuleSetVar
	RuleUnsetVar
)

// CheckRule is one `tcp-check`/`http-check` connect, send or expect.
type CheckRule struct {
	Action RuleAction
	// Step is haproxy's step number in check messages ("at step 4"):
	// the rule's position among the proxy's rules (comments count), from
	// 1; 0 for the implicit first connect.
	Step    int
	Comment string // the `comment` of the rule, or of a `comment` rule before it
	Pos     Pos

	// connect
	Port int    // 0 = the server's check port
	Addr string // "" = the server's check address
	// AddrPort is the port written in `addr` (0: none), used when the
	// rule has no `port`; PortExpr is `port EXPR`, evaluated per check.
	AddrPort int          `json:",omitempty"`
	PortExpr *sample.Expr `json:"-"`
	Linger   bool         // close with a FIN: without it, haproxy closes check connections with a reset
	// Default is `connect default`: the server's check settings apply
	// (check-ssl, check-send-proxy), as on the implicit first connect.
	Default bool `json:",omitempty"`
	// SendProxy is `connect send-proxy`: a PROXY protocol header first
	// (a LOCAL one in version 2: the server's send-proxy-v2 picks it).
	SendProxy bool `json:",omitempty"`
	// SSL is `connect ssl`: the connection runs TLS with the server's TLS
	// settings (ServerTLS.Settings, resolved for every server of a proxy
	// with such a rule); SNI and ALPN are the rule's `sni` and `alpn`.
	SSL  bool     `json:",omitempty"`
	SNI  string   `json:",omitempty"`
	ALPN []string `json:",omitempty"`
	// Proto is `connect proto NAME`: "h2" speaks HTTP/2 with prior
	// knowledge, "h1" and "none" the default.
	Proto string `json:",omitempty"`

	// send: Data is sent as is (tcp-check send, send-binary); HTTP is an
	// http-check request.
	Data []byte
	HTTP *HTTPRequest
	// Fmt is the log-format value of send-lf and send-binary-lf (the
	// bytes to send) and of expect string-lf and binary-lf (the pattern),
	// evaluated at each run; Binary: its text is hex, decoded then.
	Fmt    *logformat.Format `json:"-"`
	Binary bool              `json:",omitempty"`

	// set-var, set-var-fmt (Fmt), unset-var: the variable's full name
	// ("check.path") and the sample expression of set-var.
	Var     string       `json:",omitempty"`
	VarExpr *sample.Expr `json:"-"`

	// expect
	Match   string // string, rstring, binary, rbinary, status, rstatus, hdr, fhdr
	Inverse bool   // `!`
	Pattern string // the text or the bytes (binary: decoded)
	// Statuses are the ranges of `status` (inclusive).
	Statuses [][2]int
	Header   *HeaderMatch
	MinRecv  int    // -1 = not set
	OnOK     string // `on-success` text
	OnError  string // `on-error` text
	// OKStatus, ErrStatus, ToutStatus override the result (L7OK, L7STS...); "" = default.
	OKStatus, ErrStatus, ToutStatus string
	// OnOKFmt and OnErrorFmt are on-success and on-error texts holding
	// log-format fields (OnOK and OnError then hold the source).
	OnOKFmt, OnErrorFmt *logformat.Format `json:"-"`
	// StatusCode is `status-code EXPR`: the check code reported.
	StatusCode *sample.Expr `json:"-"`
}

// HTTPRequest is the request of an HTTP check (`option httpchk` and
// `http-check send`).
type HTTPRequest struct {
	Method, URI, Version string // "" = OPTIONS, /, HTTP/1.0
	Headers              [][2]string
	// HeaderFmts holds, beside Headers, the log-format of each value
	// that has fields (nil for a plain value): haproxy reads every
	// `hdr` value as a log-format string and leaves out a header whose
	// value comes out empty.
	HeaderFmts []*logformat.Format `json:"-"`
	Body       string
	HasBody    bool
	// URIFmt and BodyFmt are `uri-lf` and `body-lf` (URI and Body then
	// hold the source text).
	URIFmt, BodyFmt *logformat.Format `json:"-"`
}

// HeaderMatch is `http-check expect hdr|fhdr name [-m M] NAME [value [-m M] V]`.
type HeaderMatch struct {
	Name, NameMatch   string // NameMatch: str, beg, end, sub, reg
	Value, ValueMatch string // "" Value with ValueMatch "" = any value
	HasValue          bool
	Full              bool // fhdr: the whole value, commas included
	// NameFmt and ValueFmt are `name-lf` and `value-lf` (Name and Value
	// then hold the source text).
	NameFmt, ValueFmt *logformat.Format `json:"-"`
}
