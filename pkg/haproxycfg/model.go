package haproxycfg

import (
	"fmt"
	"hapair/pkg/tlsconf"
	"time"

	"hapair/pkg/sample"
	"hapair/pkg/sticktable"
	"hapair/pkg/syslogmsg"
)

// This file is the validated model that parsing produces and the runtime
// consumes. The runtime never sees raw tokens: every inherited value from a
// `defaults` section is already resolved into each proxy here.

// Pos is where a directive was read, for diagnostics ("haproxy.cfg:12").
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Config is a whole haproxy configuration, possibly read from several files.
type Config struct {
	// tls is the global TLS defaults, read again for dynamic servers.
	tls     tlsGlobal
	Global  Global
	Proxies []*Proxy // listen, frontend and backend sections, in file order
	Files   []string // the files read, in order
	// Userlists are the `userlist` sections, in file order
	// (model_rules.go).
	Userlists []*Userlist
	// Resolvers are the `resolvers` sections, in file order
	// (model_resolvers.go).
	Resolvers []*Resolvers `json:",omitempty"`
	// Peers are the `peers` sections whose tables this process syncs, in
	// file order (model_peers.go): not the disabled ones, nor those
	// without a peer named as this process.
	Peers []*Peers `json:",omitempty"`
	// PeersTables are the `table` lines of the peers sections, named
	// SECTION/NAME, in file order; they exist whether their section syncs
	// or not.
	PeersTables []*sticktable.Config `json:",omitempty"`
	// LocalPeer is this process's peer name (-L, `localpeer`, or the
	// host name).
	LocalPeer string `json:"-"`
	// CrtLists are the crt-list files and `crt` directories of the bind
	// lines, each once (the stats socket's `show/del ssl crt-list`).
	CrtLists []*tlsconf.CrtList `json:"-"`
	// CAFiles are the ca-file, ca-verify-file and crl-file files of the
	// bind and server lines, each once (`show/set/commit ssl ca-file`).
	CAFiles *tlsconf.CAFiles `json:"-"`
	// OCSP are the OCSP responses of the binds' certificates by
	// certificate ID (`show/set ssl ocsp-response`); nil when none has a
	// FILE.ocsp.
	OCSP *tlsconf.OCSPResponses `json:"-"`
	// PatRefs are the pattern references of the ACLs and maps, which the
	// stats socket and the set-map/add-acl actions change at run time.
	PatRefs *sample.PatRefs `json:"-"`
}

// Proxy returns the proxy with the given name and any of the kinds given
// (all kinds when none), or nil.
func (c *Config) Proxy(name string, kinds ...Kind) *Proxy {
	for _, p := range c.Proxies {
		if p.Name != name {
			continue
		}
		if len(kinds) == 0 {
			return p
		}
		for _, k := range kinds {
			if p.Kind == k {
				return p
			}
		}
	}
	return nil
}

// Global is the `global` section.
type Global struct {
	// ServerStateFile and ServerStateBase are `server-state-file` and
	// `server-state-base` (servers' state kept across reloads).
	ServerStateFile, ServerStateBase string `json:",omitempty"`

	// Env are the setenv, presetenv and unsetenv lines, in order: the
	// daemon applies them to its environment once loaded.
	Env []EnvOp `json:",omitempty"`
	// Vars are the process-wide variables `set-var` and `set-var-fmt`
	// set, by name ("proc.x").
	Vars map[string]sample.Value `json:",omitempty"`

	Daemon      bool
	MaxConn     int // 0 = not set
	User, Group string
	UID, GID    int // -1 = not set
	Chroot      string
	PIDFile     string
	NbThread    int
	Quiet       bool
	Logs        []LogTarget
	// LogSendHostname is `log-send-hostname [NAME]`: syslog headers
	// carry LogHostname, or the machine's host name when it is "".
	LogSendHostname bool   `json:",omitempty"`
	LogHostname     string `json:",omitempty"`
	// LogTag is `log-tag`: the syslog tag instead of the program name.
	LogTag       string `json:",omitempty"`
	StatsSockets []StatsSocket
	// SSLLoadExtraDelExt is `ssl-load-extra-del-ext`: a certificate's
	// side files (.key, .ocsp...) are named without its ".crt".
	SSLLoadExtraDelExt bool `json:",omitempty"`
	// CrtBase is `crt-base`: where relative certificate paths are.
	CrtBase      string        `json:",omitempty"`
	StatsTimeout time.Duration // 0 = not set (haproxy's default is 10s)
	// PoolHighFDRatio and PoolLowFDRatio are `tune.pool-high-fd-ratio`
	// and `tune.pool-low-fd-ratio` (percent of the process's descriptors,
	// 0..100; nil: haproxy's 25 and 20): above the high one no server
	// connection is kept idle, above the low one only a server's first.
	PoolHighFDRatio *int `json:",omitempty"`
	PoolLowFDRatio  *int `json:",omitempty"`
	// HardStopAfter is `hard-stop-after`: how long a soft stop may last
	// before the remaining sessions are closed; 0 = no limit.
	HardStopAfter time.Duration
	// MaxSpreadChecks is `max-spread-checks`: the longest delay over which
	// the first checks are spread at start; 0 = the shortest check interval.
	MaxSpreadChecks time.Duration `json:",omitempty"`
	// SpreadChecks is `spread-checks`: each check interval is drawn within
	// ± this percentage (0..50) of its nominal value.
	SpreadChecks int `json:",omitempty"`
	// ZeroWarning is `zero-warning`: any warning makes the configuration
	// fail (-c exits 1, the start is refused), as haproxy's -dW.
	ZeroWarning bool
	// MasterWorker is `master-worker`, the same as the -W flag.
	MasterWorker bool
	// ExternalCheck is `external-check`: `option external-check` may run
	// programs.
	ExternalCheck bool
	// InsecureForkWanted is `insecure-fork-wanted`: the process may fork
	// (external checks).
	InsecureForkWanted bool
	// H2 are the tune.h2.* settings; 0 = haproxy's default.
	H2 H2Tuning
}

// H2Tuning are the HTTP/2 settings a frontend advertises (tune.h2.*).
type H2Tuning struct {
	HeaderTableSize      int // SETTINGS_HEADER_TABLE_SIZE, default 4096
	InitialWindowSize    int // SETTINGS_INITIAL_WINDOW_SIZE, default 65535
	MaxConcurrentStreams int // SETTINGS_MAX_CONCURRENT_STREAMS, default 100
	MaxFrameSize         int // SETTINGS_MAX_FRAME_SIZE, default 16384
	// NoExtendedConnect is `h2-workaround-bogus-websocket-clients`: no
	// SETTINGS_ENABLE_CONNECT_PROTOCOL, so clients do not try WebSocket
	// over HTTP/2 (RFC 8441).
	NoExtendedConnect bool
}

// Facility is a syslog facility number (kern=0 ... local7=23).
type Facility = syslogmsg.Facility

// Level is a syslog severity (emerg=0 ... debug=7).
type Level = syslogmsg.Level

// LogTarget is one `log` line: where to send and which facility/levels.
type LogTarget struct {
	Network  string // "udp", "unixgram", or "fd" for `log stdout|stderr`
	Address  string // "192.168.1.34:514", "/dev/log", or "1" / "2" (stdout / stderr)
	Facility Facility
	MaxLevel Level  // messages above this severity number are dropped; 7 when not given
	MinLevel Level  // messages are raised to at least this severity number; 0 when not given
	MaxLen   int    // `len N`: longest message in bytes; 0 when not given (haproxy's default is 1024)
	Format   string // `format F`: "rfc3164", "rfc5424", "short", "raw", ...; "" when not given (rfc3164)
	// Sample is `sample RANGES:SIZE`: only the messages whose position in
	// each period of Size falls in one of the ranges are sent; nil sends
	// all (model_logs.go).
	Sample *LogSample
	Pos    Pos // where the `log` line was read (for `log global`, the line in global)
}

// StatsSocket is `stats socket PATH [mode M] [level L] [user U] [group G]
// [uid N] [gid N]` in global.
type StatsSocket struct {
	Path        string // a UNIX socket file; "" when Sock or TCP is set
	Sock        SockAddr
	TCP         *Bind  // an IP address and port (ipv4@, ipv6@)
	Mode        uint32 // file mode, 0 = default
	Level       string // "user", "operator" or "admin"; default "operator"
	User, Group string // owner names, resolved by the runtime; "" = not set
	UID, GID    int    // numeric owner; -1 = not set
	Pos         Pos
}

// Kind is the section a proxy was declared in.
type Kind int

const (
	KindListen Kind = iota
	KindFrontend
	KindBackend
)

func (k Kind) String() string {
	switch k {
	case KindListen:
		return "listen"
	case KindFrontend:
		return "frontend"
	case KindBackend:
		return "backend"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// MarshalText writes the section keyword, so JSON dumps read "listen".
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// HasFrontend reports whether the proxy accepts connections.
func (k Kind) HasFrontend() bool { return k == KindListen || k == KindFrontend }

// HasBackend reports whether the proxy holds servers.
func (k Kind) HasBackend() bool { return k == KindListen || k == KindBackend }

// Mode is `mode tcp|http`.
type Mode int

const (
	ModeTCP Mode = iota
	ModeHTTP
)

func (m Mode) String() string {
	if m == ModeHTTP {
		return "http"
	}
	return "tcp"
}

// MarshalText writes the `mode` keyword, so JSON dumps read "http".
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Algorithm is a `balance` keyword.
type Algorithm string

const (
	RoundRobin Algorithm = "roundrobin"
	StaticRR   Algorithm = "static-rr"
	LeastConn  Algorithm = "leastconn"
	Source     Algorithm = "source"
	First      Algorithm = "first"
	URI        Algorithm = "uri"
	URLParam   Algorithm = "url_param"
	Hdr        Algorithm = "hdr"
	Random     Algorithm = "random"
	// HashExpr is `balance hash EXPR`; RDPCookie is `balance
	// rdp-cookie[(NAME)]`, the hash of req.rdp_cookie(NAME).
	HashExpr  Algorithm = "hash"
	RDPCookie Algorithm = "rdp-cookie"
)

// Hashed reports whether the algorithm hashes a key (haproxy's "hash"
// kind, whose `hash-type` applies and whose retries stay on the server).
func (a Algorithm) Hashed() bool {
	return a == Source || a == URI || a == URLParam || a == Hdr
}

// BalanceArgs are the arguments of a `balance` line.
type BalanceArgs struct {
	// uri: whole (the query string too), path-only (no scheme and
	// authority), len N, depth N (0 = no limit).
	URIWhole, URIPathOnly bool
	URILen, URIDepth      int
	// url_param NAME, hdr(NAME) [use_domain_only]
	Param         string
	Header        string
	UseDomainOnly bool
	// random(N): the number of draws (default 2).
	Draws int
	// hash EXPR, rdp-cookie(NAME): the sample hashed (Expr is compiled
	// once the section is read; rdp-cookie's is req.rdp_cookie(NAME)).
	ExprText string       `json:",omitempty"`
	Expr     *sample.Expr `json:"-"`
}

// HashType is `hash-type map-based|consistent [FUNC [avalanche]]`.
type HashType struct {
	Consistent bool
	Func       string // sdbm (default), djb2, wt6, crc32
	Avalanche  bool   // also the default of `hash-type consistent` alone
}

// Timeouts hold the `timeout` values (and the pre-2.1 spellings clitimeout,
// srvtimeout, contimeout). Zero means not set.
type Timeouts struct {
	Client, Server, Connect, Queue, Check, Tunnel    time.Duration
	HTTPRequest, HTTPKeepAlive, ClientFin, ServerFin time.Duration
	Tarpit                                           time.Duration // 0: `timeout connect` applies
}

// EffectiveQueue is `timeout queue`, which defaults to `timeout connect`.
func (t Timeouts) EffectiveQueue() time.Duration {
	if t.Queue > 0 {
		return t.Queue
	}
	return t.Connect
}

// Options are the `option` flags the runtime acts on.
type Options struct {
	Redispatch bool
	// AllBackups is `option allbackups`: when no active server is up,
	// every usable backup server takes traffic, not only the first.
	AllBackups  bool `json:",omitempty"`
	Persist     bool // option persist: a cookie keeps sending to a down server
	TCPLog      bool
	HTTPLog     bool
	DontLogNull bool
	// DontLogNormal is `option dontlog-normal`: only streams with an
	// error, a retry, a redispatch or a 5xx status are logged.
	DontLogNormal bool `json:",omitempty"`
	// LogSeparateErrors is `option log-separate-errors`: those streams
	// are logged at err instead of info.
	LogSeparateErrors bool `json:",omitempty"`
	// LogASAP is `option logasap`: a mode tcp session is logged once its
	// server connection is up, a mode http request once its response
	// head is ready, with '+' before %B, %Ta, %Tt and %Tu.
	LogASAP bool `json:",omitempty"`
	// IgnoreProbes is `option http-ignore-probes`: a connection closed
	// or timed out before sending a byte is neither answered nor logged.
	IgnoreProbes bool `json:",omitempty"`
	// DisableH2Upgrade: an HTTP/1 connection starting with the HTTP/2
	// preface is not served as HTTP/2 (option disable-h2-upgrade).
	DisableH2Upgrade bool
	// LogHealthChecks is `option log-health-checks`: every check whose
	// result or health changes is logged, not only state changes.
	LogHealthChecks bool
	// AbortOnClose is `option abortonclose`: a client that closes while
	// its request waits for a server (queue, connect, response head)
	// aborts it.
	AbortOnClose bool `json:",omitempty"`
	// BufferRequest is `option http-buffer-request`: the request body is
	// waited for (whole, or a buffer full) before the rules run.
	BufferRequest bool `json:",omitempty"`
	// RestrictHdrNames is `option http-restrict-req-hdr-names`: "delete"
	// removes the request header fields whose name has a character other
	// than a letter, a digit or '-', "reject" answers 403 to such a
	// request, "" (preserve) keeps them. Checked after the proxy's
	// http-request rules.
	RestrictHdrNames string `json:",omitempty"`
	// PretendKeepAlive is `option http-pretend-keepalive`: the server is
	// not told the connection closes after the response (it still does).
	PretendKeepAlive bool `json:",omitempty"`
}

// Bind is one address the frontend listens on. Port ranges and comma lists
// on a bind line are expanded into one Bind each.
type Bind struct {
	Host string // "" for every address; IPv6 without brackets
	Port int
	// Family is the address family: forced by an ipv4@/ipv6@ prefix or
	// given by the host's form. A wildcard host ("", "*") with FamilyAny
	// listens on IPv4 only, as haproxy 2.6 does.
	Family      Family
	V4V6        bool     // `v4v6`: an IPv6 socket also accepts IPv4
	V6Only      bool     // `v6only`: an IPv6 socket accepts IPv6 only
	Transparent bool     // `transparent`: may bind a foreign address (IP_TRANSPARENT/IP_FREEBIND)
	TLS         *BindTLS // `ssl` and its settings (model_tls.go); nil: clear text
	// Proto is `proto NAME`: "h2" serves HTTP/2 only (prior knowledge on
	// clear text), "h1" HTTP/1 only, "none" raw TCP; "" lets ALPN choose.
	Proto string
	// AcceptProxy is `accept-proxy`: every connection starts with a PROXY
	// protocol header (v1 or v2) whose addresses replace the
	// connection's (package proxyproto).
	AcceptProxy bool `json:",omitempty"`
	// Name is `name NAME`: the listener's name, which so_name fetches.
	Name string `json:",omitempty"`
	// Sock is set for a UNIX socket, abstract name or inherited descriptor
	// (Host and Port are then unused).
	Sock SockAddr
	Pos  Pos
}

// Family is an address family of a bind line.
type Family int

const (
	FamilyAny Family = iota // not forced: IPv4 for a wildcard host
	FamilyIPv4
	FamilyIPv6
)

func (f Family) String() string {
	switch f {
	case FamilyIPv4:
		return "ipv4"
	case FamilyIPv6:
		return "ipv6"
	}
	return "any"
}

// MarshalText writes the family name, so JSON dumps read "ipv4".
func (f Family) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// Address is host:port for net.Listen.
func (b Bind) Address() string {
	if b.Sock.IsSet() {
		return b.Sock.String()
	}
	if b.Host == "" {
		return fmt.Sprintf(":%d", b.Port)
	}
	for i := 0; i < len(b.Host); i++ {
		if b.Host[i] == ':' {
			return fmt.Sprintf("[%s]:%d", b.Host, b.Port)
		}
	}
	return fmt.Sprintf("%s:%d", b.Host, b.Port)
}

// Server is a `server` line, with `default-server` values applied.
type Server struct {
	Name    string
	Host    string // IP or hostname; IPv6 without brackets
	Port    int    // 0: use the port the client connected to
	Weight  int    // default 1, 0..256
	MaxConn int    // 0 = unlimited
	// MinConn is `minconn`: with the backend's fullconn, the dynamic
	// limit grows from MinConn to MaxConn with the backend's load. After
	// parsing it is never above MaxConn; 0 means MaxConn (a static limit).
	MinConn int `json:",omitempty"`
	// IdlePool is `pool-max-conn`, `pool-low-conn` and
	// `pool-purge-delay` when any is set (nil: haproxy's defaults).
	IdlePool *IdlePool `json:",omitempty"`
	// maxReuse is `max-reuse` (maxReuseSet: given), which haproxy 2.6
	// applies to HTTP/2 server connections only (refused there).
	maxReuse    int
	maxReuseSet bool
	// MaxQueue is `maxqueue`: at most this many connections wait in
	// the server's queue (0 = no limit).
	MaxQueue int `json:",omitempty"`
	// SlowStart is `slowstart` in whole seconds (rounded up, as haproxy
	// stores it): the weight and limit ramp up after the server comes up.
	SlowStart int `json:",omitempty"`
	Backup    bool
	NonStick  bool // `non-stick`: stick store rules do not store this server
	Disabled  bool
	Check     bool
	Inter     time.Duration // default 2s
	FastInter time.Duration // 0 = Inter
	DownInter time.Duration // 0 = Inter
	Rise      int           // default 2
	Fall      int           // default 3
	CheckPort int           // 0 = Port
	CheckAddr string        // "" = Host
	// InitAddr is `init-addr` (methods "last", "libc", "none" or IP
	// addresses, in order); nil means haproxy's default "last,libc".
	InitAddr []string
	// Sock is set for a server on a UNIX socket or an abstract name (Host
	// and Port are then unused).
	Sock SockAddr
	// ID is haproxy's puid: `id N`, or the next free number from 1 in
	// declaration order. Consistent hashing places servers by it.
	ID int
	// Cookie is the server's `cookie VALUE` ("" = none).
	Cookie string
	// Proto is `proto NAME`, the protocol spoken to the server whatever
	// ALPN says: "h2" (HTTP/2, prior knowledge in clear text), "h1",
	// "none" (mode tcp); "" lets ALPN decide (HTTP/1.1 without it).
	Proto string `json:",omitempty"`
	// CheckProto is `check-proto NAME`, the protocol of the checks ("":
	// the server's Proto when it suits the check type).
	CheckProto string `json:",omitempty"`
	// TLS is `ssl`/`check-ssl` and their settings (model_tls.go); nil: clear text.
	TLS *ServerTLS
	// UseSSL is haproxy's use_ssl as `show servers state` writes it: 1
	// after `ssl`, -1 after `no-ssl` (from the line or default-server),
	// 0 when neither was given.
	UseSSL int `json:",omitempty"`
	// ShutdownOnDown is `on-marked-down shutdown-sessions`: the server's
	// sessions are cut when checks mark it down.
	ShutdownOnDown bool
	// ShutdownBackupsOnUp is `on-marked-up shutdown-backup-sessions`: the
	// sessions of the backend's backup servers are cut when checks mark
	// this active server up.
	ShutdownBackupsOnUp bool
	// Observe is `observe layer4|layer7`: live traffic to the server
	// feeds its health (haproxy's health_adjust), for a server with
	// `check` only; ObserveNone (zero) = off.
	Observe Observe `json:",omitzero"`
	// ErrorLimit is `error-limit N`, the consecutive errors seen by
	// `observe` that trigger OnError; 0 = haproxy's default, 10.
	ErrorLimit int `json:",omitzero"`
	// OnError is `on-error fastinter|fail-check|sudden-death|mark-down`;
	// "" = haproxy's default, fail-check.
	OnError string `json:",omitempty"`
	// Agent is the auxiliary agent check (`agent-check` and the
	// `agent-*` settings); Agent.Enabled false: none.
	Agent AgentCheck `json:",omitzero"`
	// TrackBackend and TrackServer are `track [BACKEND/]SERVER`: the
	// server takes the state of that one (TrackBackend is resolved to
	// the server's own backend when not given); "" = no tracking.
	TrackBackend, TrackServer string
	// Referenced: a sample argument names the server (srv_conn(b/s)...),
	// so `del server` refuses it (haproxy's SRV_F_NON_PURGEABLE).
	Referenced bool `json:",omitempty"`
	// DNS is the server's name and its run-time resolution
	// (model_resolvers.go).
	DNS ServerDNS `json:",omitzero"`
	// SendProxy is the PROXY protocol header sent first on every
	// connection to the server (`send-proxy`, `send-proxy-v2...`,
	// `proxy-v2-options`); the zero value sends none.
	SendProxy SendProxy `json:",omitzero"`
	// CheckSendProxy is `check-send-proxy`: health checks send a header
	// too. Checks on the traffic port (no `port` nor `addr`) send one
	// whenever SendProxy does, as in haproxy.
	CheckSendProxy bool `json:",omitempty"`
	Pos            Pos
}

// SendProxy is haproxy's pp_opts of a server: which PROXY protocol
// header it gets. Any field set sends a header; version 2 with V2, else
// version 1 (haproxy sends a v1 line for `proxy-v2-options` alone).
type SendProxy struct {
	V1 bool `json:",omitempty"` // send-proxy
	V2 bool `json:",omitempty"` // send-proxy-v2
	// Version 2 TLVs (proxy-v2-options): SSL is the PP2_TYPE_SSL TLV
	// (send-proxy-v2-ssl, `ssl`), SSLCN its client certificate CN sub-TLV
	// (send-proxy-v2-ssl-cn, `cert-cn`), SSLCipher its cipher sub-TLV
	// (`ssl-cipher`); Authority the client's SNI (or the authority it
	// sent in its own PROXY header); CRC32C a checksum of the header;
	// UniqueID the frontend's unique-id-format value.
	SSL       bool `json:",omitempty"`
	SSLCN     bool `json:",omitempty"`
	SSLCipher bool `json:",omitempty"`
	Authority bool `json:",omitempty"`
	CRC32C    bool `json:",omitempty"`
	UniqueID  bool `json:",omitempty"`
}

// Any reports whether a header is sent.
func (o SendProxy) Any() bool {
	return o.V1 || o.V2 || o.SSL || o.SSLCN || o.SSLCipher || o.Authority || o.CRC32C || o.UniqueID
}

// AgentCheck is a server's agent check (configuration manual, section
// 5.2 "agent-check"): a TCP connection to Addr:Port every Inter, which
// sends Send and reads one line of weights and states.
type AgentCheck struct {
	Enabled bool
	Addr    string        // agent-addr; "" = the check address, else the server's
	Port    int           // agent-port; 0 = the check port (`port`)
	Inter   time.Duration // agent-inter; 0 = the check's inter
	Send    string        // agent-send, with escapes applied
}

// Address is host:port, or host alone with clientPort when Port is 0.
// A server on a UNIX socket gets a token ParseDialToken turns back.
func (s *Server) Address(clientPort int) string {
	if s.Sock.IsSet() {
		return s.Sock.dialToken()
	}
	port := s.Port
	if port == 0 {
		port = clientPort
	}
	return Bind{Host: s.Host, Port: port}.Address()
}

// IsAnyHost reports whether a server host is the any address (0.0.0.0 or
// ::): haproxy then connects to the address the client reached, with the
// server's port, or the client's when the server has none.
func IsAnyHost(h string) bool { return h == "0.0.0.0" || h == "::" }

// Cookie is a `cookie NAME [options]` line (section 4.2, "cookie"):
// persistence by a cookie naming the server.
type Cookie struct {
	Name string
	// The mode: Rewrite, Insert or Prefix (at most one), or none
	// (passive: the application sets the cookie).
	Rewrite, Insert, Prefix                                 bool
	Indirect, NoCache, PostOnly, Preserve, HTTPOnly, Secure bool
	// Domain is the value of the domain attributes, joined as haproxy
	// writes them ("a.example; domain=b.example").
	Domain string
	// Attrs are the `attr` values joined by "; ".
	Attrs string
	// MaxIdle and MaxLife are `maxidle` and `maxlife` in seconds (0 =
	// none): dated cookies, refused when too old.
	MaxIdle, MaxLife int
	// Dynamic is `dynamic`: servers without `cookie VALUE` get one
	// computed from dynamic-cookie-key, their address and port.
	Dynamic bool `json:",omitempty"`
	Pos     Pos
}

// Any is haproxy's PR_CK_ANY: a mode (or indirect) is set, which the
// log's cookie flags show.
func (c *Cookie) Any() bool { return c.Rewrite || c.Insert || c.Prefix || c.Indirect }

// UserPass is one `stats auth user:pass`.
type UserPass struct {
	User, Pass string
}

// Stats is the `stats` configuration of a proxy.
type Stats struct {
	Enabled     bool
	URI         string // default "/haproxy?stats"
	Realm       string
	Auth        []UserPass
	Refresh     time.Duration
	HideVersion bool
	ShowLegends bool
	Admin       bool // `stats admin if TRUE`
}

// UseBackend is `use_backend NAME [if|unless COND]`. Name is empty when
// the name is a log-format string (Format), built per request.
type UseBackend struct {
	Name   string
	Format *Text        `json:",omitempty"` // `use_backend %[req.hdr(host),lower]`
	Cond   *sample.Cond `json:"-"`          // nil: always
	Pos    Pos
}

// Proxy is a listen, frontend or backend section with defaults applied.
type Proxy struct {
	// LoadServerState is `load-server-state-from-file` ("global" or
	// "local"; "" = none); ServerStateFileName the local file's name.
	LoadServerState, ServerStateFileName string `json:",omitempty"`

	Name        string
	Kind        Kind
	Pos         Pos
	Mode        Mode
	Binds       []Bind
	MaxConn     int // per-proxy frontend limit; 0 = global default
	Balance     Algorithm
	BalanceArgs BalanceArgs
	HashType    HashType
	// HashBalanceFactor is `hash-balance-factor` (0, or above 100):
	// consistent hashing with bounded loads.
	HashBalanceFactor int
	// FullConn is `fullconn` (0: haproxy's default, a tenth of the
	// maxconn of the frontends that use the backend).
	FullConn int `json:",omitempty"`
	// Cookie is `cookie NAME ...`; nil without.
	Cookie *Cookie
	// DynamicCookieKey is `dynamic-cookie-key` (cookie ... dynamic).
	DynamicCookieKey string `json:",omitempty"`
	Timeouts         Timeouts
	// ClientKeepAlive and ServerKeepAlive are `option clitcpka` and
	// `option srvtcpka` (both: `option tcpka`) with their
	// clitcpka-*/srvtcpka-* settings: TCP keep-alive probes on the
	// frontend's accepted connections and on the backend's connections
	// to servers.
	ClientKeepAlive TCPKeepAlive `json:",omitempty"`
	ServerKeepAlive TCPKeepAlive `json:",omitempty"`
	Retries         int          // default 3
	// HTTPReuse is `http-reuse`: "never", "safe" (haproxy's default,
	// also for ""), "aggressive" or "always".
	HTTPReuse string `json:",omitempty"`
	// SendNameHeader is `http-send-name-header NAME`, lower-cased: the
	// field set to the server's name on requests to HTTP/1 servers.
	SendNameHeader string `json:",omitempty"`
	Options        Options
	Logs           []LogTarget // `log global` expands to the global targets
	DefaultBackend string
	UseBackends    []UseBackend
	Servers        []*Server
	// Dispatch is `dispatch ADDR:PORT`: the address every connection
	// goes to in a backend without servers nor balance (haproxy's
	// PR_O_DISPATCH). Its Name is "<NOSRV>", what haproxy logs for it;
	// it has no stats row and no checks. nil: none.
	Dispatch *Server `json:",omitempty"`
	Check    Check   // health checks of the servers with `check`
	Stats    Stats
	Disabled bool
	// ID is haproxy's iid (the stats "iid" column): proxies numbered in
	// file order from 1, or from 2 when a global `stats socket` exists
	// (haproxy's internal GLOBAL proxy takes 1); `id N` sets it explicitly.
	ID int
	// ErrorFiles are `errorfile CODE FILE` (defaults inherited): the file
	// sent verbatim instead of the built-in page for that status.
	ErrorFiles map[int]ErrorFile
	// HTTP holds the connection mode and `option forwardfor`.
	HTTP          HTTPOptions
	Prometheus    bool   // http-request use-service prometheus-exporter
	PrometheusURI string // the URI from "... if { path URI }"; "" = every request
	// Logging is the frontend's access-log format, captures and unique id
	// (model_logs.go).
	Logging Logging
	// Compression is `compression` (model_compression.go); nil without.
	Compression *Compression
	// Rules are the http-request, http-response, tcp-request... rule
	// sets (model_rules.go).
	Rules Rules
	// StickTable is the proxy's `stick-table`; nil without.
	StickTable *sticktable.Config
	// StickRules are the `stick match|on|store-request` rules, in order.
	StickRules []*StickRule
}

// ErrorFile is one `errorfile CODE FILE` line. Content is the file as
// read while parsing (before any chroot), as haproxy loads it; nil when
// the parse was asked not to read files (ParseOptions.ReadFile unset).
type ErrorFile struct {
	Path    string
	Content []byte
	Pos     Pos
	// Builtin is `http-error status N default-errorfiles`: haproxy's own
	// page, whatever errorfile came before.
	Builtin bool `json:",omitempty"`
	// Reply is http-error's own reply (content-type, string or file,
	// hdr), built as `return` builds one.
	Reply *Return `json:",omitempty"`
	// Message is Content parsed, for the replies naming a file.
	Message *ErrorMessage `json:"-"`
}

// Server returns the named server, or nil.
func (p *Proxy) Server(name string) *Server {
	for _, s := range p.Servers {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Observe is the traffic a server's `observe` watches.
type Observe int

// The `observe` modes.
const (
	ObserveNone   Observe = iota // `observe none` or no keyword
	ObserveLayer4                // connection errors and successes
	ObserveLayer7                // connection errors and HTTP responses
)

// TCPKeepAlive is one side's TCP keep-alive: off unless On; Count, Idle and
// Interval (whole seconds) set TCP_KEEPCNT, TCP_KEEPIDLE and
// TCP_KEEPINTVL when not zero, else the system's values stay.
type TCPKeepAlive struct {
	On       bool          `json:",omitempty"`
	Count    int           `json:",omitempty"`
	Idle     time.Duration `json:",omitempty"`
	Interval time.Duration `json:",omitempty"`
}

// IdlePool is how many idle connections a server keeps (haproxy 2.6's
// srv_add_to_idle_list and its purge task).
type IdlePool struct {
	// MaxConn is `pool-max-conn`: at most this many idle connections
	// (-1: no limit, 0: none kept).
	MaxConn int
	// LowConn is `pool-low-conn`: idle connections kept beyond the
	// server's estimated need.
	LowConn int
	// PurgeDelay is `pool-purge-delay`: how often the idle connections
	// over the need are halved (0: none kept).
	PurgeDelay time.Duration
}

// DefaultIdlePool is haproxy 2.6's: no limit, none beyond the need, 5 s.
var DefaultIdlePool = IdlePool{MaxConn: -1, PurgeDelay: 5 * time.Second}

// Pool is the server's idle pool settings, haproxy's defaults when unset.
func (s *Server) Pool() IdlePool {
	if s.IdlePool == nil {
		return DefaultIdlePool
	}
	return *s.IdlePool
}
