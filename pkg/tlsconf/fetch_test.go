package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	"hapair/pkg/sample"
	"hapair/pkg/tlsconf/tlstest"
)

type fakeEnv struct {
	st    *tls.ConnectionState
	local *x509.Certificate
}

func (fakeEnv) NbSrv(string) int                  { return 0 }
func (fakeEnv) SrvIsUp(string, string) bool       { return false }
func (fakeEnv) BeConn(string) int                 { return 0 }
func (fakeEnv) FeConn(string) int                 { return 0 }
func (f fakeEnv) TLS() *tls.ConnectionState       { return f.st }
func (f fakeEnv) TLSLocalCert() *x509.Certificate { return f.local }
func (fakeEnv) TLSVerify() VerifyResult           { return VerifyResult{} }

// TestFetches evaluates the TLS fetches, in expressions and conditions,
// on a TLS connection with a client certificate and on a clear one.
func TestFetches(t *testing.T) {
	ca := tlstest.NewCA(t, "Test CA")
	client := ca.Issue(t, tlstest.ECDSA, "alice")
	server := ca.Issue(t, tlstest.RSA, "www.test", "www.test")
	onTLS := &sample.Txn{Env: fakeEnv{st: &tls.ConnectionState{
		Version: tls.VersionTLS12, CipherSuite: tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		ServerName: "www.test", NegotiatedProtocol: "http/1.1", PeerCertificates: []*x509.Certificate{client.Cert},
	}, local: server.Cert}}
	clear := &sample.Txn{Env: fakeEnv{}}
	exprs := []struct{ expr, want string }{
		{"ssl_fc_sni", "www.test"},
		{"ssl_fc_protocol", "TLSv1.2"},
		{"ssl_fc_cipher", "ECDHE-RSA-AES256-GCM-SHA384"},
		{"ssl_fc_alpn", "http/1.1"},
		{"ssl_c_s_dn", "/CN=alice"},
		{"ssl_c_s_dn(CN)", "alice"},
		{"ssl_c_i_dn", "/O=gproxy tests/CN=Test CA"},
		{"ssl_c_i_dn(O)", "gproxy tests"},
		{"ssl_f_s_dn(CN)", "www.test"},
		{"ssl_c_s_dn(,0,rfc2253)", "CN=alice"},
		{"ssl_c_sig_alg", "ecdsa-with-SHA256"},
		{"ssl_c_key_alg", "id-ecPublicKey"},
		{"ssl_f_key_alg", "rsaEncryption"},
		{"ssl_f_sig_alg", "ecdsa-with-SHA256"},
	}
	for _, c := range exprs {
		e, err := sample.ParseExpr(c.expr, &sample.ParseOptions{})
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		v, ok := e.Eval(onTLS)
		if !ok || v.Str != c.want {
			t.Errorf("%s = %q (%v), want %q", c.expr, v.Str, ok, c.want)
		}
		if _, ok := e.Eval(clear); ok {
			t.Errorf("%s: a sample on a clear connection", c.expr)
		}
	}
	for _, c := range []struct {
		cond     []string
		tls, clr bool
	}{
		{[]string{"if", "{", "ssl_fc", "}"}, true, false},
		{[]string{"if", "!{", "ssl_fc", "}"}, false, true},
		{[]string{"if", "{", "ssl_c_used", "}"}, true, false},
		{[]string{"if", "{", "ssl_fc_has_crt", "}"}, true, false},
		{[]string{"if", "{", "ssl_c_verify", "0", "}"}, true, false},
		{[]string{"if", "{", "ssl_fc_sni", "-i", "WWW.TEST", "}"}, true, false},
	} {
		cond, err := sample.ParseCond(c.cond, sample.ACLSet{}, &sample.ParseOptions{})
		if err != nil {
			t.Fatalf("%v: %v", c.cond, err)
		}
		if got := cond.Eval(onTLS); got != c.tls {
			t.Errorf("%v on TLS = %v", c.cond, got)
		}
		if got := cond.Eval(clear); got != c.clr {
			t.Errorf("%v in clear = %v", c.cond, got)
		}
	}
	if _, err := sample.ParseExpr("ssl_c_s_dn(CN,1,ldap)", &sample.ParseOptions{}); err == nil {
		t.Error("an unknown DN format must be refused")
	}
}
