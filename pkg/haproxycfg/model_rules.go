package haproxycfg

import (
	"time"

	"hapair/pkg/logformat"
	"hapair/pkg/sample"
)

// The rule sets of a proxy (configuration manual sections 4.2
// "http-request", "http-response", "http-after-response", "tcp-request",
// "tcp-response", "redirect", "use_backend", "use-server", "monitor"), as
// compiled while parsing: conditions and sample expressions are already
// sample.Cond and sample.Expr, log-format values are logformat.Format.

// Action is what a rule does.
type Action int

const (
	ActAllow         Action = iota + 1 // stop evaluating this rule set, go on
	ActDeny                            // answer Status (403 by default) and stop
	ActTarpit                          // hold the client `timeout tarpit`, then answer Status (500)
	ActAuth                            // answer 401 asking for Basic credentials in Realm
	ActRedirect                        // answer Redirect
	ActReturn                          // answer Return
	ActSetHeader                       // replace every Name field with Value
	ActAddHeader                       // append a Name field with Value
	ActDelHeader                       // remove Name fields (Match says how names compare)
	ActReplaceHeader                   // Regex over each whole Name value, replaced by Value
	ActReplaceValue                    // Regex over each comma-separated Name value
	ActSetPath                         // the path part of the URI
	ActSetPathQ                        // path and query
	ActSetQuery                        // the query (without '?'); empty removes it
	ActSetURI                          // the whole URI
	ActSetMethod                       // the method
	ActSetVar                          // Var = Expr
	ActUnsetVar                        // remove Var
	ActSetSrc                          // the client address fetches see (and forwardfor sends)
	ActSetStatus                       // response status (and Reason)
	ActReplacePath                     // Regex over the path, replaced by Value (\N: groups)
	ActReplacePathQ                    // the same over the path and query
	ActReplaceURI                      // the same over the whole URI
	ActEarlyHint                       // add Name: Value to the 103 Early Hints sent before the response
	ActAccept                          // tcp-request/tcp-response: accept, stop this set
	ActReject                          // tcp-request/tcp-response: close the connection
	ActWaitForBody                     // wait up to Wait for the body (or AtLeast bytes of it)
	ActSetLogLevel                     // the access log line's severity: LogLevel
	ActClose                           // tcp-response: close the server connection
	ActExpectProxy                     // tcp-request connection: read a PROXY protocol header first
	ActCapture                         // Expr as a string into the frontend's capture slot CaptureID
	ActSetVarFmt                       // Var = the string Value makes
	ActSetMap                          // in the map file Name: entry Key gets Value (added when absent)
	ActDelMap                          // in the map file Name: remove the entries Key
	ActAddACL                          // in the pattern file Name: add Key unless present
	ActDelACL                          // in the pattern file Name: remove the entries Key
	ActSetTimeout                      // the stream's Name ("server" or "tunnel") timeout: Wait, or Expr in ms
	ActSetSrcPort                      // the client port fetches and logs see: Expr as an integer
	ActSetDst                          // the address the client reached, as fetches, originalto and port-less servers see it
	ActSetDstPort                      // its port: Expr as an integer
	ActSilentDrop                      // close the client's connection sending nothing (TCP_REPAIR)
	ActNormalizeURI                    // rewrite the URI with Normalizer
	ActSetMark                         // the netfilter mark of the client connection's packets: Num
	ActSetTOS                          // the TOS (traffic class) of the client connection's packets: Num
)

var actionNames = map[Action]string{
	ActAllow: "allow", ActDeny: "deny", ActTarpit: "tarpit", ActAuth: "auth",
	ActRedirect: "redirect", ActReturn: "return", ActSetHeader: "set-header",
	ActAddHeader: "add-header", ActDelHeader: "del-header", ActReplaceHeader: "replace-header",
	ActReplaceValue: "replace-value", ActSetPath: "set-path", ActSetPathQ: "set-pathq",
	ActSetQuery: "set-query", ActSetURI: "set-uri", ActSetMethod: "set-method",
	ActSetVar: "set-var", ActSetVarFmt: "set-var-fmt", ActUnsetVar: "unset-var", ActSetSrc: "set-src",
	ActSetStatus: "set-status", ActAccept: "accept", ActReject: "reject", ActClose: "close", ActCapture: "capture",
	ActEarlyHint: "early-hint", ActWaitForBody: "wait-for-body", ActSetLogLevel: "set-log-level", ActReplacePath: "replace-path", ActReplacePathQ: "replace-pathq", ActReplaceURI: "replace-uri",
	ActExpectProxy: "expect-proxy", ActSetMap: "set-map", ActDelMap: "del-map", ActAddACL: "add-acl", ActDelACL: "del-acl",
	ActSetTimeout: "set-timeout", ActSetSrcPort: "set-src-port", ActSetDst: "set-dst", ActSetDstPort: "set-dst-port", ActSilentDrop: "silent-drop",
	ActNormalizeURI: "normalize-uri", ActSetMark: "set-mark", ActSetTOS: "set-tos",
}

func (a Action) String() string { return actionNames[a] }

// MarshalText writes the action keyword, so JSON dumps read "deny".
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// Text is a log-format value (a header value, a path, a redirect
// location): Format is nil when Raw holds no '%' and is used as is.
type Text struct {
	Raw    string
	Format *logformat.Format `json:"-"`
}

// NameMatch is del-header's `-m` method.
type NameMatch int

const (
	MatchStr NameMatch = iota // the whole name, case-insensitive
	MatchBeg
	MatchEnd
	MatchSub
	MatchReg
)

// Rule is one http-request, http-response, http-after-response or
// redirect rule.
type Rule struct {
	Action Action
	Name   string        // header name (set/add/del/replace-header...), variable (set-var/unset-var), or set-timeout's "server"/"tunnel")
	Value  Text          // header value, path, query, URI, method
	Match  NameMatch     // del-header -m
	NameRe *sample.Regex `json:"-"` // del-header -m reg
	Regex  *sample.Regex `json:"-"` // replace-header, replace-value
	Expr   *sample.Expr  `json:"-"` // set-var, set-src, set-timeout (an integer in ms)
	// Status is deny_status (deny, tarpit) or set-status's code; 0 = the
	// action's default.
	Status int
	Reason string // set-status reason
	// Wait and AtLeast are wait-for-body's `time` and `at-least`; Wait
	// is also set-timeout's constant value.
	Wait    time.Duration `json:",omitempty"`
	AtLeast int64         `json:",omitempty"`
	// LogLevel is set-log-level's: the severity plus one, -1 for silent.
	LogLevel int `json:",omitempty"`
	// CaptureID is capture's slot in the frontend's request (http-request)
	// or response (http-response) captures: `id N`, or the slot `len N`
	// declared.
	CaptureID int          `json:",omitempty"`
	Realm     string       // auth; "" = the proxy's name
	Redirect  *Redirect    // redirect
	Return    *Return      // return
	Cond      *sample.Cond `json:"-"` // nil: always
	Stick     *StickAction // track-sc, sc-inc-gpc, sc-set-gpt0
	// Key is the entry set-map, del-map, add-acl and del-acl name; MapRef
	// the file's pattern reference (nil when no ACL or map loads the
	// file: the rule then does nothing, as haproxy's).
	Key    *Text          `json:",omitempty"`
	MapRef *sample.PatRef `json:"-"`
	// Normalizer is normalize-uri's: "path-merge-slashes",
	// "path-strip-dotdot full", "percent-to-uppercase strict"...
	Normalizer string `json:",omitempty"`
	// VarCond are set-var's and set-var-fmt's conditions
	// ("set-var(txn.x,ifnotset)").
	VarCond sample.VarCond `json:",omitempty"`
	// Num is set-mark's mark or set-tos's value.
	Num int64 `json:",omitempty"`
	Pos Pos
}

// RedirectType is how a redirect builds its Location.
type RedirectType int

const (
	RedirectLocation RedirectType = iota
	RedirectPrefix
	RedirectScheme
)

// Redirect is `redirect location|prefix|scheme VALUE [code N] [drop-query]
// [append-slash] [set-cookie NAME=VALUE] [clear-cookie NAME=]`.
type Redirect struct {
	Type        RedirectType
	Value       Text
	Code        int // 301, 302 (default), 303, 307, 308
	DropQuery   bool
	AppendSlash bool
	// IgnoreEmpty skips the rule when a location built by a log-format
	// expression is empty.
	IgnoreEmpty bool   `json:",omitempty"`
	SetCookie   string // "NAME=VALUE" as given
	ClearCookie string // "NAME" or "NAME="
}

// Return is `return [status N] [content-type T] [string|lf-string|file|
// lf-file X] [hdr NAME VALUE]...`.
type Return struct {
	Status      int // default 200
	ContentType string
	Body        []byte // string or file content
	BodyFormat  *Text  // lf-string or lf-file; nil otherwise
	Headers     []ReturnHeader
	// ErrorFile is `errorfile FILE`, or the file of `errorfiles NAME` for
	// Status: the reply is that file, as an errorfile is sent.
	ErrorFile *ErrorFile `json:",omitempty"`
	// ProxyErrors is `default-errorfiles`: the reply is the proxy's own
	// for Status (its errorfile, else haproxy's page).
	ProxyErrors bool `json:",omitempty"`

	errorSection string // errorfiles NAME, until resolved
	act          string // the word that set the payload, for messages
}

// ReturnHeader is one `hdr NAME VALUE` of a return.
type ReturnHeader struct {
	Name  string
	Value Text
}

// TCPRule is one tcp-request connection|content|session rule: accept or
// reject, under a condition.
type TCPRule struct {
	Action Action       // ActAccept, ActReject, or a stick counter action
	Cond   *sample.Cond `json:"-"`
	Stick  *StickAction // track-sc, sc-inc-gpc, sc-set-gpt0
	// Expr and CaptureID are tcp-request content capture's sample and
	// request capture slot.
	Expr      *sample.Expr `json:"-"`
	CaptureID int          `json:",omitempty"`
	// Var is a set-var, set-var-fmt or unset-var rule's variable (Name),
	// expression (Expr) or format (Value).
	Var *Rule `json:",omitempty"`
	Pos Pos
}

// Rules are a proxy's rule sets, each in file order (a named defaults
// section's rules first).
type Rules struct {
	HTTPRequest       []*Rule
	HTTPResponse      []*Rule
	HTTPAfterResponse []*Rule
	// Redirects are the `redirect` keyword's rules, run after the
	// http-request rules.
	Redirects     []*Rule
	TCPConnection []*TCPRule // tcp-request connection
	TCPSession    []*TCPRule // tcp-request session
	TCPContent    []*TCPRule // tcp-request content
	InspectDelay  time.Duration
	// TCPResponse are the backend's tcp-response content rules, run on
	// the first response data within ResInspectDelay.
	TCPResponse     []*TCPRule
	ResInspectDelay time.Duration
	MonitorURI      string
	MonitorFail     []*sample.Cond `json:"-"` // `monitor fail if|unless`
	MonitorFailPos  []Pos
	// UseServers are the backend's use-server rules, in file order.
	UseServers []UseServer `json:",omitempty"`
}

// Empty reports whether a proxy has no rule at all: the engine then skips
// building a sample.Txn.
func (r *Rules) Empty() bool {
	return len(r.HTTPRequest) == 0 && len(r.HTTPResponse) == 0 && len(r.HTTPAfterResponse) == 0 &&
		len(r.Redirects) == 0 && len(r.TCPConnection) == 0 && len(r.TCPSession) == 0 &&
		len(r.TCPContent) == 0 && len(r.TCPResponse) == 0 &&
		r.MonitorURI == "" && len(r.MonitorFail) == 0 && len(r.UseServers) == 0
}

// clone copies the rule sets of a defaults section for a proxy using it:
// the proxy's own rules are appended after them.
func (r Rules) clone() Rules {
	c := r
	c.HTTPRequest = append([]*Rule(nil), r.HTTPRequest...)
	c.HTTPResponse = append([]*Rule(nil), r.HTTPResponse...)
	c.HTTPAfterResponse = append([]*Rule(nil), r.HTTPAfterResponse...)
	c.Redirects = append([]*Rule(nil), r.Redirects...)
	c.TCPConnection = append([]*TCPRule(nil), r.TCPConnection...)
	c.TCPSession = append([]*TCPRule(nil), r.TCPSession...)
	c.TCPContent = append([]*TCPRule(nil), r.TCPContent...)
	c.TCPResponse = append([]*TCPRule(nil), r.TCPResponse...)
	c.MonitorFail = append([]*sample.Cond(nil), r.MonitorFail...)
	c.MonitorFailPos = append([]Pos(nil), r.MonitorFailPos...)
	return c
}

// Userlist is a `userlist` section (section 3.4): users and groups for
// http_auth() and http_auth_group().
type Userlist struct {
	Name  string
	Users []*User
	Pos   Pos
}

// User is `user NAME [password HASH | insecure-password PASS] [groups
// G,...]`, with the groups that name it through `group G users ...`.
type User struct {
	Name     string
	Password string // crypt(3) hash, or the clear text when Insecure; "" never matches
	Insecure bool
	Groups   []string
	Pos      Pos
}

// Userlist returns the named userlist, or nil.
func (c *Config) Userlist(name string) *Userlist {
	for _, u := range c.Userlists {
		if u.Name == name {
			return u
		}
	}
	return nil
}

// User returns the named user, or nil.
func (l *Userlist) User(name string) *User {
	for _, u := range l.Users {
		if u.Name == name {
			return u
		}
	}
	return nil
}
