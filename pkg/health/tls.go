package health

import (
	"context"
	"crypto/tls"
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
	return s.TLS.Settings.Config(s.TLS.CheckSNI, nil)
}

// handshake runs the TLS handshake of a check over c when the probe has
// TLS; the result is what a check that ends here reports (L4OK in
// clear, L6OK, or haproxy's Layer6 failures).
func (p Probe) handshake(ctx context.Context, c net.Conn) (net.Conn, Result, bool) {
	if p.TLS == nil {
		return c, Result{Code: CodeL4OK}, true
	}
	tc := tls.Client(c, p.TLS)
	if err := tc.HandshakeContext(ctx); err != nil {
		if isTimeout(err) || ctx.Err() != nil {
			return nil, Result{Code: CodeL6TOUT}, false
		}
		return nil, Result{Code: CodeL6RSP, Info: "SSL handshake failure"}, false
	}
	return tc, Result{Code: CodeL6OK}, true
}
