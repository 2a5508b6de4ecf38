// Package sample is haproxy's sample engine: fetches (src, path, hdr(),
// ...), converters (lower, map(), ...), ACLs and the if/unless conditions
// built from them, as haproxy 2.6 evaluates them (configuration manual
// section 7).
//
// Parsing and evaluation are separate: haproxycfg compiles every `acl`,
// condition and sample expression into the values below while reading the
// configuration (so -c reports a bad fetch or pattern with file:line and
// needs no socket); the proxy engine evaluates them against a Txn that it
// fills from the connection and the HTTP exchange.
//
// This file is the contract between the parser (haproxycfg), the engine
// (proxy, accesslog) and the packages that add fetches (TLS, stick tables).
//
// Adding fetches and converters: another package registers its keywords
// from an init function, and they are then known to every expression, ACL
// and condition parsed afterwards:
//
//	func init() {
//		sample.RegisterFetch(sample.FetchDef{
//			Name: "ssl_fc", Out: sample.TypeBool,
//			Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
//				tc, ok := t.Env.(TLSConn) // the package's own Env extension
//				return sample.Value{Type: sample.TypeBool, Bool: ok && tc.TLS()}, true
//			},
//		})
//	}
//
// A later registration of a name replaces the earlier one (ssl_fc is
// registered here as always false until TLS replaces it). FetchDef.Args
// declares the arguments (types and how many are mandatory, parsed and
// quoted as haproxy's make_arg_list does), FetchDef.Check validates or
// compiles them at parse time (its error is worded "invalid args in fetch
// method"), FetchDef.Each gives every occurrence for ACL matching. ConvDef
// does the same for converters, with In the type the input is cast to;
// RegisterACLKeyword adds an ACL-only keyword (FETCH with a default match
// method, as path_beg). Facts only the running engine knows come through
// Env and interfaces the registering package defines on it, checked with
// a type assertion (UserlistChecker is the one for http_auth).
//
// Evaluation is allocation-free for matching (compiled patterns, indexed
// strings, regexes compiled at parse time); Cond.EvalMore gives haproxy's
// "not known yet" for rules waiting for more data.
package sample

import (
	"errors"
	"net/netip"
	"time"
)

// ErrSyntax is wrapped by every parse error of an expression, ACL or
// condition; the message names the offending word as haproxy does.
var ErrSyntax = errors.New("sample: syntax error")

// Type is a sample's type (haproxy's SMP_T_*).
type Type int

const (
	TypeAny  Type = iota // not known until evaluated
	TypeBool             // Bool
	TypeInt              // Int (signed 64-bit)
	TypeAddr             // Addr (IPv4 or IPv6)
	TypeStr              // Str
	TypeBin              // Str holds the bytes
	TypeMeth             // Str holds the HTTP method
)

// Value is one sample.
type Value struct {
	Type Type
	Bool bool
	Int  int64
	Addr netip.Addr
	Str  string
}

// Header is one HTTP header field, name as received.
type Header struct{ Name, Value string }

// Message is one HTTP message head as fetches see it.
type Message struct {
	Method, URI, Version string // request line; Method and URI are empty in a response
	Status               int    // response status; 0 in a request
	Headers              []Header
	// Body is the buffered body (`option http-buffer-request`); nil when
	// the body was not waited for (req.body is then empty, as haproxy's
	// with nothing buffered). Headers should not hold a Connection header
	// that only said close/keep-alive: haproxy's parser consumes it.
	Body []byte
}

// SrvConn is what a stream's server connection ended its handshake with.
type SrvConn struct {
	// Err is haproxy's connection error code (CO_ER_*): 0, or that of a
	// failed TLS handshake.
	Err int
	// TLS is set for a TLS connection, SSLErr its OpenSSL error code (0
	// when the handshake went through).
	TLS    bool
	SSLErr int64
}

// Txn is what fetches read: one stream, from the connection to the
// current HTTP exchange. The engine fills it; fields it cannot know yet
// are zero (Req nil in mode tcp, Res nil before the response).
type Txn struct {
	Src, Dst netip.AddrPort // the client, and the address it connected to
	Frontend string         // frontend name (fe_name)
	Backend  string         // backend chosen so far (be_name); "" before
	Server   string         // server the request went to (srv_name); "" before
	Req      *Message
	Res      *Message
	// Payload is what the client sent so far in mode tcp, buffered under
	// `tcp-request inspect-delay` (req.payload, req.len, req.ssl_sni).
	Payload []byte
	// ResPayload is what the server sent so far in mode tcp, buffered
	// under `tcp-response inspect-delay` (res.payload, res.len).
	ResPayload []byte
	// Vars holds set-var values by full name ("txn.foo", "sess.bar").
	Vars map[string]Value
	// LastRuleFile and LastRuleLine are where the last rule that ended
	// a rule set's evaluation was declared (last_rule_file,
	// last_rule_line); "" before one did.
	LastRuleFile string
	LastRuleLine int
	// Keeper keeps what the set-var and unset-var converters set beyond
	// Vars; nil keeps nothing more.
	Keeper VarKeeper
	// Now is the time date() and http_date read; zero means the wall
	// clock (tests set it).
	Now time.Time
	// InResponse is set while http-response rules run: hdr() and the
	// other direction-dependent fetches read Res instead of Req.
	InResponse bool
	// ReqGone is set while the rules run on a server's response: the
	// request went to the server, and the fetches that read only its
	// headers, body or buffer (path, req.hdr(), url_param...) find
	// nothing, as in haproxy, where they are forwarded and gone.
	ReqGone bool
	// Stream is set once a stream exists (content and HTTP rules): the
	// txn.*, req.* and res.* variables can be set then, not in the
	// connection and session rules.
	Stream bool
	// SrvConn is the stream's server connection as bc_err and ssl_bc_err
	// read it: nil before one, and after a connect that failed below TLS
	// (haproxy then has no connection on the stream).
	SrvConn *SrvConn
	// Env answers the fetches about the running process (nbsrv, be_conn,
	// srv_is_up, stick tables, TLS); nil in tests that do not need it.
	Env Env
	// UniqueID gives the stream's unique id (`unique-id-format`), made
	// on its first use as haproxy makes it; nil when the frontend has
	// no format (the unique-id fetch then has no sample).
	UniqueID func() string
	// Stick holds the stream's tracked stick counters
	// (*sticktable.Counters, which registers the sc_* fetches); nil when
	// nothing is tracked.
	Stick any
	// ServerTimeout and TunnelTimeout are the stream's server and tunnel
	// timeouts in milliseconds (cur_server_timeout, cur_tunnel_timeout):
	// 0 until an `http-request set-timeout` rule sets one or the server
	// connection is established, which gives the unset ones the
	// backend's values, as haproxy's stream does (0 is its "eternity").
	ServerTimeout, TunnelTimeout int64
	// NotFirst: the request is not the first of its connection
	// (http_first_req is false), as every HTTP/2 stream in haproxy.
	NotFirst bool
	// Captures reads the stream's capture slots (capture.req.hdr,
	// capture.res.hdr); nil outside an HTTP stream.
	Captures Captures
	// SoName is the name of the listener the client connected to
	// (`bind ... name NAME`, so_name); "" when it has none.
	SoName string
	// ProxyTLV gives the value of a TLV of the PROXY protocol header the
	// connection began with (fc_pp_authority, fc_pp_unique_id); nil
	// without one.
	ProxyTLV func(typ uint8) ([]byte, bool)

	mayChange bool    // set by a fetch whose answer may change with more data
	scratch   []Value // values of multi-valued fetches, reused per Txn
	// scratchRoom is scratch's first room: an ACL on a header (one
	// value, most often) allocates nothing per request.
	scratchRoom [2]Value
	raw         *rawCache // Payload parsed as an HTTP request (mode tcp)
	// FcSrc and FcDst are the connection's own addresses (fc_src,
	// fc_dst): the socket's, or as `tcp-request connection` rules set
	// them; a PROXY header and later set-src/set-dst change Src/Dst only.
	// Unset, the fc_* fetches read Src and Dst.
	FcSrc, FcDst netip.AddrPort
}

// MayChange is called by a fetch whose answer (or absence of answer)
// could differ once more data arrives: the payload fetches while the
// client's first bytes are still being buffered. EvalMore uses it.
func (t *Txn) MayChange() { t.mayChange = true }

// Env is the running engine as fetches see it. Unknown names give -1 /
// false. Other packages add methods through their own interfaces, checked
// with a type assertion on Env (e.g. TLS facts, stick-table counters).
type Env interface {
	// NbSrv is haproxy's be_usable_srv: the active servers that are up,
	// or when there are none the usable backup servers (1 only when
	// `option allbackups` is off and one backup is up).
	NbSrv(backend string) int
	SrvIsUp(backend, server string) bool // server state is UP
	BeConn(backend string) int           // current connections of a backend
	FeConn(frontend string) int          // current connections of a frontend
}

// Captures gives a stream's capture slots (`capture request|response
// header`, `declare capture`), in declaration order: ok is false for an
// id out of range or a slot nothing filled, haproxy's NULL slot.
type Captures interface {
	Captured(response bool, id int) (v string, ok bool)
}

// Expr is a compiled sample expression: one fetch and its converters,
// "FETCH[(args)][,CONV[(args)]...]". Built by ParseExpr.
type Expr struct {
	impl exprImpl
}

// Eval runs the fetch and the converters; ok is false when the sample
// does not exist (no such header, ...), as haproxy's "no sample".
func (e *Expr) Eval(t *Txn) (v Value, ok bool) { return e.impl.eval(t) }

// EvalMore is Eval on data that may still grow (rules under `tcp-request
// inspect-delay`): final is false when the fetch said its answer could
// change with more data (haproxy's SMP_F_MAY_CHANGE).
func (e *Expr) EvalMore(t *Txn) (v Value, ok, final bool) {
	t.mayChange = false
	v, ok = e.impl.eval(t)
	return v, ok, !t.mayChange
}

// Cond is a compiled `if`/`unless` condition. A nil *Cond is true.
type Cond struct {
	impl condImpl
}

// Eval reports whether the condition holds for t. A compiled condition
// is read-only: goroutines may evaluate it at once, each with its own Txn.
func (c *Cond) Eval(t *Txn) bool {
	if c == nil {
		return true
	}
	return c.impl.eval(t)
}

// EvalMore evaluates c on data that may still grow, as rules under
// `tcp-request inspect-delay` do: final is false when the result depends
// on a fetch that could answer differently with more data (haproxy's
// ACL_TEST_MISS); the engine then waits for more data or for the delay to
// expire, and evaluates with Eval at the end.
func (c *Cond) EvalMore(t *Txn) (holds, final bool) {
	if c == nil {
		return true, true
	}
	r := c.impl.evalTri(t, false)
	return r == triPass, r != triMiss
}

// ACL is one compiled named ACL (`acl NAME ...`); several lines with the
// same name are ORed together.
type ACL struct {
	Name string
	impl aclImpl
}

// ACLSet is the named ACLs visible from a proxy (its own, in file order).
type ACLSet map[string]*ACL

// ParseOptions are what parsing needs from the configuration reader.
type ParseOptions struct {
	// ReadFile reads pattern and map files (`-f FILE`, map(FILE)); nil
	// refuses them.
	ReadFile func(path string) ([]byte, error)
	// Warn receives haproxy's warnings about a parsed ACL (no pattern
	// given, a space before '('), text without location; nil drops them.
	Warn func(msg string)
	// Refs receives the pattern references of ACLs and maps (nil: a
	// private set, unreachable from the stats socket).
	Refs *PatRefs
	// Where is the configuration line being parsed, for the references'
	// descriptions.
	Where Where
	// Parsed, when set, receives the arguments naming configuration
	// objects (backends, servers, tables, userlists) of each expression
	// ParseExpr compiles, for the caller to resolve once every section is
	// read. ACLs and conditions give theirs with Refs.
	Parsed func(refs []ArgRef)
}

// ParseExpr compiles "FETCH[(args)][,CONV[(args)]...]" (the text inside
// %[...] or a rule's sample argument).
func ParseExpr(s string, o *ParseOptions) (*Expr, error) {
	e, err := parseExpr(s, o)
	if err == nil && o != nil && o.Parsed != nil {
		if refs := e.Refs(); len(refs) > 0 {
			o.Parsed(refs)
		}
	}
	return e, err
}

// ParseACL compiles the words after `acl NAME`: FETCH [FLAGS] PATTERNS...
func ParseACL(name string, args []string, o *ParseOptions) (*ACL, error) {
	return parseACL(name, args, o)
}

// Add puts a into the set; a second line with the same name ORs with the
// first, as haproxy does.
func (s ACLSet) Add(a *ACL) { addACL(s, a) }

// ParseCond compiles a condition; args[0] is "if" or "unless", the rest
// are ACL names, anonymous ACLs in { }, "!", "or"/"||".
func ParseCond(args []string, acls ACLSet, o *ParseOptions) (*Cond, error) {
	return parseCond(args, acls, o)
}
