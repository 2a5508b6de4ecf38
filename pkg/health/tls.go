package health

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"

	"hapair/pkg/haproxycfg"
)

// checkTLS is the TLS configuration of a server's checks: `check-ssl`, or
// `ssl` with no separate check port or address, with `check-sni` as the
// name sent and the server's verify settings; nil in clear.
func checkTLS(s *haproxycfg.Server) *tls.Config {
	if s.TLS == nil || !s.TLS.Checks {
		return nil
	}
	c := s.TLS.Settings.Config(s.TLS.CheckSNI, nil)
	if s.TLS.CheckALPN != nil {
		c.NextProtos = s.TLS.CheckALPN
	}
	return c
}

// ruleTLS is the TLS configuration of a connect step: `connect ssl` with
// the rule's sni and alpn (the server's alpn when it has none: haproxy
// sets that one on the server's TLS context), the check's own settings on
// the implicit first connect and `connect default`; nil in clear.
func (p Probe) ruleTLS(st *Step) *tls.Config {
	if st.SSL && p.ServerTLS == nil {
		// Never in clear: a server without TLS settings (none is made
		// so) fails the handshake.
		return &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(tls.ConnectionState) error {
			return errors.New("health: no TLS settings for a connect ssl rule")
		}}
	}
	if st.SSL {
		sni := st.SNI
		if sni == "" && st.Default {
			sni = p.ServerTLS.CheckSNI
		}
		c := p.ServerTLS.Settings.Config(sni, nil)
		switch {
		case st.ALPN != nil:
			c.NextProtos = st.ALPN
		case st.Default && p.ServerTLS.CheckALPN != nil:
			c.NextProtos = p.ServerTLS.CheckALPN
		}
		return c
	}
	if st.Step == 0 || st.Default {
		return p.TLS
	}
	return nil
}

// muxAfterALPN tells whether haproxy waits for the TLS handshake before
// installing the check's mux (tcpcheck_eval_connect): when the rule or
// the server's check-alpn gives protocols to offer.
func (p Probe) muxAfterALPN(st *Step) bool {
	return st.ALPN != nil || (p.ServerTLS != nil && p.ServerTLS.CheckALPN != nil)
}

// handshake runs the TLS handshake of a check over c when the probe has
// TLS; the result is what a check that ends here reports (L4OK in
// clear, L6OK, or haproxy's Layer6 failures).
func (p Probe) handshake(ctx context.Context, c net.Conn) (net.Conn, Result, bool) {
	return handshakeWith(ctx, c, p.TLS)
}

func handshakeWith(ctx context.Context, c net.Conn, cfg *tls.Config) (net.Conn, Result, bool) {
	if cfg == nil {
		return c, Result{Code: CodeL4OK}, true
	}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		if isTimeout(err) || ctx.Err() != nil {
			return nil, Result{Code: CodeL6TOUT}, false
		}
		info := "SSL handshake failure"
		var he x509.HostnameError
		if errors.As(err, &he) {
			// haproxy's CO_ER_SSL_MISMATCH(_SNI): the chain was good,
			// the name not.
			info = "Server presented an SSL certificate different from the configured one"
			if cfg.ServerName != "" {
				info = "Server presented an SSL certificate different from the expected one"
			}
		}
		return nil, Result{Code: CodeL6RSP, Info: info}, false
	}
	return tc, Result{Code: CodeL6OK}, true
}
