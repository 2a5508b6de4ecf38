package runtimeapi

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
)

// Server keywords haproxy 2.6 refuses on `add server` (those its keyword
// table does not mark dynamic-capable), answered "'KW' option is not
// accepted for dynamic server".
var dynRefused = map[string]bool{
	"cookie": true, "init-addr": true, "log-proto": true, "max-reuse": true, "namespace": true,
	"no-agent-check": true, "no-check": true, "no-check-send-proxy": true, "no-check-ssl": true,
	"no-send-proxy-v2-ssl": true, "no-send-proxy-v2-ssl-cn": true, "no-ssl": true, "non-stick": true,
	"redir": true, "resolve-net": true, "resolve-opts": true, "resolve-prefer": true, "resolvers": true,
	"socks4": true, "ssl-reuse": true, "stick": true,
}

// Server keywords gproxy applies to a dynamic server, with their number
// of arguments. Every other keyword haproxy accepts there (checks,
// agents, TLS, PROXY protocol, slow start...) is refused by gproxy with a
// message naming it: the server would otherwise run without it.
var dynWorks = map[string]int{
	"weight": 1, "maxconn": 1, "id": 1, "backup": 0, "no-backup": 0, "disabled": 0, "enabled": 0,
	// health and agent checks, started disabled (`enable health|agent`)
	"check": 0, "inter": 1, "fastinter": 1, "downinter": 1, "rise": 1, "fall": 1, "port": 1, "addr": 1,
	"check-send-proxy": 0, "agent-check": 0, "agent-addr": 1, "agent-port": 1, "agent-inter": 1,
	"agent-send": 1, "observe": 1, "error-limit": 1, "on-error": 1, "on-marked-down": 1, "on-marked-up": 1,
	// PROXY protocol to the server (its checks send it only with
	// check-send-proxy, as haproxy's dynamic servers)
	"send-proxy": 0, "send-proxy-v2": 0, "send-proxy-v2-ssl": 0, "send-proxy-v2-ssl-cn": 0,
	"no-send-proxy": 0, "no-send-proxy-v2": 0, "proxy-v2-options": 1,
	// TLS to the server and its checks (a ca-file from the CA files in
	// memory), the multiplexer (proto h2: the backend's HTTP/2 client
	// takes it)
	"ssl": 0, "verify": 1, "ca-file": 1, "sni": 1, "alpn": 1, "check-ssl": 0, "proto": 1, "crt": 1,
	// its idle connections' pool (pkg/proxy/idlepool.go)
	"pool-low-conn": 1, "pool-max-conn": 1, "pool-purge-delay": 1,
}

// Keywords of haproxy 2.6's server keyword table that it accepts on a
// dynamic server and gproxy does not apply there yet.
var dynNotYet = map[string]bool{
	"allow-0rtt": true,
	"check-alpn": true, "check-proto": true, "check-sni": true,
	"check-via-socks4": true, "ciphers": true, "ciphersuites": true,
	"crl-file":    true,
	"force-sslv3": true, "force-tlsv10": true, "force-tlsv11": true,
	"force-tlsv12": true, "force-tlsv13": true, "maxqueue": true, "minconn": true,
	"no-ssl-reuse": true, "no-sslv3": true,
	"no-tfo": true, "no-tls-tickets": true, "no-tlsv10": true, "no-tlsv11": true, "no-tlsv12": true,
	"no-tlsv13": true, "npn": true,
	"slowstart": true, "source": true, "ssl-max-ver": true,
	"ssl-min-ver": true, "tfo": true, "tls-tickets": true, "usesrc": true,
	"verifyhost": true, "ws": true,
}

// addServer is `add server <bk>/<srv> <addr>[:<port>] [options]`
// (management guide 9.3): a new server in maintenance, as haproxy 2.6
// creates every dynamic server.
func (c *Commands) addServer(args []string) string {
	be, sv, ok := strings.Cut(arg(args, 2), "/")
	if !ok || sv == "" {
		return "Require 'backend/server'."
	}
	b := c.Source.Engine.Backend(be)
	if b == nil {
		return "No such backend."
	}
	if !b.DynamicLB() {
		return proxy.ErrStaticLB.Error()
	}
	c.ssl.mu.Lock()
	cas := c.caFiles()
	c.ssl.mu.Unlock()
	sc, msg := parseDynServer(b, sv, args[3:], &haproxycfg.DynamicServer{Running: c.Source.Config, CAFiles: cas, Cert: c.serverCert})
	if sc == nil {
		c.alertAdd(be, sv, msg)
		return msg
	}
	var ref *proxy.Server
	if sc.TrackServer != "" {
		if ref, msg = c.trackTarget(b, sc); ref == nil {
			c.alertAdd(be, sv, msg)
			return msg + "\n"
		}
	}
	srv, err := b.AddServer(sc)
	if err != nil {
		c.alertAdd(be, sv, err.Error())
		return err.Error() + "\n"
	}
	c.Source.Checks.AddServer(srv)
	if ref != nil {
		c.Source.Checks.Track(srv, ref)
	}
	c.Logger.Info().Msgf("New server %s/%s registered.", be, sv)
	return "New server registered.\n"
}

// alertAdd writes a refused `add server` on stderr as haproxy does:
// "CLI : 'server B/S' : MESSAGE" (no server prefix before one was named).
func (c *Commands) alertAdd(be, sv, msg string) {
	msg = strings.TrimRight(msg, "\n")
	if strings.HasPrefix(msg, "'server' expects") {
		c.Logger.Error().Msg("CLI : " + msg)
		return
	}
	c.Logger.Error().Msgf("CLI : 'server %s/%s' : %s", be, sv, msg)
}

// parseDynServer reads a dynamic server's address and options with the
// configuration parser, as haproxy runs its server-line parser, without the
// default-server settings (haproxy 2.6 ignores them for dynamic servers).
// On error it returns haproxy's message.
func parseDynServer(b *proxy.Backend, name string, rest []string, dyn *haproxycfg.DynamicServer) (*haproxycfg.Server, string) {
	words := []string{"server", name}
	var track string
	muxBad := false
	if len(rest) > 0 {
		words = append(words, rest[0])
		for i := 1; i < len(rest); i++ {
			kw := rest[i]
			if kw == "track" {
				// Resolved against the running backends (trackTarget),
				// which the parser of this one line does not know.
				if i+1 >= len(rest) || rest[i+1] == "" {
					return nil, "'track' expects [<proxy>/]<server> as argument..\n"
				}
				track = rest[i+1]
				i++
				continue
			}
			if kw == "proto" && i+1 < len(rest) && !muxUsable(rest[i+1], b.Proxy().Mode) {
				// Answered after the line parsed, as haproxy's
				// cli_parse_add_server; the word is left out so that
				// the parser of the synthetic backend does not answer
				// with the configuration's message.
				muxBad = true
				i++
				continue
			}
			if n, ok := dynWorks[kw]; ok {
				words = append(words, rest[i:min(i+1+n, len(rest))]...)
				i += n
				continue
			}
			if dynRefused[kw] {
				return nil, fmt.Sprintf("'%s' option is not accepted for dynamic server\n", kw)
			}
			if dynNotYet[kw] {
				return nil, fmt.Sprintf("'%s' option is not implemented by gproxy for dynamic servers.\n", kw)
			}
			words = append(words, kw) // unknown: the parser names it
		}
	}
	var src strings.Builder
	src.WriteString("backend '" + b.Name() + "'\n")
	if b.Proxy().Mode == haproxycfg.ModeHTTP {
		// The server line's checks of its options by mode (proto).
		src.WriteString("    mode http\n")
	}
	src.WriteString("   ")
	for _, w := range words {
		if strings.ContainsAny(w, "\n\r") {
			return nil, fmt.Sprintf("invalid character in '%s'.\n", strings.TrimSpace(w))
		}
		// A quote the CLI passed on is part of the word (haproxy's CLI
		// does not unquote): closed, escaped, reopened.
		src.WriteString(" '" + strings.ReplaceAll(w, "'", `'\''`) + "'")
	}
	src.WriteString("\n")
	cfg, diags, err := haproxycfg.Parse("cli", []byte(src.String()), haproxycfg.ParseOptions{Dynamic: dyn})
	if err != nil || cfg == nil {
		for _, d := range diags {
			if d.Severity == haproxycfg.Alert {
				m := strings.TrimPrefix(d.Msg, "'server "+b.Name()+"/"+name+"' : ")
				return nil, strings.TrimRight(m, "\n") + "\n"
			}
		}
		if err == nil {
			err = errors.New("invalid server")
		}
		return nil, err.Error() + "\n"
	}
	px := cfg.Proxy(b.Name(), haproxycfg.KindBackend)
	if px == nil || len(px.Servers) != 1 {
		return nil, "'server' expects <name> and <addr>[:<port>] as arguments.\n"
	}
	sc := px.Servers[0]
	if muxBad {
		return nil, "MUX protocol is not usable for server.\n"
	}
	if sc.DNS.Hostname != "" {
		// haproxy creates it without an address and never resolves it.
		return nil, "a dynamic server named by a host name is not implemented by gproxy.\n"
	}
	if _, err := netip.ParseAddr(sc.Agent.Addr); sc.Agent.Addr != "" && err != nil {
		// haproxy resolves it while parsing the command; gproxy
		// resolves names at start only.
		return nil, "'agent-addr' with a host name is not implemented by gproxy for dynamic servers.\n"
	}
	if sc.Check && slices.ContainsFunc(b.Proxy().Check.Rules, func(r haproxycfg.CheckRule) bool { return r.SSL }) {
		// Its checks would need TLS settings, which the options a
		// dynamic server takes here cannot give (haproxy prepares them,
		// with their verify alerts).
		return nil, "a dynamic server with 'check' in a backend with 'connect ssl' check rules is not implemented by gproxy.\n"
	}
	if sc.Check && b.Proxy().Check.Type == haproxycfg.CheckHTTP && sc.ChecksH2() && !sc.CheckH2Clear() {
		// As for a server of the configuration (checkServerProto).
		return nil, "HTTP health checks over HTTP/2 with TLS ('proto h2' or 'alpn h2' with 'check-ssl') are not implemented by gproxy for dynamic servers.\n"
	}
	if track != "" {
		if sc.Check {
			return nil, "unable to enable checks and tracking at the same time!\n"
		}
		sc.TrackBackend, sc.TrackServer = b.Name(), track
		if i := strings.LastIndexByte(track, '/'); i >= 0 {
			sc.TrackBackend, sc.TrackServer = track[:i], track[i+1:]
		}
	}
	if !slices.Contains(rest, "id") {
		sc.ID = 0 // the backend gives the lowest free id
	}
	return sc, ""
}

// muxUsable tells whether haproxy 2.6 has a backend multiplexer of that
// name for the mode (conn_get_best_mux_entry); an unknown name is left to
// the server line's parser.
func muxUsable(name string, mode haproxycfg.Mode) bool {
	switch name {
	case "h1", "h2", "fcgi":
		return mode == haproxycfg.ModeHTTP
	case "none":
		return mode != haproxycfg.ModeHTTP
	}
	return true
}

// trackTarget is the server a dynamic server's `track` names, checked as
// haproxy's srv_set_track does, or nil and haproxy's message.
func (c *Commands) trackTarget(b *proxy.Backend, sc *haproxycfg.Server) (*proxy.Server, string) {
	tb := c.Source.Engine.Backend(sc.TrackBackend)
	if tb == nil {
		return nil, fmt.Sprintf("unable to find required proxy '%s' for tracking.", sc.TrackBackend)
	}
	ref := tb.Server(sc.TrackServer)
	if ref == nil {
		return nil, fmt.Sprintf("unable to find required server '%s' for tracking.", sc.TrackServer)
	}
	name := tb.Name() + "/" + ref.Name()
	rc := ref.Config()
	switch {
	case ref.Dynamic():
		return nil, fmt.Sprintf("unable to use %s for tracking as it is a dynamic server.", name)
	case !rc.Check && !rc.Agent.Enabled && rc.TrackServer == "":
		return nil, fmt.Sprintf("unable to use %s for tracking as it does not have any check nor agent enabled.", name)
	case tb != b && tb.Proxy().Check.DisableOn404 != b.Proxy().Check.DisableOn404:
		// haproxy's words, space missing included.
		return nil, fmt.Sprintf("unable to use %s fortracking: disable-on-404 option inconsistency.", name)
	}
	return ref, ""
}

// delServer is `del server <bk>/<srv>`: only a server in maintenance with
// no connection goes; haproxy's answers otherwise.
func (c *Commands) delServer(args []string) string {
	be, sv, ok := strings.Cut(arg(args, 2), "/")
	if !ok || sv == "" {
		return "Require 'backend/server'."
	}
	b := c.Source.Engine.Backend(be)
	if b == nil {
		return "No such backend."
	}
	s := b.Server(sv)
	if s == nil {
		return "No such server."
	}
	if c.pinned(b, s) {
		return "This server cannot be removed at runtime due to other configuration elements pointing to it."
	}
	if err := b.DelServer(s); err != nil {
		return err.Error()
	}
	c.Source.Checks.RemoveServer(s)
	c.Logger.Info().Msgf("Server %s/%s deleted.", be, sv)
	return "Server deleted."
}

// pinned reports whether a server may not be deleted: haproxy's
// SRV_F_NON_PURGEABLE (a use-server target, a tracked server, a server
// under DNS resolution).
func (c *Commands) pinned(b *proxy.Backend, s *proxy.Server) bool {
	cfg := s.Config()
	if cfg.DNS.Resolvers != "" || cfg.Referenced || s.Pinned() {
		return true
	}
	for _, u := range b.Proxy().Rules.UseServers {
		if u.Name == s.Name() {
			return true
		}
	}
	for _, ob := range c.Source.Engine.Backends() {
		for _, o := range ob.Servers() {
			if t := o.Config(); t.TrackServer == s.Name() && (t.TrackBackend == b.Name() || t.TrackBackend == "" && ob == b) {
				return true
			}
		}
	}
	return false
}
