package haproxycfg

import "hapair/pkg/tlsconf"

// The TLS parts of the model (bind and server lines with `ssl`): settings
// resolved while parsing, global defaults applied, certificates loaded
// (as haproxy loads them, before any chroot), so the runtime only builds
// the crypto/tls configuration.

// BindTLS is `ssl` on a bind line with its settings.
type BindTLS struct {
	// Settings are the resolved settings; Settings.Store is nil when the
	// parse was asked not to read files (Parse with no ReadFile).
	Settings tlsconf.Bind
	Pos      Pos
}

// ServerTLS is `ssl` and `check-ssl` on a server line.
type ServerTLS struct {
	// Settings are the resolved settings of the connection to the server.
	Settings tlsconf.Server
	// SNI is the name sent (`sni str(NAME)`); SNIFromClient is
	// `sni ssl_fc_sni`: the name the client sent to our frontend.
	SNI           string
	SNIFromClient bool
	// Traffic is `ssl`: requests go to the server over TLS (`set server
	// ... ssl on|off` changes it at run time: proxy.Server.TLSOn). Checks is
	// `check-ssl` (or `ssl` with `check` and no `port`/`addr`
	// elsewhere, as haproxy): health checks use TLS, CheckSNI as name.
	Traffic  bool
	Checks   bool
	CheckSNI string
	// CheckALPN is `check-alpn`: the protocols the implicit check
	// connect (and `connect default`) offers instead of the server's
	// `alpn`, which the others offer as haproxy's context default.
	CheckALPN []string `json:",omitempty"`

	raw sslOpts // the options as given, inherited by later servers from default-server
}
