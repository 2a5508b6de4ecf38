// Package tlsconf turns haproxy 2.6's TLS settings into crypto/tls
// configurations: OpenSSL cipher strings evaluated over the suites
// crypto/tls implements (never more than OpenSSL would offer), TLS 1.3
// suite lists and curves, haproxy's PEM bundles (certificate, chain and
// key in one file, a ".key" side file), a certificate store that picks by
// SNI (exact names, then wildcards, then the first certificate loaded),
// and the client-certificate checks of `verify` and `crl-file`.
//
// It knows nothing of sockets or of the configuration grammar: package
// haproxycfg calls it while parsing (so `-c` reports file:line) and the
// proxy engine builds a *tls.Config from the result.
package tlsconf
