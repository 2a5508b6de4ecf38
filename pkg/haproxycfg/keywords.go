package haproxycfg

import (
	"fmt"
	"sort"
	"strings"
)

// The one table of every keyword haproxy 2.6 knows, in each place a
// keyword can appear, with what gproxy does about it. The parser asks it
// (lookup) whenever it meets a keyword it does not implement; TestKeywordTable
// walks it; the README's "not implemented" list is checked against it.
//
// The rule (README, "Fail closed"): a keyword either works as in haproxy
// 2.6, or is only tuning or information (Cosmetic: a warning naming
// file:line, the keyword is ignored), or it changes who gets in, where
// traffic goes, what is encrypted, what is on the wire, how health is
// judged or what the logs say, and then, while unimplemented, it is
// Refused: an alert naming file:line, so `-c` fails and the start is
// refused. When in doubt: Refused. Implementing a keyword is a change of
// its line here (and the parser and runtime code that acts on it).

// Class is what gproxy does with a keyword haproxy 2.6 knows.
type Class int

const (
	// Works: read into the model and acted upon by the runtime, as in
	// haproxy 2.6.
	Works Class = iota + 1
	// Cosmetic: tuning or information only; a warning says it is ignored.
	Cosmetic
	// Refused: not implemented and not cosmetic; an alert refuses the
	// configuration rather than serving it differently from haproxy.
	Refused
	// Removed: haproxy 2.6 itself refuses it (a keyword of older
	// versions); gproxy alerts with haproxy's message.
	Removed
)

func (c Class) String() string {
	switch c {
	case Works:
		return "works"
	case Cosmetic:
		return "cosmetic"
	case Refused:
		return "refused"
	case Removed:
		return "removed"
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// Context is where a keyword appears.
type Context int

const (
	CtxSection           Context = iota // a section header
	CtxGlobal                           // a keyword of the global section
	CtxGlobalStats                      // `stats X` in global
	CtxProxy                            // a keyword of defaults, listen, frontend, backend
	CtxOption                           // `option X`
	CtxTimeout                          // `timeout X`
	CtxStats                            // `stats X` in a proxy
	CtxBind                             // an option on a bind line
	CtxServer                           // an option on a server or default-server line
	CtxHTTPRequest                      // an `http-request` action
	CtxHTTPResponse                     // an `http-response` action
	CtxHTTPAfterResponse                // an `http-after-response` action
	CtxTCPRequest                       // `tcp-request X`
	CtxTCPResponse                      // `tcp-response X`
	CtxHTTPCheck                        // `http-check X`
	CtxTCPCheck                         // `tcp-check X`
	CtxLogTarget                        // the kind of a `log` target
	CtxLogOption                        // an option of a `log` line
	CtxAddress                          // an address prefix on bind, server and log lines
	numContexts
)

var contextNames = [...]string{
	CtxSection: "section", CtxGlobal: "global", CtxGlobalStats: "global stats",
	CtxProxy: "proxy", CtxOption: "option", CtxTimeout: "timeout", CtxStats: "stats",
	CtxBind: "bind", CtxServer: "server", CtxHTTPRequest: "http-request",
	CtxHTTPResponse: "http-response", CtxHTTPAfterResponse: "http-after-response",
	CtxTCPRequest: "tcp-request", CtxTCPResponse: "tcp-response",
	CtxHTTPCheck: "http-check", CtxTCPCheck: "tcp-check", CtxLogTarget: "log target",
	CtxLogOption: "log option", CtxAddress: "address prefix",
}

func (c Context) String() string {
	if c >= 0 && c < numContexts {
		return contextNames[c]
	}
	return fmt.Sprintf("Context(%d)", int(c))
}

// Group is the feature a refused keyword belongs to: it names the feature
// in the alert and in the README, and says what the operator can do.
type Group int

const (
	grpNone Group = iota
	grpRules
	grpTLS
	grpProxyProtocol
	grpHTTP
	grpChecks
	grpRouting
	grpLimits
	grpLogs
	grpErrors
	grpExtensions
	grpSections
	grpAddress
	grpDNS
	grpProcess
	numGroups
)

// groupNames are the features as the alerts and the README name them.
var groupNames = [...]string{
	grpNone:          "",
	grpRules:         "ACLs and rules",
	grpTLS:           "TLS",
	grpProxyProtocol: "PROXY protocol",
	grpHTTP:          "HTTP header and connection handling",
	grpChecks:        "health-check rules",
	grpRouting:       "persistence and routing",
	grpLimits:        "rate and queue limits",
	grpLogs:          "log formats and targets",
	grpErrors:        "error pages other than errorfile",
	grpExtensions:    "compression, cache, filters, Lua, FastCGI",
	grpSections:      "userlist, peers, resolvers and other sections",
	grpAddress:       "UNIX sockets and other address families",
	grpDNS:           "DNS resolvers and server templates",
	grpProcess:       "environment variables, server state, stop timers",
}

func (g Group) String() string {
	if g >= 0 && g < numGroups {
		return groupNames[g]
	}
	return fmt.Sprintf("Group(%d)", int(g))
}

// hint is what the alert tells the operator to do.
func (g Group) hint() string {
	if g == grpTLS {
		return "terminate TLS in front of gproxy, or keep haproxy for this configuration"
	}
	return "remove it, or keep haproxy for this configuration"
}

// Keyword is one row of the table.
type Keyword struct {
	Context Context
	Name    string // rule actions taking a name in parentheses end with "(*)"
	Class   Class
	Args    int   // values that follow it (bind and server options)
	Group   Group // for Refused keywords
}

// Keywords returns a copy of the table, for tests and documentation.
func Keywords() []Keyword { return append([]Keyword(nil), keywordTable...) }

var keywordIndex = func() map[Context]map[string]Keyword {
	m := map[Context]map[string]Keyword{}
	for _, k := range keywordTable {
		if m[k.Context] == nil {
			m[k.Context] = map[string]Keyword{}
		}
		if _, dup := m[k.Context][k.Name]; dup {
			panic("haproxycfg: keyword listed twice: " + k.Context.String() + " " + k.Name)
		}
		m[k.Context][k.Name] = k
	}
	return m
}()

// lookup finds a keyword of a context. Names with an argument in
// parentheses ("set-var(txn.x)") are found as "set-var(*)".
func lookup(ctx Context, name string) (Keyword, bool) {
	if i := strings.IndexByte(name, '('); i > 0 {
		name = name[:i] + "(*)"
	}
	k, ok := keywordIndex[ctx][name]
	return k, ok
}

// names lists a context's keywords, sorted (suggestions and tests).
func names(ctx Context) []string {
	var out []string
	for n := range keywordIndex[ctx] {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// RefusedGroups lists the features whose keywords are refused, for the
// README's "not implemented" list.
func RefusedGroups() []string {
	seen := map[Group]bool{}
	var out []string
	for _, k := range keywordTable {
		if k.Class == Refused && !seen[k.Group] {
			seen[k.Group] = true
			out = append(out, k.Group.String())
		}
	}
	sort.Strings(out)
	return out
}

// notImplemented reports a known keyword gproxy does not act on, by its
// class: Cosmetic warns that it is ignored, Refused alerts. shown is the
// keyword as the message quotes it ("'bind :443' option 'ssl'"); prefix
// goes in front (the server lines' "'server b/s' : "). It reports whether
// the keyword was refused.
func (p *parser) notImplemented(k Keyword, style LocStyle, diagKw, prefix, shown string) bool {
	switch k.Class {
	case Cosmetic:
		p.diag(Warning, style, diagKw, "%s%s is not implemented by gproxy and is ignored.", prefix, shown)
		return false
	case Removed:
		p.diag(Alert, style, diagKw, "%s%s is not supported by haproxy 2.6 either.", prefix, shown)
		return true
	}
	feature := ""
	if k.Group != grpNone {
		feature = " (" + k.Group.String() + ")"
	}
	p.diag(Alert, style, diagKw, "%s%s is not implemented by gproxy%s: %s.", prefix, shown, feature, k.Group.hint())
	return true
}

// refuseForm alerts for an unimplemented form of an implemented keyword
// (a conditional use_backend, a status range in http-check expect...).
func (p *parser) refuseForm(group Group, style LocStyle, diagKw, prefix, shown string) {
	p.notImplemented(Keyword{Class: Refused, Group: group}, style, diagKw, prefix, shown)
}

// keywordTable is the table. Comments give the reason for a Cosmetic
// class; a Refused row's Group says which feature it belongs to.
var keywordTable = []Keyword{
	// CtxSection
	{CtxSection, "global", Works, 0, grpNone},
	{CtxSection, "defaults", Works, 0, grpNone},
	{CtxSection, "listen", Works, 0, grpNone},
	{CtxSection, "frontend", Works, 0, grpNone},
	{CtxSection, "backend", Works, 0, grpNone},
	{CtxSection, "userlist", Works, 0, grpNone},
	{CtxSection, "peers", Works, 0, grpNone},
	{CtxSection, "mailers", Refused, 0, grpSections},
	{CtxSection, "namespace_list", Refused, 0, grpSections},
	{CtxSection, "resolvers", Works, 0, grpNone},
	{CtxSection, "program", Refused, 0, grpSections},
	{CtxSection, "http-errors", Works, 0, grpNone},
	{CtxSection, "ring", Refused, 0, grpSections},
	{CtxSection, "cache", Refused, 0, grpSections},
	{CtxSection, "fcgi-app", Works, 0, grpNone},
	{CtxSection, "log-forward", Refused, 0, grpSections},

	// CtxGlobal
	{CtxGlobal, "daemon", Works, 0, grpNone},
	{CtxGlobal, "quiet", Works, 0, grpNone},
	{CtxGlobal, "maxconn", Works, 0, grpNone},
	{CtxGlobal, "user", Works, 0, grpNone},
	{CtxGlobal, "group", Works, 0, grpNone},
	{CtxGlobal, "uid", Works, 0, grpNone},
	{CtxGlobal, "gid", Works, 0, grpNone},
	{CtxGlobal, "chroot", Works, 0, grpNone},
	{CtxGlobal, "pidfile", Works, 0, grpNone},
	{CtxGlobal, "nbthread", Works, 0, grpNone},
	{CtxGlobal, "log", Works, 0, grpNone},
	{CtxGlobal, "stats", Works, 0, grpNone},
	{CtxGlobal, "zero-warning", Works, 0, grpNone},
	{CtxGlobal, "hard-stop-after", Works, 0, grpNone},
	{CtxGlobal, "master-worker", Works, 0, grpNone},
	{CtxGlobal, "nbproc", Removed, 0, grpNone},
	// informational: the stats page and `show info`
	{CtxGlobal, "description", Cosmetic, 0, grpNone},
	{CtxGlobal, "node", Cosmetic, 0, grpNone},
	// TLS defaults applied to `ssl` bind and server lines (kw_tls.go)
	{CtxGlobal, "ca-base", Works, 0, grpNone},
	{CtxGlobal, "crt-base", Works, 0, grpNone},
	{CtxGlobal, "ssl-default-bind-ciphers", Works, 0, grpNone},
	{CtxGlobal, "ssl-default-bind-ciphersuites", Works, 0, grpNone},
	{CtxGlobal, "ssl-default-bind-curves", Works, 0, grpNone},
	{CtxGlobal, "ssl-default-bind-options", Works, 0, grpNone},
	{CtxGlobal, "ssl-default-server-ciphers", Works, 0, grpNone},
	{CtxGlobal, "ssl-default-server-ciphersuites", Works, 0, grpNone},
	{CtxGlobal, "ssl-default-server-options", Works, 0, grpNone},
	{CtxGlobal, "ssl-server-verify", Works, 0, grpNone},
	// DHE settings: crypto/tls has no DHE, gproxy offers none (the warning says so)
	{CtxGlobal, "ssl-dh-param-file", Cosmetic, 0, grpNone},
	// intermediate certificates for OCSP and chains: OCSP updates are not done
	{CtxGlobal, "issuers-chain-path", Cosmetic, 0, grpNone},
	{CtxGlobal, "ssl-load-extra-del-ext", Works, 0, grpNone},
	{CtxGlobal, "ssl-load-extra-files", Works, 0, grpNone},
	{CtxGlobal, "ssl-mode-async", Cosmetic, 0, grpNone},
	{CtxGlobal, "ssl-propquery", Cosmetic, 0, grpNone},
	{CtxGlobal, "ssl-provider", Cosmetic, 0, grpNone},
	{CtxGlobal, "ssl-provider-path", Cosmetic, 0, grpNone},
	{CtxGlobal, "ssl-skip-self-issued-ca", Cosmetic, 0, grpNone},
	{CtxGlobal, "maxsslconn", Cosmetic, 0, grpNone},
	{CtxGlobal, "maxsslrate", Cosmetic, 0, grpNone},
	{CtxGlobal, "httpclient.resolvers.id", Cosmetic, 0, grpNone},
	{CtxGlobal, "httpclient.resolvers.prefer", Cosmetic, 0, grpNone},
	{CtxGlobal, "httpclient.ssl.ca-file", Cosmetic, 0, grpNone},
	{CtxGlobal, "httpclient.ssl.verify", Cosmetic, 0, grpNone},
	// compression limits: gproxy compresses whatever the load (rate and
	// CPU limits refused, they change which responses are compressed);
	// zlib's memory limit has no Go counterpart
	{CtxGlobal, "maxcompcpuusage", Refused, 0, grpExtensions},
	{CtxGlobal, "maxcomprate", Refused, 0, grpExtensions},
	{CtxGlobal, "maxzlibmem", Cosmetic, 0, grpNone},
	// settings of features that are refused where they are used
	{CtxGlobal, "external-check", Works, 0, grpNone},
	{CtxGlobal, "insecure-fork-wanted", Works, 0, grpNone},
	{CtxGlobal, "insecure-setuid-wanted", Cosmetic, 0, grpNone},
	{CtxGlobal, "h1-case-adjust", Cosmetic, 0, grpNone},
	{CtxGlobal, "h1-case-adjust-file", Cosmetic, 0, grpNone},
	{CtxGlobal, "h2-workaround-bogus-websocket-clients", Works, 0, grpNone},
	{CtxGlobal, "localpeer", Works, 0, grpNone},
	{CtxGlobal, "cluster-secret", Cosmetic, 0, grpNone},
	// checks would send a v2 PROXY header with their own addresses instead of LOCAL
	{CtxGlobal, "pp2-never-send-local", Refused, 0, grpProxyProtocol},
	{CtxGlobal, "unix-bind", Refused, 0, grpAddress}, // prefix, owner and mode of UNIX sockets
	{CtxGlobal, "expose-experimental-directives", Works, 0, grpNone},
	// process tuning
	{CtxGlobal, "close-spread-time", Cosmetic, 0, grpNone},
	{CtxGlobal, "cpu-map", Cosmetic, 0, grpNone},
	{CtxGlobal, "fd-hard-limit", Cosmetic, 0, grpNone},
	{CtxGlobal, "max-spread-checks", Works, 0, grpNone},
	{CtxGlobal, "spread-checks", Works, 0, grpNone},
	{CtxGlobal, "maxpipes", Cosmetic, 0, grpNone},
	{CtxGlobal, "mworker-max-reloads", Cosmetic, 0, grpNone},
	{CtxGlobal, "no-memory-trimming", Cosmetic, 0, grpNone},
	{CtxGlobal, "busy-polling", Cosmetic, 0, grpNone},
	{CtxGlobal, "noepoll", Cosmetic, 0, grpNone},
	{CtxGlobal, "noevports", Cosmetic, 0, grpNone},
	{CtxGlobal, "nogetaddrinfo", Cosmetic, 0, grpNone},
	{CtxGlobal, "nokqueue", Cosmetic, 0, grpNone},
	{CtxGlobal, "nopoll", Cosmetic, 0, grpNone},
	{CtxGlobal, "noreuseport", Cosmetic, 0, grpNone},
	{CtxGlobal, "nosplice", Cosmetic, 0, grpNone},
	{CtxGlobal, "numa-cpu-mapping", Cosmetic, 0, grpNone},
	{CtxGlobal, "profiling.tasks", Cosmetic, 0, grpNone},
	{CtxGlobal, "set-dumpable", Cosmetic, 0, grpNone},
	{CtxGlobal, "strict-limits", Cosmetic, 0, grpNone},
	{CtxGlobal, "thread-group", Cosmetic, 0, grpNone},
	{CtxGlobal, "thread-groups", Cosmetic, 0, grpNone},
	{CtxGlobal, "ulimit-n", Cosmetic, 0, grpNone},
	// buffer and scheduler tuning
	{CtxGlobal, "tune.fail-alloc", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.fd.edge-triggered", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.h2.header-table-size", Works, 0, grpNone},
	{CtxGlobal, "tune.h2.initial-window-size", Works, 0, grpNone},
	{CtxGlobal, "tune.h2.max-concurrent-streams", Works, 0, grpNone},
	{CtxGlobal, "tune.h2.max-frame-size", Works, 0, grpNone},
	{CtxGlobal, "tune.idle-pool.shared", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.listener.multi-queue", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.lua.forced-yield", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.lua.maxmem", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.lua.service-timeout", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.lua.session-timeout", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.lua.task-timeout", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.peers.max-updates-at-once", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.pool-high-fd-ratio", Works, 0, grpNone},
	{CtxGlobal, "tune.pool-low-fd-ratio", Works, 0, grpNone},
	{CtxGlobal, "tune.sched.low-latency", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.ssl.cachesize", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.ssl.capture-buffer-size", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.ssl.capture-cipherlist-size", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.ssl.default-dh-param", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.ssl.force-private-cache", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.ssl.hard-maxrecord", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.ssl.keylog", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.ssl.lifetime", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.ssl.maxrecord", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.ssl.ssl-ctx-cache-size", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.vars.check-max-size", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.vars.global-max-size", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.vars.proc-max-size", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.vars.reqres-max-size", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.vars.sess-max-size", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.vars.txn-max-size", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.runqueue-depth", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.maxpollevents", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.maxaccept", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.recv_enough", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.buffers.limit", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.buffers.reserve", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.bufsize", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.maxrewrite", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.idletimer", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.rcvbuf.client", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.rcvbuf.server", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.sndbuf.client", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.sndbuf.server", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.pipesize", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.http.cookielen", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.http.logurilen", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.http.maxhdr", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.comp.maxlevel", Cosmetic, 0, grpNone},
	{CtxGlobal, "tune.pattern.cache-size", Cosmetic, 0, grpNone},
	{CtxGlobal, "default-path", Refused, 0, grpProcess},
	{CtxGlobal, "grace", Refused, 0, grpProcess},
	{CtxGlobal, "presetenv", Works, 0, grpNone},
	{CtxGlobal, "setenv", Works, 0, grpNone},
	{CtxGlobal, "unsetenv", Works, 0, grpNone},
	{CtxGlobal, "resetenv", Works, 0, grpNone},
	{CtxGlobal, "server-state-base", Works, 0, grpNone},
	{CtxGlobal, "server-state-file", Works, 0, grpNone},
	{CtxGlobal, "h1-accept-payload-with-any-method", Refused, 0, grpHTTP},
	{CtxGlobal, "log-send-hostname", Works, 0, grpNone},
	{CtxGlobal, "log-tag", Works, 0, grpNone},
	{CtxGlobal, "lua-load", Refused, 0, grpExtensions},
	{CtxGlobal, "lua-load-per-thread", Refused, 0, grpExtensions},
	{CtxGlobal, "lua-prepend-path", Refused, 0, grpExtensions},
	{CtxGlobal, "maxconnrate", Refused, 0, grpLimits},
	{CtxGlobal, "maxsessrate", Refused, 0, grpLimits},
	{CtxGlobal, "set-var", Works, 0, grpNone},
	{CtxGlobal, "set-var-fmt", Works, 0, grpNone},

	// CtxGlobalStats
	{CtxGlobalStats, "socket", Works, 0, grpNone},
	{CtxGlobalStats, "timeout", Works, 0, grpNone},
	{CtxGlobalStats, "maxconn", Cosmetic, 0, grpNone},
	{CtxGlobalStats, "bind-process", Cosmetic, 0, grpNone},

	// CtxProxy
	{CtxProxy, "bind", Works, 0, grpNone},
	{CtxProxy, "mode", Works, 0, grpNone},
	{CtxProxy, "balance", Works, 0, grpNone},
	{CtxProxy, "maxconn", Works, 0, grpNone},
	{CtxProxy, "retries", Works, 0, grpNone},
	{CtxProxy, "timeout", Works, 0, grpNone},
	{CtxProxy, "clitimeout", Works, 0, grpNone},
	{CtxProxy, "srvtimeout", Works, 0, grpNone},
	{CtxProxy, "contimeout", Works, 0, grpNone},
	{CtxProxy, "option", Works, 0, grpNone},
	{CtxProxy, "http-check", Works, 0, grpNone},
	{CtxProxy, "log", Works, 0, grpNone},
	{CtxProxy, "default_backend", Works, 0, grpNone},
	{CtxProxy, "use_backend", Works, 0, grpNone},
	{CtxProxy, "server", Works, 0, grpNone},
	{CtxProxy, "default-server", Works, 0, grpNone},
	{CtxProxy, "stats", Works, 0, grpNone},
	{CtxProxy, "http-request", Works, 0, grpNone},
	{CtxProxy, "disabled", Works, 0, grpNone},
	{CtxProxy, "enabled", Works, 0, grpNone},
	{CtxProxy, "id", Works, 0, grpNone},
	{CtxProxy, "errorfile", Works, 0, grpNone},
	{CtxProxy, "monitor-net", Removed, 0, grpNone},
	{CtxProxy, "block", Removed, 0, grpNone},
	{CtxProxy, "appsession", Removed, 0, grpNone},
	{CtxProxy, "redisp", Removed, 0, grpNone},
	{CtxProxy, "redispatch", Removed, 0, grpNone},
	// informational
	{CtxProxy, "description", Cosmetic, 0, grpNone},
	// TCP and connection tuning
	{CtxProxy, "backlog", Cosmetic, 0, grpNone},
	{CtxProxy, "clitcpka-cnt", Works, 0, grpNone},
	{CtxProxy, "clitcpka-idle", Works, 0, grpNone},
	{CtxProxy, "clitcpka-intvl", Works, 0, grpNone},
	{CtxProxy, "srvtcpka-cnt", Works, 0, grpNone},
	{CtxProxy, "srvtcpka-idle", Works, 0, grpNone},
	{CtxProxy, "srvtcpka-intvl", Works, 0, grpNone},
	{CtxProxy, "max-session-srv-conns", Cosmetic, 0, grpNone},
	// haproxy 2.6 says it has no effect
	{CtxProxy, "bind-process", Cosmetic, 0, grpNone},
	// settings of features that are refused where they are used (cookie dynamic, capture)
	{CtxProxy, "fullconn", Works, 0, grpNone},
	{CtxProxy, "hash-balance-factor", Works, 0, grpNone},
	{CtxProxy, "dynamic-cookie-key", Works, 0, grpNone},
	{CtxProxy, "declare", Works, 0, grpNone},
	{CtxProxy, "acl", Works, 0, 0},
	{CtxProxy, "http-response", Works, 0, grpNone},
	{CtxProxy, "http-after-response", Works, 0, grpNone},
	{CtxProxy, "tcp-request", Works, 0, grpNone},
	{CtxProxy, "tcp-response", Works, 0, grpNone},
	{CtxProxy, "redirect", Works, 0, grpNone},
	{CtxProxy, "use-server", Works, 0, grpNone},
	{CtxProxy, "monitor", Works, 0, grpNone},
	{CtxProxy, "monitor-uri", Works, 0, grpNone},
	{CtxProxy, "cookie", Works, 0, grpNone},
	{CtxProxy, "dispatch", Works, 0, grpNone},
	{CtxProxy, "force-persist", Refused, 0, grpRouting},
	{CtxProxy, "ignore-persist", Refused, 0, grpRouting},
	{CtxProxy, "persist", Refused, 0, grpRouting},
	{CtxProxy, "hash-type", Works, 0, grpNone},
	{CtxProxy, "stick", Works, 0, grpNone},
	{CtxProxy, "stick-table", Works, 0, grpNone},
	{CtxProxy, "source", Refused, 0, grpRouting},
	{CtxProxy, "usesrc", Refused, 0, grpRouting},
	{CtxProxy, "transparent", Refused, 0, grpRouting},
	{CtxProxy, "retry-on", Refused, 0, grpRouting},
	// Redispatches a keep-alive request when its server's queue is long.
	{CtxProxy, "max-keep-alive-queue", Refused, 0, grpRouting},
	{CtxProxy, "server-template", Works, 0, grpNone},
	{CtxProxy, "tcp-check", Works, 0, grpNone},
	{CtxProxy, "external-check", Works, 0, grpNone},
	{CtxProxy, "email-alert", Refused, 0, grpChecks},
	{CtxProxy, "capture", Works, 0, grpNone},
	{CtxProxy, "log-format", Works, 0, grpNone},
	{CtxProxy, "log-format-sd", Works, 0, grpNone},
	{CtxProxy, "error-log-format", Works, 0, grpNone},
	{CtxProxy, "log-tag", Works, 0, grpNone},
	{CtxProxy, "unique-id-format", Works, 0, grpNone},
	{CtxProxy, "unique-id-header", Works, 0, grpNone},
	{CtxProxy, "errorfiles", Works, 0, grpNone},
	{CtxProxy, "errorloc", Works, 0, grpNone},
	{CtxProxy, "errorloc302", Works, 0, grpNone},
	{CtxProxy, "errorloc303", Works, 0, grpNone},
	{CtxProxy, "http-error", Works, 0, grpNone},
	{CtxProxy, "compression", Works, 0, grpNone},
	{CtxProxy, "filter", Refused, 0, grpExtensions},
	{CtxProxy, "use-fcgi-app", Refused, 0, grpExtensions},
	{CtxProxy, "http-reuse", Works, 0, grpNone},
	{CtxProxy, "http-send-name-header", Works, 0, grpNone},
	{CtxProxy, "rate-limit", Refused, 0, grpLimits},
	{CtxProxy, "load-server-state-from-file", Works, 0, grpNone},
	{CtxProxy, "server-state-file-name", Works, 0, grpNone},

	// CtxOption
	{CtxOption, "redispatch", Works, 0, grpNone},
	{CtxOption, "tcplog", Works, 0, grpNone},
	{CtxOption, "httplog", Works, 0, grpNone},
	{CtxOption, "dontlognull", Works, 0, grpNone},
	{CtxOption, "httpchk", Works, 0, grpNone},
	// TCP keep-alive probes are on the wire and end sessions whose peer
	// vanished: refused until the sockets get SO_KEEPALIVE as haproxy's
	// (gproxy's have none, like haproxy's without these options).
	{CtxOption, "clitcpka", Works, 0, grpNone},
	{CtxOption, "srvtcpka", Works, 0, grpNone},
	{CtxOption, "tcpka", Works, 0, grpNone},
	// TCP and buffering tuning, statistics counters
	{CtxOption, "tcp-smart-accept", Cosmetic, 0, grpNone},
	{CtxOption, "tcp-smart-connect", Cosmetic, 0, grpNone},
	{CtxOption, "splice-auto", Cosmetic, 0, grpNone},
	{CtxOption, "splice-request", Cosmetic, 0, grpNone},
	{CtxOption, "splice-response", Cosmetic, 0, grpNone},
	{CtxOption, "http-no-delay", Cosmetic, 0, grpNone},
	{CtxOption, "independent-streams", Cosmetic, 0, grpNone},
	{CtxOption, "idle-close-on-response", Cosmetic, 0, grpNone},
	{CtxOption, "contstats", Cosmetic, 0, grpNone},
	{CtxOption, "socket-stats", Cosmetic, 0, grpNone},
	// gproxy never upgrades a clear connection to HTTP/2
	{CtxOption, "disable-h2-upgrade", Works, 0, grpNone},
	{CtxOption, "forwardfor", Works, 0, grpNone},
	{CtxOption, "originalto", Works, 0, grpNone},
	{CtxOption, "httpclose", Works, 0, grpNone},
	{CtxOption, "http-server-close", Works, 0, grpNone},
	{CtxOption, "http-keep-alive", Works, 0, grpNone},
	{CtxOption, "http-pretend-keepalive", Works, 0, grpNone},
	{CtxOption, "http-buffer-request", Works, 0, grpNone},
	{CtxOption, "http-use-proxy-header", Refused, 0, grpHTTP},
	{CtxOption, "http-restrict-req-hdr-names", Works, 0, grpNone},
	{CtxOption, "h1-case-adjust-bogus-client", Refused, 0, grpHTTP},
	{CtxOption, "h1-case-adjust-bogus-server", Refused, 0, grpHTTP},
	{CtxOption, "accept-invalid-http-request", Refused, 0, grpHTTP},
	{CtxOption, "accept-invalid-http-response", Refused, 0, grpHTTP},
	{CtxOption, "abortonclose", Works, 0, grpNone},
	{CtxOption, "checkcache", Refused, 0, grpHTTP},
	{CtxOption, "nolinger", Refused, 0, grpHTTP},
	{CtxOption, "ssl-hello-chk", Works, 0, grpNone},
	{CtxOption, "smtpchk", Works, 0, grpNone},
	{CtxOption, "pgsql-check", Works, 0, grpNone},
	{CtxOption, "redis-check", Works, 0, grpNone},
	{CtxOption, "mysql-check", Works, 0, grpNone},
	{CtxOption, "ldap-check", Works, 0, grpNone},
	{CtxOption, "spop-check", Refused, 0, grpChecks},
	{CtxOption, "tcp-check", Works, 0, grpNone},
	{CtxOption, "external-check", Works, 0, grpNone},
	{CtxOption, "httpslog", Works, 0, grpNone},
	{CtxOption, "dontlog-normal", Works, 0, grpNone},
	{CtxOption, "log-separate-errors", Works, 0, grpNone},
	{CtxOption, "logasap", Works, 0, grpNone},
	{CtxOption, "log-health-checks", Works, 0, grpNone},
	{CtxOption, "http-ignore-probes", Works, 0, grpNone},
	{CtxOption, "allbackups", Works, 0, grpNone},
	{CtxOption, "persist", Works, 0, grpNone},
	{CtxOption, "prefer-last-server", Refused, 0, grpRouting},
	{CtxOption, "transparent", Refused, 0, grpRouting},

	// CtxTimeout
	{CtxTimeout, "client", Works, 0, grpNone},
	{CtxTimeout, "server", Works, 0, grpNone},
	{CtxTimeout, "connect", Works, 0, grpNone},
	{CtxTimeout, "queue", Works, 0, grpNone},
	{CtxTimeout, "check", Works, 0, grpNone},
	{CtxTimeout, "tunnel", Works, 0, grpNone},
	{CtxTimeout, "http-request", Works, 0, grpNone},
	{CtxTimeout, "http-keep-alive", Works, 0, grpNone},
	{CtxTimeout, "client-fin", Works, 0, grpNone},
	{CtxTimeout, "server-fin", Works, 0, grpNone},
	{CtxTimeout, "tarpit", Works, 0, grpNone},

	// CtxStats
	{CtxStats, "enable", Works, 0, grpNone},
	{CtxStats, "uri", Works, 0, grpNone},
	{CtxStats, "realm", Works, 0, grpNone},
	{CtxStats, "auth", Works, 0, grpNone},
	{CtxStats, "refresh", Works, 0, grpNone},
	{CtxStats, "hide-version", Works, 0, grpNone},
	{CtxStats, "show-legends", Works, 0, grpNone},
	{CtxStats, "admin", Works, 0, grpNone},
	// informational lines on the stats page
	{CtxStats, "show-node", Cosmetic, 0, grpNone},
	{CtxStats, "show-desc", Cosmetic, 0, grpNone},
	{CtxStats, "show-modules", Cosmetic, 0, grpNone},
	{CtxStats, "scope", Refused, 0, grpRules},
	{CtxStats, "http-request", Refused, 0, grpRules},

	// CtxBind
	{CtxBind, "v4v6", Works, 0, grpNone},
	{CtxBind, "v6only", Works, 0, grpNone},
	{CtxBind, "transparent", Works, 0, grpNone},
	// TCP tuning
	{CtxBind, "defer-accept", Cosmetic, 0, grpNone},
	{CtxBind, "tfo", Cosmetic, 0, grpNone},
	{CtxBind, "backlog", Cosmetic, 1, grpNone},
	{CtxBind, "mss", Cosmetic, 1, grpNone},
	{CtxBind, "tcp-ut", Cosmetic, 1, grpNone},
	{CtxBind, "nice", Cosmetic, 1, grpNone},
	{CtxBind, "process", Cosmetic, 1, grpNone},
	{CtxBind, "shards", Cosmetic, 1, grpNone},
	{CtxBind, "thread", Cosmetic, 1, grpNone},
	{CtxBind, "id", Cosmetic, 1, grpNone},
	{CtxBind, "name", Works, 1, grpNone},
	// UNIX socket and CLI settings: UNIX sockets are refused; `stats socket` reads its own
	{CtxBind, "expose-fd", Cosmetic, 1, grpNone},
	{CtxBind, "gid", Cosmetic, 1, grpNone},
	{CtxBind, "group", Cosmetic, 1, grpNone},
	{CtxBind, "level", Cosmetic, 1, grpNone},
	{CtxBind, "mode", Cosmetic, 1, grpNone},
	{CtxBind, "severity-output", Cosmetic, 1, grpNone},
	{CtxBind, "uid", Cosmetic, 1, grpNone},
	{CtxBind, "user", Cosmetic, 1, grpNone},
	{CtxBind, "accept-proxy", Works, 0, grpNone},
	{CtxBind, "accept-netscaler-cip", Refused, 1, grpProxyProtocol},
	{CtxBind, "interface", Refused, 1, grpAddress},
	{CtxBind, "namespace", Refused, 1, grpAddress},
	{CtxBind, "maxconn", Refused, 1, grpLimits},
	{CtxBind, "proto", Works, 1, grpNone},
	{CtxBind, "ssl", Works, 0, grpNone},
	{CtxBind, "allow-0rtt", Refused, 0, grpTLS},
	{CtxBind, "force-sslv3", Works, 0, grpNone},
	{CtxBind, "force-tlsv10", Works, 0, grpNone},
	{CtxBind, "force-tlsv11", Works, 0, grpNone},
	{CtxBind, "force-tlsv12", Works, 0, grpNone},
	{CtxBind, "force-tlsv13", Works, 0, grpNone},
	{CtxBind, "generate-certificates", Refused, 0, grpTLS},
	{CtxBind, "no-ca-names", Works, 0, grpNone},
	{CtxBind, "no-sslv3", Works, 0, grpNone},
	{CtxBind, "no-tls-tickets", Works, 0, grpNone},
	{CtxBind, "no-tlsv10", Works, 0, grpNone},
	{CtxBind, "no-tlsv11", Works, 0, grpNone},
	{CtxBind, "no-tlsv12", Works, 0, grpNone},
	{CtxBind, "no-tlsv13", Works, 0, grpNone},
	{CtxBind, "prefer-client-ciphers", Works, 0, grpNone},
	{CtxBind, "strict-sni", Works, 0, grpNone},
	{CtxBind, "alpn", Works, 1, grpNone},
	{CtxBind, "ca-file", Works, 1, grpNone},
	{CtxBind, "ca-ignore-err", Works, 1, grpNone},
	{CtxBind, "ca-sign-file", Refused, 1, grpTLS},
	{CtxBind, "ca-sign-pass", Refused, 1, grpTLS},
	{CtxBind, "ca-verify-file", Works, 1, grpNone},
	{CtxBind, "ciphers", Works, 1, grpNone},
	{CtxBind, "ciphersuites", Works, 1, grpNone},
	{CtxBind, "crl-file", Works, 1, grpNone},
	{CtxBind, "crt", Works, 1, grpNone},
	{CtxBind, "crt-ignore-err", Works, 1, grpNone},
	{CtxBind, "crt-list", Works, 1, grpNone},
	{CtxBind, "curves", Works, 1, grpNone},
	{CtxBind, "ecdhe", Works, 1, grpNone},
	{CtxBind, "npn", Refused, 1, grpTLS},
	{CtxBind, "ssl-max-ver", Works, 1, grpNone},
	{CtxBind, "ssl-min-ver", Works, 1, grpNone},
	{CtxBind, "tls-ticket-keys", Refused, 1, grpTLS},
	{CtxBind, "verify", Works, 1, grpNone},

	// CtxServer
	{CtxServer, "backup", Works, 0, grpNone},
	{CtxServer, "no-backup", Works, 0, grpNone},
	{CtxServer, "check", Works, 0, grpNone},
	{CtxServer, "no-check", Works, 0, grpNone},
	{CtxServer, "disabled", Works, 0, grpNone},
	{CtxServer, "enabled", Works, 0, grpNone},
	{CtxServer, "weight", Works, 1, grpNone},
	{CtxServer, "maxconn", Works, 1, grpNone},
	{CtxServer, "rise", Works, 1, grpNone},
	{CtxServer, "fall", Works, 1, grpNone},
	{CtxServer, "inter", Works, 1, grpNone},
	{CtxServer, "fastinter", Works, 1, grpNone},
	{CtxServer, "downinter", Works, 1, grpNone},
	{CtxServer, "port", Works, 1, grpNone},
	{CtxServer, "addr", Works, 1, grpNone},
	{CtxServer, "init-addr", Works, 1, grpNone},
	// ask for what gproxy always does (undo a default-server setting)
	{CtxServer, "no-ssl", Works, 0, grpNone},
	{CtxServer, "no-check-ssl", Works, 0, grpNone},
	{CtxServer, "no-send-proxy", Works, 0, grpNone},
	{CtxServer, "no-send-proxy-v2", Works, 0, grpNone},
	{CtxServer, "no-send-proxy-v2-ssl", Works, 0, grpNone},
	{CtxServer, "no-send-proxy-v2-ssl-cn", Works, 0, grpNone},
	{CtxServer, "no-check-send-proxy", Works, 0, grpNone},
	{CtxServer, "no-agent-check", Works, 0, grpNone},
	// TCP tuning
	{CtxServer, "tfo", Cosmetic, 0, grpNone},
	{CtxServer, "no-tfo", Cosmetic, 0, grpNone},
	{CtxServer, "non-stick", Works, 0, grpNone},
	{CtxServer, "stick", Works, 0, grpNone},
	// stats id, idle connection pool and TCP tuning
	{CtxServer, "id", Works, 1, grpNone},
	{CtxServer, "log-proto", Cosmetic, 1, grpNone},
	{CtxServer, "max-reuse", Cosmetic, 1, grpNone},
	{CtxServer, "pool-low-conn", Works, 1, grpNone},
	{CtxServer, "pool-max-conn", Works, 1, grpNone},
	{CtxServer, "pool-purge-delay", Works, 1, grpNone},
	{CtxServer, "tcp-ut", Cosmetic, 1, grpNone},
	{CtxServer, "agent-check", Works, 0, grpNone},
	{CtxServer, "check-send-proxy", Works, 0, grpNone},
	{CtxServer, "check-via-socks4", Refused, 0, grpChecks},
	{CtxServer, "agent-addr", Works, 1, grpNone},
	{CtxServer, "agent-inter", Works, 1, grpNone},
	{CtxServer, "agent-port", Works, 1, grpNone},
	{CtxServer, "agent-send", Works, 1, grpNone},
	{CtxServer, "check-alpn", Works, 1, grpNone},
	{CtxServer, "check-proto", Works, 1, grpNone},
	{CtxServer, "check-sni", Works, 1, grpNone},
	{CtxServer, "error-limit", Works, 1, grpNone},
	{CtxServer, "observe", Works, 1, grpNone},
	{CtxServer, "on-error", Works, 1, grpNone},
	{CtxServer, "on-marked-down", Works, 1, grpNone},
	{CtxServer, "on-marked-up", Works, 1, grpNone},
	{CtxServer, "slowstart", Works, 1, grpNone},
	{CtxServer, "track", Works, 1, grpNone},
	{CtxServer, "send-proxy", Works, 0, grpNone},
	{CtxServer, "send-proxy-v2", Works, 0, grpNone},
	{CtxServer, "send-proxy-v2-ssl", Works, 0, grpNone},
	{CtxServer, "send-proxy-v2-ssl-cn", Works, 0, grpNone},
	// cert-sig and cert-key are refused by the option parser
	{CtxServer, "proxy-v2-options", Works, 1, grpNone},
	{CtxServer, "ssl", Works, 0, grpNone},
	{CtxServer, "check-ssl", Works, 0, grpNone},
	{CtxServer, "allow-0rtt", Refused, 0, grpTLS},
	{CtxServer, "force-sslv3", Works, 0, grpNone},
	{CtxServer, "force-tlsv10", Works, 0, grpNone},
	{CtxServer, "force-tlsv11", Works, 0, grpNone},
	{CtxServer, "force-tlsv12", Works, 0, grpNone},
	{CtxServer, "force-tlsv13", Works, 0, grpNone},
	{CtxServer, "no-sslv3", Works, 0, grpNone},
	{CtxServer, "no-tlsv10", Works, 0, grpNone},
	{CtxServer, "no-tlsv11", Works, 0, grpNone},
	{CtxServer, "no-tlsv12", Works, 0, grpNone},
	{CtxServer, "no-tlsv13", Works, 0, grpNone},
	{CtxServer, "ssl-reuse", Works, 0, grpNone},
	{CtxServer, "no-ssl-reuse", Works, 0, grpNone},
	{CtxServer, "tls-tickets", Works, 0, grpNone},
	{CtxServer, "no-tls-tickets", Works, 0, grpNone},
	{CtxServer, "alpn", Works, 1, grpNone},
	{CtxServer, "ca-file", Works, 1, grpNone},
	{CtxServer, "ciphers", Works, 1, grpNone},
	{CtxServer, "ciphersuites", Works, 1, grpNone},
	{CtxServer, "crl-file", Works, 1, grpNone},
	{CtxServer, "crt", Works, 1, grpNone},
	{CtxServer, "npn", Refused, 1, grpTLS},
	{CtxServer, "sni", Works, 1, grpNone},
	{CtxServer, "ssl-max-ver", Works, 1, grpNone},
	{CtxServer, "ssl-min-ver", Works, 1, grpNone},
	{CtxServer, "verify", Works, 1, grpNone},
	{CtxServer, "verifyhost", Works, 1, grpNone},
	{CtxServer, "cookie", Works, 1, grpNone},
	{CtxServer, "redir", Refused, 1, grpRouting},
	{CtxServer, "source", Refused, 1, grpRouting},
	{CtxServer, "usesrc", Refused, 1, grpRouting},
	{CtxServer, "minconn", Works, 1, grpNone},
	{CtxServer, "maxqueue", Works, 1, grpNone},
	{CtxServer, "resolvers", Works, 1, grpNone},
	{CtxServer, "resolve-net", Refused, 1, grpDNS},
	{CtxServer, "resolve-opts", Works, 1, grpNone},
	{CtxServer, "resolve-prefer", Works, 1, grpNone},
	{CtxServer, "namespace", Refused, 1, grpAddress},
	{CtxServer, "socks4", Refused, 1, grpAddress},
	{CtxServer, "proto", Works, 1, grpNone},
	{CtxServer, "ws", Refused, 1, grpHTTP},

	// CtxHTTPRequest
	// `use-service prometheus-exporter`, unconditional or `if { path URI }`
	{CtxHTTPRequest, "use-service", Works, 0, grpNone},
	{CtxHTTPRequest, "wait-for-handshake", Refused, 0, grpRules},
	{CtxHTTPRequest, "ot-group", Refused, 0, grpRules},
	{CtxHTTPRequest, "set-log-level", Works, 0, grpNone},
	{CtxHTTPRequest, "set-nice", Refused, 0, grpRules},
	{CtxHTTPRequest, "sc-inc-gpc(*)", Refused, 0, grpRules},
	{CtxHTTPRequest, "sc-inc-gpc0(*)", Works, 0, grpNone},
	{CtxHTTPRequest, "sc-inc-gpc1(*)", Works, 0, grpNone},
	{CtxHTTPRequest, "sc-set-gpt(*)", Refused, 0, grpRules},
	{CtxHTTPRequest, "sc-set-gpt0(*)", Works, 0, grpNone},
	{CtxHTTPRequest, "send-spoe-group", Refused, 0, grpRules},
	{CtxHTTPRequest, "do-resolve(*)", Refused, 0, grpRules},
	{CtxHTTPRequest, "cache-use", Refused, 0, grpRules},
	{CtxHTTPRequest, "add-acl(*)", Works, 0, 0},
	{CtxHTTPRequest, "add-header", Works, 0, grpNone},
	{CtxHTTPRequest, "allow", Works, 0, grpNone},
	{CtxHTTPRequest, "auth", Works, 0, grpNone},
	{CtxHTTPRequest, "capture", Works, 0, grpNone},
	{CtxHTTPRequest, "del-acl(*)", Works, 0, 0},
	{CtxHTTPRequest, "del-header", Works, 0, grpNone},
	{CtxHTTPRequest, "del-map(*)", Works, 0, 0},
	{CtxHTTPRequest, "deny", Works, 0, grpNone},
	{CtxHTTPRequest, "disable-l7-retry", Refused, 0, grpRules},
	{CtxHTTPRequest, "early-hint", Works, 0, grpNone},
	{CtxHTTPRequest, "normalize-uri", Works, 0, grpNone},
	{CtxHTTPRequest, "redirect", Works, 0, grpNone},
	{CtxHTTPRequest, "reject", Works, 0, grpNone},
	{CtxHTTPRequest, "replace-header", Works, 0, grpNone},
	{CtxHTTPRequest, "replace-path", Works, 0, grpNone},
	{CtxHTTPRequest, "replace-pathq", Works, 0, grpNone},
	{CtxHTTPRequest, "replace-uri", Works, 0, grpNone},
	{CtxHTTPRequest, "replace-value", Works, 0, grpNone},
	{CtxHTTPRequest, "return", Works, 0, grpNone},
	{CtxHTTPRequest, "set-header", Works, 0, grpNone},
	{CtxHTTPRequest, "set-map(*)", Works, 0, 0},
	{CtxHTTPRequest, "set-method", Works, 0, grpNone},
	{CtxHTTPRequest, "set-path", Works, 0, grpNone},
	{CtxHTTPRequest, "set-pathq", Works, 0, grpNone},
	{CtxHTTPRequest, "set-query", Works, 0, grpNone},
	{CtxHTTPRequest, "set-uri", Works, 0, grpNone},
	{CtxHTTPRequest, "strict-mode", Refused, 0, grpRules},
	{CtxHTTPRequest, "tarpit", Works, 0, grpNone},
	{CtxHTTPRequest, "track-sc(*)", Works, 0, grpNone},
	{CtxHTTPRequest, "set-timeout", Works, 0, grpNone},
	{CtxHTTPRequest, "wait-for-body", Works, 0, grpNone},
	{CtxHTTPRequest, "set-var-fmt(*)", Works, 0, grpNone},
	{CtxHTTPRequest, "set-var(*)", Works, 0, grpNone},
	{CtxHTTPRequest, "unset-var(*)", Works, 0, grpNone},
	{CtxHTTPRequest, "set-dst", Works, 0, grpNone},
	{CtxHTTPRequest, "set-dst-port", Works, 0, grpNone},
	{CtxHTTPRequest, "set-mark", Works, 0, grpNone},
	{CtxHTTPRequest, "set-src", Works, 0, grpNone},
	{CtxHTTPRequest, "set-src-port", Works, 0, grpNone},
	{CtxHTTPRequest, "set-tos", Works, 0, grpNone},
	{CtxHTTPRequest, "silent-drop", Works, 0, grpNone},
	{CtxHTTPRequest, "set-priority-class", Refused, 0, grpRules},
	{CtxHTTPRequest, "set-priority-offset", Refused, 0, grpRules},

	// CtxHTTPResponse
	{CtxHTTPResponse, "ot-group", Refused, 0, grpRules},
	{CtxHTTPResponse, "set-log-level", Works, 0, grpNone},
	{CtxHTTPResponse, "set-nice", Refused, 0, grpRules},
	{CtxHTTPResponse, "sc-inc-gpc(*)", Refused, 0, grpRules},
	{CtxHTTPResponse, "sc-inc-gpc0(*)", Works, 0, grpNone},
	{CtxHTTPResponse, "sc-inc-gpc1(*)", Works, 0, grpNone},
	{CtxHTTPResponse, "sc-set-gpt(*)", Refused, 0, grpRules},
	{CtxHTTPResponse, "sc-set-gpt0(*)", Works, 0, grpNone},
	{CtxHTTPResponse, "send-spoe-group", Refused, 0, grpRules},
	{CtxHTTPResponse, "cache-store", Refused, 0, grpRules},
	{CtxHTTPResponse, "add-acl(*)", Works, 0, 0},
	{CtxHTTPResponse, "add-header", Works, 0, grpNone},
	{CtxHTTPResponse, "allow", Works, 0, grpNone},
	{CtxHTTPResponse, "capture", Works, 0, grpNone},
	{CtxHTTPResponse, "del-acl(*)", Works, 0, 0},
	{CtxHTTPResponse, "del-header", Works, 0, grpNone},
	{CtxHTTPResponse, "del-map(*)", Works, 0, 0},
	{CtxHTTPResponse, "deny", Works, 0, grpNone},
	{CtxHTTPResponse, "redirect", Works, 0, grpNone},
	{CtxHTTPResponse, "replace-header", Works, 0, grpNone},
	{CtxHTTPResponse, "replace-value", Works, 0, grpNone},
	{CtxHTTPResponse, "return", Works, 0, grpNone},
	{CtxHTTPResponse, "set-header", Works, 0, grpNone},
	{CtxHTTPResponse, "set-map(*)", Works, 0, 0},
	{CtxHTTPResponse, "set-status", Works, 0, grpNone},
	{CtxHTTPResponse, "strict-mode", Refused, 0, grpRules},
	{CtxHTTPResponse, "track-sc(*)", Works, 0, grpNone},
	{CtxHTTPResponse, "wait-for-body", Works, 0, grpNone},
	{CtxHTTPResponse, "set-var-fmt(*)", Works, 0, grpNone},
	{CtxHTTPResponse, "set-var(*)", Works, 0, grpNone},
	{CtxHTTPResponse, "unset-var(*)", Works, 0, grpNone},
	{CtxHTTPResponse, "set-mark", Works, 0, grpNone},
	{CtxHTTPResponse, "set-tos", Works, 0, grpNone},
	{CtxHTTPResponse, "silent-drop", Refused, 0, grpRules},

	// CtxHTTPAfterResponse
	{CtxHTTPAfterResponse, "ot-group", Refused, 0, grpRules},
	{CtxHTTPAfterResponse, "add-header", Works, 0, grpNone},
	{CtxHTTPAfterResponse, "allow", Works, 0, grpNone},
	{CtxHTTPAfterResponse, "capture", Works, 0, grpNone},
	{CtxHTTPAfterResponse, "del-header", Works, 0, grpNone},
	{CtxHTTPAfterResponse, "replace-header", Works, 0, grpNone},
	{CtxHTTPAfterResponse, "replace-value", Works, 0, grpNone},
	{CtxHTTPAfterResponse, "set-header", Works, 0, grpNone},
	{CtxHTTPAfterResponse, "set-status", Works, 0, grpNone},
	{CtxHTTPAfterResponse, "strict-mode", Refused, 0, grpRules},
	{CtxHTTPAfterResponse, "set-var-fmt(*)", Works, 0, grpNone},
	{CtxHTTPAfterResponse, "set-var(*)", Works, 0, grpNone},
	{CtxHTTPAfterResponse, "unset-var(*)", Works, 0, grpNone},

	// CtxTCPRequest
	{CtxTCPRequest, "inspect-delay", Works, 0, grpNone},
	{CtxTCPRequest, "connection", Works, 0, grpNone},
	{CtxTCPRequest, "session", Works, 0, grpNone},
	{CtxTCPRequest, "content", Works, 0, grpNone},

	// CtxTCPResponse
	{CtxTCPResponse, "inspect-delay", Works, 0, grpNone},
	{CtxTCPResponse, "content", Works, 0, grpNone},

	// CtxHTTPCheck
	{CtxHTTPCheck, "expect", Works, 0, grpNone},
	{CtxHTTPCheck, "disable-on-404", Works, 0, grpNone},
	{CtxHTTPCheck, "send-state", Works, 0, grpNone},
	{CtxHTTPCheck, "comment", Works, 0, grpNone},
	{CtxHTTPCheck, "connect", Works, 0, grpNone},
	{CtxHTTPCheck, "send", Works, 0, grpNone},
	{CtxHTTPCheck, "set-var-fmt(*)", Works, 0, grpNone},
	{CtxHTTPCheck, "set-var(*)", Works, 0, grpNone},
	{CtxHTTPCheck, "unset-var(*)", Works, 0, grpNone},

	// CtxTCPCheck
	{CtxTCPCheck, "comment", Works, 0, grpNone},
	{CtxTCPCheck, "connect", Works, 0, grpNone},
	{CtxTCPCheck, "send", Works, 0, grpNone},
	{CtxTCPCheck, "send-binary", Works, 0, grpNone},
	{CtxTCPCheck, "expect", Works, 0, grpNone},
	{CtxTCPCheck, "send-lf", Works, 0, grpNone},
	{CtxTCPCheck, "send-binary-lf", Works, 0, grpNone},
	{CtxTCPCheck, "set-var-fmt(*)", Works, 0, grpNone},
	{CtxTCPCheck, "set-var(*)", Works, 0, grpNone},
	{CtxTCPCheck, "unset-var(*)", Works, 0, grpNone},

	// CtxLogTarget
	// an IP address (UDP syslog) or a UNIX datagram socket path
	{CtxLogTarget, "udp", Works, 0, grpNone},
	{CtxLogTarget, "unix", Works, 0, grpNone},
	{CtxLogTarget, "stdout", Works, 0, grpNone},
	{CtxLogTarget, "stderr", Works, 0, grpNone},
	{CtxLogTarget, "ring@", Refused, 0, grpLogs},
	{CtxLogTarget, "fd@", Refused, 0, grpLogs},
	{CtxLogTarget, "abns@", Refused, 0, grpLogs},

	// CtxLogOption
	{CtxLogOption, "len", Works, 0, grpNone},
	{CtxLogOption, "format", Works, 0, grpNone},
	{CtxLogOption, "sample", Works, 0, grpNone},

	// CtxAddress
	// udp prefixes are for log targets; bind and server refuse them as haproxy does
	{CtxAddress, "ipv4@", Works, 0, grpNone},
	{CtxAddress, "ipv6@", Works, 0, grpNone},
	{CtxAddress, "ip@", Works, 0, grpNone},
	{CtxAddress, "tcp@", Works, 0, grpNone},
	{CtxAddress, "tcp4@", Works, 0, grpNone},
	{CtxAddress, "tcp6@", Works, 0, grpNone},
	{CtxAddress, "udp@", Works, 0, grpNone},
	{CtxAddress, "udp4@", Works, 0, grpNone},
	{CtxAddress, "udp6@", Works, 0, grpNone},
	{CtxAddress, "unix@", Works, 0, grpNone},
	{CtxAddress, "abns@", Works, 0, grpNone},
	{CtxAddress, "uxst@", Works, 0, grpNone},
	{CtxAddress, "uxdg@", Refused, 0, grpAddress},
	{CtxAddress, "fd@", Works, 0, grpNone},
	{CtxAddress, "sockpair@", Works, 0, grpNone},
	{CtxAddress, "quic4@", Refused, 0, grpAddress},
	{CtxAddress, "quic6@", Refused, 0, grpAddress},
	{CtxAddress, "/", Works, 0, grpNone},
}
