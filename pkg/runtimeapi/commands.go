package runtimeapi

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/health"
	"hapair/pkg/proxy"
	"hapair/pkg/stats"
)

// Level is a socket's access level (`level user|operator|admin`).
type Level int

// The levels, in increasing power.
const (
	LevelUser Level = iota
	LevelOperator
	LevelAdmin
)

// ParseLevel reads a `level` word; "" is haproxy's default, operator.
func ParseLevel(s string) (Level, error) {
	switch s {
	case "user":
		return LevelUser, nil
	case "", "operator":
		return LevelOperator, nil
	case "admin":
		return LevelAdmin, nil
	}
	return 0, fmt.Errorf("runtimeapi: unknown level %q", s)
}

// String is the level's keyword, as `show cli level` prints it.
func (l Level) String() string {
	switch l {
	case LevelUser:
		return "user"
	case LevelOperator:
		return "operator"
	}
	return "admin"
}

// Commands runs CLI commands against a running engine. It is safe for
// concurrent use by several connections.
type Commands struct {
	Source *stats.Source
	// Log sends a state-change message to a proxy's log targets; may be nil.
	Log func(px *haproxycfg.Proxy, level haproxycfg.Level, msg string)
	// Logger receives the daemon's copy of those messages.
	Logger zerolog.Logger

	ssl sslCertState // certificate files and their transaction
}

// UserWeight is the weight last set by `set weight`, else the configured
// one: haproxy's uweight, which draining does not change.
func (c *Commands) UserWeight(s *proxy.Server) int { return s.UserWeight() }

type command struct {
	words []string // the words that name it
	usage string   // as help lists it
	desc  string
	level Level
	run   func(c *Commands, args []string) string
	// runPayload, set for the commands that take a payload (a command
	// line ending with "<<", then lines up to an empty one), is run
	// instead of run; payload is nil when none was given.
	runPayload func(c *Commands, args []string, payload *string) string
	// experimental: only in a session's experimental mode, and only
	// listed by help there (haproxy's ACCESS_EXPERIMENTAL).
	experimental bool
}

// The commands gproxy implements, in the order `help` lists them
// (alphabetical, as haproxy 2.6).
var commands = []command{
	{words: []string{"abort", "ssl", "ca-file"}, usage: "abort ssl ca-file <cafile>", desc: "abort a transaction for a CA file", level: LevelAdmin, run: (*Commands).abortCAFile},
	{words: []string{"abort", "ssl", "cert"}, usage: "abort ssl cert <certfile>", desc: "abort a transaction for a certificate file", level: LevelAdmin, run: (*Commands).abortSSLCert},
	{words: []string{"abort", "ssl", "crl-file"}, usage: "abort ssl crl-file <crlfile>", desc: "abort a transaction for a CRL file", level: LevelAdmin, run: (*Commands).abortCRLFile},
	{words: []string{"add", "acl"}, usage: "add acl [@<ver>] <acl> <pattern>", desc: "add an acl entry", level: LevelUser, runPayload: (*Commands).addMap},
	{words: []string{"add", "map"}, usage: "add map [@<ver>] <map> <key> <val>", desc: "add a map entry (payload supported instead of key/val)", level: LevelUser, runPayload: (*Commands).addMap},
	{[]string{"add", "server"}, "add server <bk>/<srv>", "create a new server", LevelAdmin, (*Commands).addServer, nil, false},
	{words: []string{"add", "ssl", "crt-list"}, usage: "add ssl crt-list <list> <cert> [opts]*", desc: "add to crt-list file <list> a line <cert> or a payload", level: LevelAdmin, runPayload: (*Commands).addCrtList},
	{words: []string{"clear", "acl"}, usage: "clear acl [@<ver>] <acl>", desc: "clear the contents of this acl", level: LevelUser, run: (*Commands).clearMap},
	{words: []string{"clear", "map"}, usage: "clear map [@<ver>] <map>", desc: "clear the contents of this map", level: LevelUser, run: (*Commands).clearMap},
	{[]string{"clear", "table"}, "clear table <table> [<filter>]*", "remove an entry from a table (filter: data/key)", LevelUser, tableUnreached, nil, false},
	{words: []string{"commit", "acl"}, usage: "commit acl @<ver> <acl>", desc: "commit the ACL at this version", level: LevelUser, run: (*Commands).commitMap},
	{words: []string{"commit", "map"}, usage: "commit map @<ver> <map>", desc: "commit the map at this version", level: LevelUser, run: (*Commands).commitMap},
	{words: []string{"commit", "ssl", "ca-file"}, usage: "commit ssl ca-file <cafile>", desc: "commit a CA file", level: LevelAdmin, run: (*Commands).commitCAFile},
	{words: []string{"commit", "ssl", "cert"}, usage: "commit ssl cert <certfile>", desc: "commit a certificate file", level: LevelAdmin, run: (*Commands).commitSSLCert},
	{words: []string{"commit", "ssl", "crl-file"}, usage: "commit ssl crl-file <crlfile>", desc: "commit a CRL file", level: LevelAdmin, run: (*Commands).commitCRLFile},
	{words: []string{"del", "acl"}, usage: "del acl <acl> [<key>|#<ref>]", desc: "delete acl entries matching <key>", level: LevelUser, run: (*Commands).delMap},
	{words: []string{"del", "map"}, usage: "del map <map> [<key>|#<ref>]", desc: "delete map entries matching <key>", level: LevelUser, run: (*Commands).delMap},
	{[]string{"del", "server"}, "del server <bk>/<srv>", "remove a dynamically added server", LevelAdmin, (*Commands).delServer, nil, false},
	{words: []string{"del", "ssl", "ca-file"}, usage: "del ssl ca-file <cafile>", desc: "delete an unused CA file", level: LevelAdmin, run: (*Commands).delCAFile},
	{words: []string{"del", "ssl", "cert"}, usage: "del ssl cert <certfile>", desc: "delete an unused certificate file", level: LevelAdmin, run: (*Commands).delSSLCert},
	{words: []string{"del", "ssl", "crl-file"}, usage: "del ssl crl-file <crlfile>", desc: "delete an unused CRL file", level: LevelAdmin, run: (*Commands).delCRLFile},
	{words: []string{"del", "ssl", "crt-list"}, usage: "del ssl crt-list <list> <cert[:line]>", desc: "delete a line <cert> from crt-list file <list>", level: LevelAdmin, run: (*Commands).delCrtList},
	{[]string{"disable", "agent"}, "disable agent", "disable agent checks", LevelAdmin, (*Commands).disableAgent, nil, false},
	{[]string{"disable", "health"}, "disable health", "disable health checks", LevelAdmin, (*Commands).disableHealth, nil, false},
	{[]string{"disable", "server"}, "disable server (DEPRECATED)", "put a server in maintenance (use 'set server' instead)", LevelAdmin, (*Commands).disableServer, nil, false},
	{[]string{"enable", "agent"}, "enable agent", "enable agent checks", LevelAdmin, (*Commands).enableAgent, nil, false},
	{[]string{"enable", "health"}, "enable health", "enable health checks", LevelAdmin, (*Commands).enableHealth, nil, false},
	{[]string{"enable", "server"}, "enable server  (DEPRECATED)", "take a server out of maintenance (use 'set server' instead)", LevelAdmin, (*Commands).enableServer, nil, false},
	{words: []string{"get", "acl"}, usage: "get acl <acl> <value>", desc: "report the patterns matching a sample for an ACL", level: LevelUser, run: (*Commands).getMap},
	{words: []string{"get", "map"}, usage: "get map <acl> <value>", desc: "report the keys and values matching a sample for a map", level: LevelUser, run: (*Commands).getMap},
	{words: []string{"get", "var"}, usage: "get var <name>", desc: "retrieve contents of a process-wide variable", level: LevelOperator, run: (*Commands).getVar},
	{[]string{"get", "weight"}, "get weight <bk>/<srv>", "report a server's current weight", LevelUser, (*Commands).getWeight, nil, false},
	{words: []string{"new", "ssl", "ca-file"}, usage: "new ssl ca-file <cafile>", desc: "create a new CA file to be used in a crt-list", level: LevelAdmin, run: (*Commands).newCAFile},
	{words: []string{"new", "ssl", "cert"}, usage: "new ssl cert <certfile>", desc: "create a new certificate file to be used in a crt-list or a directory", level: LevelAdmin, run: (*Commands).newSSLCert},
	{words: []string{"new", "ssl", "crl-file"}, usage: "new ssl crlfile <crlfile>", desc: "create a new CRL file to be used in a crt-list", level: LevelAdmin, run: (*Commands).newCRLFile},
	{words: []string{"prepare", "acl"}, usage: "prepare acl <acl>", desc: "prepare a new version for atomic ACL replacement", level: LevelUser, run: (*Commands).prepareMap},
	{words: []string{"prepare", "map"}, usage: "prepare map <acl>", desc: "prepare a new version for atomic map replacement", level: LevelUser, run: (*Commands).prepareMap},
	{words: []string{"set", "map"}, usage: "set map <map> [<key>|#<ref>] <value>", desc: "modify a map entry", level: LevelUser, run: (*Commands).setMap},
	{[]string{"set", "maxconn", "server"}, "set maxconn server <bk>/<srv>", "change a server's maxconn setting", LevelAdmin, (*Commands).setMaxConnServer, nil, false},
	{[]string{"set", "server"}, "set server <bk>/<srv> [opts]", "change a server's state or weight", LevelAdmin, (*Commands).setServer, nil, false},
	{words: []string{"set", "ssl", "ca-file"}, usage: "set ssl ca-file <cafile> <payload>", desc: "replace a CA file", level: LevelAdmin, runPayload: (*Commands).setCAFile},
	{words: []string{"set", "ssl", "cert"}, usage: "set ssl cert <certfile> <payload>", desc: "replace a certificate file", level: LevelAdmin, runPayload: (*Commands).setSSLCert},
	{words: []string{"set", "ssl", "crl-file"}, usage: "set ssl crl-file <crlfile> <payload>", desc: "replace a CRL file", level: LevelAdmin, runPayload: (*Commands).setCRLFile},
	{words: []string{"set", "ssl", "ocsp-response"}, usage: "set ssl ocsp-response <resp|payload>", desc: "update a certificate's OCSP Response from a base64-encode DER", level: LevelUser, runPayload: (*Commands).setOCSPResponse},
	{[]string{"set", "table"}, "set table <table> key <k> [data.* <v>]*", "update or create a table entry's data", LevelUser, tableUnreached, nil, false},
	{words: []string{"set", "var"}, usage: "set var <name> [fmt|expr] {<fmt>|<expr>}", desc: "set variable from an expression or a format", level: LevelOperator, run: (*Commands).setVar, experimental: true},
	{[]string{"set", "weight"}, "set weight <bk>/<srv>  (DEPRECATED)", "change a server's weight (use 'set server' instead)", LevelAdmin, (*Commands).setWeight, nil, false},
	{words: []string{"show", "acl"}, usage: "show acl [@<ver>] <acl>]", desc: "report available acls or dump an acl's contents", level: LevelUser, run: (*Commands).showMap},
	{[]string{"show", "info"}, "show info", "report information about the running process", LevelUser, (*Commands).showInfo, nil, false},
	{words: []string{"show", "map"}, usage: "show map [@ver] [map]", desc: "report available maps or dump a map's contents", level: LevelUser, run: (*Commands).showMap},
	{[]string{"show", "servers", "state"}, "show servers state [<backend>]", "dump volatile server information (all or for a single backend)", LevelUser, (*Commands).showServersState, nil, false},
	{words: []string{"show", "ssl", "ca-file"}, usage: "show ssl ca-file [<cafile>[:<index>]]", desc: "display the SSL CA files used in memory, or the details of a <cafile>, or a single certificate of index <index> of a CA file <cafile>", level: LevelOperator, run: (*Commands).showCAFile},
	{words: []string{"show", "ssl", "cert"}, usage: "show ssl cert [<certfile>]", desc: "display the SSL certificates used in memory, or the details of a file", level: LevelOperator, run: (*Commands).showSSLCert},
	{words: []string{"show", "ssl", "crl-file"}, usage: "show ssl crl-file [<crlfile[:<index>>]]", desc: "display the SSL CRL files used in memory, or the details of a <crlfile>, or a single CRL of index <index> of CRL file <crlfile>", level: LevelOperator, run: (*Commands).showCRLFile},
	{words: []string{"show", "ssl", "crt-list"}, usage: "show ssl crt-list [-n] [<list>]", desc: "show the list of crt-lists or the content of a crt-list file <list>", level: LevelAdmin, run: (*Commands).showCrtList},
	{words: []string{"show", "ssl", "ocsp-response"}, usage: "show ssl ocsp-response [id]", desc: "display the IDs of the OCSP responses used in memory, or the details of a single OCSP response", level: LevelUser, run: (*Commands).showOCSPResponse},
	{[]string{"show", "stat"}, "show stat", "report counters for each proxy and server", LevelUser, (*Commands).showStat, nil, false},
	{[]string{"show", "table"}, "show table <table> [<filter>]*", "report table usage stats or dump this table's contents (filter: data/key)", LevelUser, tableUnreached, nil, false},
	{[]string{"show", "version"}, "show version", "show version of the current process", LevelUser, func(*Commands, []string) string { return stats.Version + "\n" }, nil, false},
}

// session-level commands, listed last by help as haproxy does.
var sessionHelp = [][2]string{
	{"set timeout cli <delay>", "change this session's idle timeout"},
	{"user", "lower this session's level to user"},
	{"help [<command>]", "list matching or all commands"},
	{"prompt", "toggle interactive mode with prompt"},
	{"quit", "disconnect"},
}

// Help is the command list for a level.
func Help(level Level) string { return help(level, false) }

// help is the command list for a level, with the experimental commands in
// experimental mode.
func help(level Level, experimental bool) string {
	var b strings.Builder
	b.WriteString("The following commands are valid at this level:\n")
	for _, c := range commands {
		if c.level <= level && (!c.experimental || experimental) {
			fmt.Fprintf(&b, "  %-39s : %s\n", c.usage, c.desc)
		}
	}
	for _, h := range sessionHelp {
		fmt.Fprintf(&b, "  %-39s : %s\n", h[0], h[1])
	}
	return b.String()
}

// Exec runs one command (its words) at a level and returns its output,
// without the empty line that ends every answer on the socket.
func (c *Commands) Exec(args []string, level Level) string {
	return c.ExecPayload(args, nil, level)
}

// ExecPayload is Exec for a command given a payload (nil: none).
func (c *Commands) ExecPayload(args []string, payload *string, level Level) string {
	return c.ExecMode(args, payload, level, false)
}

// ExecMode is ExecPayload in a session whose experimental mode is on or
// off (`experimental-mode on`).
func (c *Commands) ExecMode(args []string, payload *string, level Level, experimental bool) string {
	Help := func(level Level) string { return help(level, experimental) }
	if len(args) == 0 {
		return "Unknown command. Please enter one of the following commands only:\n" + strings.TrimPrefix(Help(level), "The following commands are valid at this level:\n")
	}
	if args[0] == "help" {
		return Help(level)
	}
	if out, ok := c.tableCommand(args, level); ok {
		return out
	}
	for _, cmd := range commands {
		if !hasPrefix(args, cmd.words) {
			continue
		}
		if cmd.experimental && !experimental {
			return "This command is restricted to experimental mode only.\n"
		}
		if cmd.level > level {
			if msg, ok := deniedMsg[strings.Join(cmd.words, " ")]; ok {
				return msg
			}
			return "Permission denied\n"
		}
		if cmd.runPayload != nil {
			return cmd.runPayload(c, args, payload)
		}
		return cmd.run(c, args)
	}
	return "Unknown command. Please enter one of the following commands only:\n" + strings.TrimPrefix(Help(level), "The following commands are valid at this level:\n")
}

// deniedMsg are the answers haproxy 2.6 gives instead of "Permission
// denied" (its show ssl commands overwrite that message with another).
var deniedMsg = map[string]string{
	"show ssl cert":     "Can't allocate memory!\n",
	"show ssl ca-file":  "Can't allocate memory!\n",
	"show ssl crl-file": "Can't allocate memory!\n",
}

func hasPrefix(args, words []string) bool {
	if len(args) < len(words) {
		return false
	}
	for i, w := range words {
		if args[i] != w {
			return false
		}
	}
	return true
}

// lookup finds "backend/server" as haproxy's CLI reports errors.
func (c *Commands) lookup(arg string) (*proxy.Server, string) {
	be, sv, ok := strings.Cut(arg, "/")
	if !ok {
		return nil, "Require 'backend/server'.\n"
	}
	b := c.Source.Engine.Backend(be)
	if b == nil {
		return nil, "No such backend.\n"
	}
	s := b.Server(sv)
	if s == nil {
		return nil, "No such server.\n"
	}
	return s, ""
}

func arg(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

func (c *Commands) disableServer(args []string) string {
	s, msg := c.lookup(arg(args, 2))
	if s == nil {
		return msg
	}
	c.setAdmin(s, proxy.AdminMaint)
	return ""
}

func (c *Commands) enableServer(args []string) string {
	s, msg := c.lookup(arg(args, 2))
	if s == nil {
		return msg
	}
	c.setAdmin(s, proxy.AdminReady)
	return ""
}

// setAdmin changes the administrative state and logs the change with
// haproxy 2.6's words and levels (testdata/haproxy26_syslog_admin.txt).
//
// As haproxy's srv_update_status, a server leaving maintenance with
// neither check, agent nor tracking comes back up even if `set server
// health down` had stopped it.
func (c *Commands) setAdmin(s *proxy.Server, a proxy.AdminState) {
	defer c.Source.Checks.MaintChange(s, a)()
	cfg := s.Config()
	if a != proxy.AdminMaint && s.AdminState() == proxy.AdminMaint && !s.Up() &&
		!cfg.Check && !cfg.Agent.Enabled && cfg.TrackServer == "" {
		s.SetUp(true)
	}
	health.SetAdmin(s, a, c.log)
	c.Source.Checks.MaintFollow(s)
}

// Syslog levels of the state-change messages.
const (
	levelEmerg  haproxycfg.Level = 0
	levelAlert  haproxycfg.Level = 1
	levelNotice haproxycfg.Level = 5
)

// log sends a message to the proxy's log targets and, as haproxy prints it
// on stderr, to the daemon log: [WARNING], or [ALERT] for no server left
// (with the backend name quoted, as haproxy does there).
func (c *Commands) log(px *haproxycfg.Proxy, level haproxycfg.Level, msg string) {
	if c.Log != nil {
		c.Log(px, level, msg)
	}
	if level == levelEmerg {
		c.Logger.Error().Msgf("backend '%s' has no server available!", px.Name)
		return
	}
	c.Logger.Warn().Msg(msg)
}

func (c *Commands) getWeight(args []string) string {
	s, msg := c.lookup(arg(args, 2))
	if s == nil {
		return msg
	}
	return fmt.Sprintf("%d (initial %d)\n", c.UserWeight(s), s.ConfigWeight())
}

// parseWeight reads "N" or "N%" (of the initial weight) as haproxy does.
func parseWeight(s *proxy.Server, w string) (int, string) {
	if w == "" {
		return 0, "Require <weight> or <weight%>.\n"
	}
	pct := strings.HasSuffix(w, "%")
	n, err := strconv.Atoi(strings.TrimSuffix(w, "%"))
	if err != nil || n < 0 {
		return 0, "Empty weight string empty or preceded by garbage"
	}
	if pct {
		if n > 100 {
			return 0, "Relative weight must be positive.\n"
		}
		return (s.ConfigWeight()*n + 50) / 100, ""
	}
	if n > 256 {
		return 0, "Absolute weight can only be between 0 and 256 inclusive.\n"
	}
	return n, ""
}

func (c *Commands) applyWeight(s *proxy.Server, w string) string {
	n, msg := parseWeight(s, w)
	if msg != "" {
		return msg
	}
	if err := s.SetWeight(n); err != nil {
		return err.Error() + "\n"
	}
	c.Source.Checks.WeightSet(s) // "remains in forced drain mode"
	return ""
}

func (c *Commands) setWeight(args []string) string {
	s, msg := c.lookup(arg(args, 2))
	if s == nil {
		return msg
	}
	return c.applyWeight(s, arg(args, 3))
}

// setServerSSL is `set server <b>/<s> ssl on|off`: a server whose TLS
// settings were prepared (its own `ssl`, or the default-server's) starts
// or stops using TLS for its new connections, with haproxy 2.6's answers.
func setServerSSL(s *proxy.Server, v string) string {
	if s.Dynamic() {
		return "'set server <srv> ssl' not supported on dynamic servers\n"
	}
	if s.Config().TLS == nil {
		return "'set server <srv> ssl' cannot be set.  default-server should define ssl settings\n"
	}
	switch v {
	case "on":
		s.SetTLS(true)
	case "off":
		s.SetTLS(false)
	default:
		return "'set server <srv> ssl' expects 'on' or 'off'.\n"
	}
	return "server ssl setting updated.\n"
}

func (c *Commands) setServer(args []string) string {
	s, msg := c.lookup(arg(args, 2))
	if s == nil {
		return msg
	}
	switch arg(args, 3) {
	case "state":
		switch arg(args, 4) {
		case "ready":
			c.setAdmin(s, proxy.AdminReady)
		case "drain":
			c.setAdmin(s, proxy.AdminDrain)
		case "maint":
			c.setAdmin(s, proxy.AdminMaint)
		default:
			return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"
		}
		return ""
	case "weight":
		return c.applyWeight(s, arg(args, 4))
	case "addr":
		return c.setServerAddr(s, args)
	case "fqdn":
		return c.setServerFQDN(s, args)
	case "health":
		return c.setServerHealth(s, args)
	case "agent":
		if !c.Source.Checks.AgentEnabled(s) {
			return "agent checks are not enabled on this server.\n"
		}
		switch arg(args, 4) {
		case "up":
			c.Source.Checks.ForceAgent(s, true)
		case "down":
			c.Source.Checks.ForceAgent(s, false)
		default:
			return "'set server <srv> agent' expects 'up' or 'down'.\n"
		}
		return ""
	case "agent-send":
		if !c.Source.Checks.AgentEnabled(s) {
			return "agent checks are not enabled on this server.\n"
		}
		c.Source.Checks.SetAgentSend(s, arg(args, 4))
		return ""
	case "agent-addr", "agent-port":
		return c.setServerAgentAddr(s, args)
	case "check-port":
		return c.setServerCheckPort(s, args)
	case "check-addr":
		return c.setServerCheckAddr(s, args)
	case "ssl":
		return setServerSSL(s, arg(args, 4))
	}
	return "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n"
}

// showStat is `show stat [{<iid>|<proxy>} <type> <sid>]`: type is a mask
// (1 frontends, 2 backends, 4 servers), -1 meaning all, as hatop's filters
// use it.
// unimplementedStatArgs names the words of `show stat` and `show info`
// that change haproxy's output and gproxy does not implement (typed and
// JSON formats, field descriptions, float values, the up/no-maint filters
// and resolvers domain): gproxy refuses them rather than answer in
// another format.
func unimplementedStatArgs(cmd string, args []string, words ...string) string {
	for _, a := range args {
		for _, w := range words {
			if a == w {
				return fmt.Sprintf("gproxy does not implement '%s %s' (it prints haproxy's CSV/text form only).\n", cmd, a)
			}
		}
	}
	return ""
}

// statFormat is the output format the words of `show stat` or `show info`
// ask for: "typed", "json" or "" (CSV or text), the last word winning as
// in haproxy.
func statFormat(words []string) string {
	format := ""
	for _, w := range words {
		if w == "typed" || w == "json" {
			format = w
		}
	}
	return format
}

func (c *Commands) showStat(args []string) string {
	// haproxy reads an optional <iid> <type> <sid> filter, then format
	// words, the last of typed/json winning.
	words := args[min(len(args), 2):]
	if len(args) >= 5 {
		words = args[5:]
	}
	if msg := unimplementedStatArgs("show stat", words, "desc"); msg != "" {
		return msg
	}
	if msg := unimplementedStatArgs("show stat", args[min(len(args), 2):min(len(args), 3)], "domain"); msg != "" {
		return msg
	}
	format := statFormat(words)
	var b strings.Builder
	f := stats.Filter{IID: -1, Types: -1, SID: -1}
	if len(args) >= 5 {
		if n, err := strconv.Atoi(args[2]); err == nil {
			f.IID = n
		} else if px := c.Source.Config.Proxy(args[2]); px != nil {
			f.IID = px.ID
		} else {
			return "No such proxy.\n"
		}
		t, err1 := strconv.Atoi(args[3])
		sid, err2 := strconv.Atoi(args[4])
		if err1 != nil || err2 != nil {
			return "Require <iid> <type> <sid>.\n"
		}
		f.Types, f.SID = t, sid
	}
	for _, w := range words {
		f.HideDown = f.HideDown || w == "up"
		f.HideMaint = f.HideMaint || w == "no-maint"
	}
	switch format {
	case "typed":
		_ = c.Source.WriteTypedFiltered(&b, true, f)
	case "json":
		_ = c.Source.WriteJSONFiltered(&b, true, f)
	default:
		_ = c.Source.WriteCSVFiltered(&b, true, f)
	}
	return b.String()
}

func (c *Commands) showServersState(args []string) string {
	var b strings.Builder
	name := arg(args, 3)
	if name != "" && c.Source.Engine.Backend(name) == nil {
		return "Can't find backend.\n"
	}
	b.WriteString("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n")
	now := time.Now()
	if c.Source.Now != nil {
		now = c.Source.Now()
	}
	for _, be := range c.Source.Engine.Backends() {
		if name != "" && be.Name() != name {
			continue
		}
		px := be.Proxy()
		for _, s := range be.Servers() {
			cfg := s.Config()
			st := s.Stats()
			op := 2 // SRV_ST_RUNNING
			if st.Status == proxy.StatusMaint || st.Status == proxy.StatusDown {
				op = 0 // SRV_ST_STOPPED
			} else if s.Stopping() {
				op = 3 // SRV_ST_STOPPING
			}
			admin := 0
			if s.AdminState() == proxy.AdminMaint {
				admin |= 0x01 // SRV_ADMF_FMAINT
			}
			if cfg.Disabled && (s.AdminState() == proxy.AdminMaint || s.Dynamic()) {
				// haproxy keeps a dynamic server's `disabled` flag
				// after `enable server`.
				admin |= 0x04 // SRV_ADMF_CMAINT
			}
			if s.InheritedMaint() != nil {
				admin |= 0x02 // SRV_ADMF_IMAINT
			}
			if s.Unresolved() {
				admin |= 0x20 // SRV_ADMF_RMAINT: no address at start
			}
			if s.AdminState() == proxy.AdminDrain {
				admin |= 0x08 // SRV_ADMF_FDRAIN
			}
			fqdn, srvrecord := cfg.DNS.Hostname, ""
			if strings.HasPrefix(fqdn, "_") {
				// A server filled from SRV records: no name of its
				// own until a record gives it one.
				fqdn, srvrecord = "", cfg.DNS.Hostname
			}
			if name, set := s.FQDN(); set {
				fqdn = name
				admin |= 0x40 // SRV_ADMF_HMAINT: the name was set at run time
			}
			chkStatus, chkResult, chkHealth, chkState := 1, 0, max(cfg.Rise, 1), 0
			if s.MaintSeen() {
				chkHealth = 0 // haproxy zeroes it in maintenance; only a check restores it
			}
			if cfg.Disabled {
				chkState = 0x08 // CHK_ST_PAUSED, set by `disabled` (static servers too)
			}
			if snap, ok := c.Source.Checks.Snapshot(s); ok {
				chkStatus = snap.Last.Code.Num()
				chkHealth = snap.State.Health
				chkState = 0x06 // CHK_ST_CONFIGURED | CHK_ST_ENABLED
				if snap.Disabled {
					chkState = 0x02
				}
				if s.AdminState() == proxy.AdminMaint && !snap.Disabled {
					// haproxy pauses an enabled check when the server
					// enters maintenance (a fresh dynamic server's
					// check is not enabled: 2).
					chkState |= 0x08 // CHK_ST_PAUSED
				}
				if snap.InProgress {
					chkState |= 0x01 // CHK_ST_INPROGRESS
				}
				switch {
				case snap.InProgress:
					// haproxy forgets the result when a check starts
					// (set_server_check_status with HCHK_STATUS_START).
					chkResult = 0
				case snap.Last.Code == health.CodeNone:
				case snap.Last.Code.OK():
					chkResult = 3 // CHK_RES_PASSED
				default:
					chkResult = 2 // CHK_RES_FAILED
				}
			}
			changed := st.LastChange
			if changed.IsZero() {
				changed = c.Source.Start
			}
			port := s.Port()
			agState, agAddr, agPort := 0, "-", 0
			if ag, ok := c.Source.Checks.Agent(s); ok {
				agState = 0x12 // CHK_ST_CONFIGURED | CHK_ST_AGENT
				if ag.Enabled {
					agState |= 0x04 // CHK_ST_ENABLED
				}
				agPort = ag.Port
				if ag.AddrSet {
					agAddr = ag.Addr
				}
			}
			forcedID := 0
			if s.Dynamic() && cfg.ID != 0 {
				forcedID = 1 // `add server ... id N`
			}
			fmt.Fprintf(&b, "%d %s %d %s %s %d %d %d %d %d %d %d %d %d %d 0 %d %s %d %s %d %d %s %s %d\n",
				px.ID, px.Name, s.ID(), s.Name(), dash(s.Host()), op, admin, c.UserWeight(s), s.ConfigWeight(),
				int64(now.Sub(changed)/time.Second), chkStatus, chkResult, chkHealth, chkState, agState, forcedID,
				dash(fqdn), port, dash(srvrecord), s.UseSSL(), c.Source.Checks.CheckPort(s), dash(c.Source.Checks.CheckAddr(s)), agAddr, agPort)
		}
	}
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (c *Commands) showInfo(args []string) string {
	if msg := unimplementedStatArgs("show info", args[2:], "desc", "float"); msg != "" {
		return msg
	}
	format := statFormat(args[2:])
	src := c.Source
	now := time.Now()
	if src.Now != nil {
		now = src.Now()
	}
	up := int64(now.Sub(src.Start) / time.Second)
	var lim syscall.Rlimit
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	host, _ := os.Hostname()
	var cum, bytesOut int64
	listeners := 0
	for _, f := range src.Engine.Frontends() {
		st := f.Stats()
		cum += st.TotalSessions
		bytesOut += st.BytesOut
		listeners += len(f.Listeners())
	}
	var maxRate, rate int64
	for _, f := range src.Engine.Frontends() {
		st := f.Stats()
		rate += st.SessionRate
		maxRate = max(maxRate, st.MaxSessionRate)
	}
	nbthread := max(src.Config.Global.NbThread, 1)
	sslCur, sslCum := proxy.SSLConns()
	ssl := proxy.ReadSSLRates(now)
	fields := []struct{ k, v string }{
		{"Name", "HAProxy"}, {"Version", stats.Version}, {"Release_date", stats.ReleaseDate},
		{"Nbthread", itoa(nbthread)}, {"Nbproc", "1"}, {"Process_num", "1"}, {"Pid", itoa(src.PID)},
		{"Uptime", fmt.Sprintf("%dd %dh%02dm%02ds", up/86400, up%86400/3600, up%3600/60, up%60)},
		{"Uptime_sec", itoa(up)}, {"Memmax_MB", "0"}, {"PoolAlloc_MB", "0"}, {"PoolUsed_MB", "0"}, {"PoolFailed", "0"},
		{"Ulimit-n", itoa(lim.Cur)}, {"Maxsock", itoa(lim.Cur)},
		{"Maxconn", itoa(src.Engine.MaxConn())}, {"Hard_maxconn", itoa(src.Engine.MaxConn())},
		{"CurrConns", itoa(src.Engine.ActiveConns())}, {"CumConns", itoa(cum)}, {"CumReq", itoa(src.Engine.CumRequests())},
		{"MaxSslConns", "0"}, {"CurrSslConns", itoa(int(sslCur))}, {"CumSslConns", itoa(int(sslCum))},
		{"Maxpipes", "0"}, {"PipesUsed", "0"}, {"PipesFree", "0"},
		{"ConnRate", itoa(rate)}, {"ConnRateLimit", "0"}, {"MaxConnRate", itoa(maxRate)},
		{"SessRate", itoa(rate)}, {"SessRateLimit", "0"}, {"MaxSessRate", itoa(maxRate)},
		{"SslRate", itoa(int(ssl.Sess))}, {"SslRateLimit", "0"}, {"MaxSslRate", itoa(int(ssl.SessMax))},
		{"SslFrontendKeyRate", itoa(int(ssl.FeKeys))}, {"SslFrontendMaxKeyRate", itoa(int(ssl.FeKeysMax))},
		{"SslFrontendSessionReuse_pct", itoa(int(ssl.ReusePct))},
		{"SslBackendKeyRate", itoa(int(ssl.BeKeys))}, {"SslBackendMaxKeyRate", itoa(int(ssl.BeKeysMax))},
		{"SslCacheLookups", "0"}, {"SslCacheMisses", "0"},
		{"CompressBpsIn", "0"}, {"CompressBpsOut", "0"}, {"CompressBpsRateLim", "0"},
		{"Tasks", itoa(src.Engine.ActiveConns())}, {"Run_queue", "0"}, {"Idle_pct", "100"}, {"node", host},
		{"Stopping", "0"}, {"Jobs", itoa(src.Engine.ActiveConns() + listeners)}, {"Unstoppable Jobs", "0"},
		{"Listeners", itoa(listeners)}, {"ActivePeers", "0"}, {"ConnectedPeers", "0"}, {"DroppedLogs", "0"},
		{"BusyPolling", "0"}, {"FailedResolutions", "0"}, {"TotalBytesOut", itoa(bytesOut)},
		{"TotalSplicdedBytesOut", "0"}, {"BytesOutRate", "0"}, {"DebugCommandsIssued", "0"}, {"CumRecvLogs", "0"},
		{"Build info", stats.Version}, {"Memmax_bytes", "0"}, {"PoolAlloc_bytes", "0"}, {"PoolUsed_bytes", "0"},
		{"Start_time_sec", itoa(src.Start.Unix())}, {"Tainted", "0"},
	}
	var b strings.Builder
	if format == "json" {
		b.WriteByte('[')
	}
	for i, f := range fields {
		m := infoTypes[f.k]
		switch format {
		case "typed":
			fmt.Fprintf(&b, "%d.%s.1:%s:%s\n", m.pos, f.k, m.tags, f.v)
		case "json":
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"field":{"pos":%d,"name":"%s"},"processNum":1,`, m.pos, f.k)
			tags, typ, _ := strings.Cut(m.tags, ":")
			stats.JSONTagsValue(&b, tags, typ, f.v)
			b.WriteByte('}')
		default:
			b.WriteString(f.k + ": " + f.v + "\n")
		}
	}
	if format == "json" {
		b.WriteString("]\n")
	}
	return b.String()
}

func itoa[T ~int | ~int64 | ~uint64](v T) string { return fmt.Sprint(v) }
