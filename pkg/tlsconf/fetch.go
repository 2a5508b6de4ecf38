package tlsconf

import (
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"

	"hapair/pkg/sample"
)

// TLSFacts is what the TLS fetches need from the engine: sample.Env is
// extended by this interface (checked with a type assertion), implemented
// per client connection by package proxy.
type TLSFacts interface {
	// TLS is the client connection's state; nil in clear text.
	TLS() *tls.ConnectionState
	// TLSLocalCert is the certificate gproxy presented; nil in clear text.
	TLSLocalCert() *x509.Certificate
	// TLSVerify is the client certificate's verification result.
	TLSVerify() VerifyResult
}

// ConnErrFacts extends TLSFacts with how the client connection ended
// before a stream, for fc_err and ssl_fc_err: 0, 0 for one that did not.
type ConnErrFacts interface {
	// ConnErr is the haproxy connection error code (ConnErr*) and the
	// OpenSSL error code of the handshake (SSLErrCode).
	ConnErr() (code int, sslErr int64)
}

// RandomFacts extends TLSFacts with the randoms of the client
// connection's ClientHello and ServerHello (ssl_fc_client_random,
// ssl_fc_server_random); nil when unknown.
type RandomFacts interface {
	TLSRandoms() (client, server []byte)
}

// SessionIDFacts extends TLSFacts with the client connection's session
// id as OpenSSL has it (ssl_fc_session_id); ok false for none.
type SessionIDFacts interface {
	TLSSessionID() ([]byte, bool)
}

// ServerRandomFacts is RandomFacts for the server connection
// (ssl_bc_client_random, ssl_bc_server_random).
type ServerRandomFacts interface {
	ServerTLSRandoms() (client, server []byte)
}

// ServerTLSFacts extends sample.Env with the server connection of a
// stream, for the ssl_bc_* and ssl_s_* fetches.
type ServerTLSFacts interface {
	// ServerTLS is the server connection's state.
	ServerTLS() *tls.ConnectionState
}

func serverFacts(t *sample.Txn) *tls.ConnectionState {
	if t == nil || t.Env == nil {
		return nil
	}
	if f, ok := t.Env.(ServerTLSFacts); ok {
		return f.ServerTLS()
	}
	return nil
}

func connErr(t *sample.Txn) (int, int64) {
	if t == nil {
		return 0, 0
	}
	if f, ok := t.Env.(ConnErrFacts); ok {
		return f.ConnErr()
	}
	return 0, 0
}

func facts(t *sample.Txn) (TLSFacts, *tls.ConnectionState) {
	if t == nil || t.Env == nil {
		return nil, nil
	}
	f, ok := t.Env.(TLSFacts)
	if !ok {
		return nil, nil
	}
	return f, f.TLS()
}

// The fetches of haproxy's section 7.3.4 ("Fetching samples at Layer 5")
// that crypto/tls can answer.
func init() {
	str := func(s string) (sample.Value, bool) { return sample.Value{Type: sample.TypeStr, Str: s}, true }
	boolean := func(b bool) (sample.Value, bool) { return sample.Value{Type: sample.TypeBool, Bool: b}, true }
	integer := func(i int64) (sample.Value, bool) { return sample.Value{Type: sample.TypeInt, Int: i}, true }
	onTLS := func(name string, out sample.Type, fn func(*tls.ConnectionState) (sample.Value, bool)) {
		sample.RegisterFetch(sample.FetchDef{Name: name, Out: out, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
			_, st := facts(t)
			if st == nil {
				return sample.Value{}, false
			}
			return fn(st)
		}})
	}
	// The hellos' randoms, binary (OpenSSL's SSL_get_client_random).
	bin := func(b []byte) (sample.Value, bool) {
		return sample.Value{Type: sample.TypeBin, Str: string(b)}, b != nil
	}
	for _, r := range []struct {
		name   string
		server bool
	}{{"ssl_fc_client_random", false}, {"ssl_fc_server_random", true}} {
		sample.RegisterFetch(sample.FetchDef{Name: r.name, Out: sample.TypeBin, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
			f, st := facts(t)
			rf, ok := f.(RandomFacts)
			if st == nil || !ok {
				return sample.Value{}, false
			}
			c, s := rf.TLSRandoms()
			if r.server {
				return bin(s)
			}
			return bin(c)
		}})
	}
	for _, r := range []struct {
		name   string
		server bool
	}{{"ssl_bc_client_random", false}, {"ssl_bc_server_random", true}} {
		sample.RegisterFetch(sample.FetchDef{Name: r.name, Out: sample.TypeBin, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
			if serverFacts(t) == nil {
				return sample.Value{}, false
			}
			rf, ok := t.Env.(ServerRandomFacts)
			if !ok {
				return sample.Value{}, false
			}
			c, s := rf.ServerTLSRandoms()
			if r.server {
				return bin(s)
			}
			return bin(c)
		}})
	}
	sample.RegisterFetch(sample.FetchDef{Name: "ssl_fc_session_id", Out: sample.TypeBin, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
		sf, ok := t.Env.(SessionIDFacts)
		if !ok {
			return sample.Value{}, false
		}
		id, ok := sf.TLSSessionID()
		if !ok {
			return sample.Value{}, false
		}
		return bin(id)
	}})
	sample.RegisterFetch(sample.FetchDef{Name: "ssl_fc", Out: sample.TypeBool, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
		_, st := facts(t)
		return boolean(st != nil)
	}})
	// fc_err: the connection's error code, 0 on a connection that became
	// a stream (haproxy's conn->err_code).
	sample.RegisterFetch(sample.FetchDef{Name: "fc_err", Out: sample.TypeInt, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
		c, _ := connErr(t)
		return integer(int64(c))
	}})
	sample.RegisterFetch(sample.FetchDef{Name: "fc_err_str", Out: sample.TypeStr, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
		c, _ := connErr(t)
		if s := ConnErrText(c); s != "" {
			return str(s)
		}
		return sample.Value{}, false
	}})
	sample.RegisterFetch(sample.FetchDef{Name: "ssl_fc_err", Out: sample.TypeInt, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
		if _, st := facts(t); st == nil {
			return sample.Value{}, false
		}
		_, e := connErr(t)
		return integer(e)
	}})
	sample.RegisterFetch(sample.FetchDef{Name: "ssl_fc_err_str", Out: sample.TypeStr, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
		if _, st := facts(t); st == nil {
			return sample.Value{}, false
		}
		_, e := connErr(t)
		if s := SSLErrString(e); s != "" {
			return str(s)
		}
		return sample.Value{}, false
	}})
	onTLS("ssl_fc_has_sni", sample.TypeBool, func(st *tls.ConnectionState) (sample.Value, bool) { return boolean(st.ServerName != "") })
	onTLS("ssl_fc_sni", sample.TypeStr, func(st *tls.ConnectionState) (sample.Value, bool) {
		if st.ServerName == "" {
			return sample.Value{}, false
		}
		return str(st.ServerName)
	})
	onTLS("ssl_fc_protocol", sample.TypeStr, func(st *tls.ConnectionState) (sample.Value, bool) { return str(VersionName(st.Version)) })
	onTLS("ssl_fc_cipher", sample.TypeStr, func(st *tls.ConnectionState) (sample.Value, bool) { return str(SuiteName(st.CipherSuite)) })
	onTLS("ssl_fc_alpn", sample.TypeStr, func(st *tls.ConnectionState) (sample.Value, bool) {
		if st.NegotiatedProtocol == "" {
			return sample.Value{}, false
		}
		return str(st.NegotiatedProtocol)
	})
	keySize := func(st *tls.ConnectionState) (sample.Value, bool) {
		n := SuiteName(st.CipherSuite)
		if strings.Contains(n, "AES128") || strings.Contains(n, "AES_128") {
			return integer(128)
		}
		return integer(256)
	}
	onTLS("ssl_fc_use_keysize", sample.TypeInt, keySize)
	onTLS("ssl_fc_alg_keysize", sample.TypeInt, keySize)
	// Found on a clear connection too (false), as haproxy's.
	sample.RegisterFetch(sample.FetchDef{Name: "ssl_fc_is_resumed", Out: sample.TypeBool, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
		_, st := facts(t)
		return boolean(st != nil && st.DidResume)
	}})
	// A resumed session carries no certificate on this connection (the
	// ticket remembers it: ssl_c_used).
	onTLS("ssl_fc_has_crt", sample.TypeBool, func(st *tls.ConnectionState) (sample.Value, bool) {
		return boolean(len(st.PeerCertificates) > 0 && !st.DidResume)
	})
	// The chain the client sent after its certificate, DER after DER; not
	// found when there is none or the session was resumed (OpenSSL keeps
	// no chain then).
	onTLS("ssl_c_chain_der", sample.TypeBin, func(st *tls.ConnectionState) (sample.Value, bool) {
		if len(st.PeerCertificates) < 2 || st.DidResume {
			return sample.Value{}, false
		}
		var b []byte
		for _, c := range st.PeerCertificates[1:] {
			b = append(b, c.Raw...)
		}
		return sample.Value{Type: sample.TypeBin, Str: string(b)}, true
	})
	onTLS("ssl_c_used", sample.TypeBool, func(st *tls.ConnectionState) (sample.Value, bool) { return boolean(len(st.PeerCertificates) > 0) })
	// A client certificate that fails verification aborts the handshake
	// unless crt-ignore-err/ca-ignore-err let the error through.
	verify := func(name string, pick func(VerifyResult) int) {
		sample.RegisterFetch(sample.FetchDef{Name: name, Out: sample.TypeInt, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
			f, st := facts(t)
			if st == nil {
				return sample.Value{}, false
			}
			return integer(int64(pick(f.TLSVerify())))
		}})
	}
	verify("ssl_c_verify", func(r VerifyResult) int { return r.Verify })
	verify("ssl_c_err", func(r VerifyResult) int { return r.CrtErr })
	verify("ssl_c_ca_err", func(r VerifyResult) int { return r.CAErr })
	verify("ssl_c_ca_err_depth", func(r VerifyResult) int { return r.CAErrDepth })

	peer := func(st *tls.ConnectionState) *x509.Certificate {
		if len(st.PeerCertificates) == 0 {
			return nil
		}
		return st.PeerCertificates[0]
	}
	local := func(t *sample.Txn) *x509.Certificate {
		f, st := facts(t)
		if st == nil {
			return nil
		}
		return f.TLSLocalCert()
	}
	certFetches := func(prefix string, get func(*sample.Txn) *x509.Certificate) {
		dn := func(name string, pick func(*x509.Certificate) []byte) {
			sample.RegisterFetch(sample.FetchDef{Name: prefix + name, Out: sample.TypeStr,
				Args: sample.ArgSpec{Types: []sample.ArgType{sample.ArgStr, sample.ArgInt, sample.ArgStr}},
				Check: func(args []sample.Arg, _ *sample.ParseOptions) error {
					if len(args) > 2 && args[2].Str != "" && args[2].Str != "rfc2253" {
						return fmt.Errorf("only rfc2253 or a blank value are currently supported as the format argument")
					}
					return nil
				},
				Fn: func(t *sample.Txn, args []sample.Arg) (sample.Value, bool) {
					c := get(t)
					if c == nil {
						return sample.Value{}, false
					}
					// The raw name: pkix.Name keeps only the attributes
					// Go knows (emailAddress would be lost), in its order.
					var seq pkix.RDNSequence
					if _, err := asn1.Unmarshal(pick(c), &seq); err != nil {
						return sample.Value{}, false
					}
					if len(args) == 0 || args[0].Str == "" {
						if len(args) > 2 && args[2].Str == "rfc2253" {
							return str(DN2253(seq))
						}
						return str(DN(seq))
					}
					return dnEntry(seq, args)
				}})
		}
		dn("s_dn", func(c *x509.Certificate) []byte { return c.RawSubject })
		dn("i_dn", func(c *x509.Certificate) []byte { return c.RawIssuer })
		one := func(name string, out sample.Type, fn func(*x509.Certificate) sample.Value) {
			sample.RegisterFetch(sample.FetchDef{Name: prefix + name, Out: out, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
				c := get(t)
				if c == nil {
					return sample.Value{}, false
				}
				return fn(c), true
			}})
		}
		one("serial", sample.TypeBin, func(c *x509.Certificate) sample.Value {
			return sample.Value{Type: sample.TypeBin, Str: string(c.SerialNumber.Bytes())}
		})
		one("sha1", sample.TypeBin, func(c *x509.Certificate) sample.Value {
			h := sha1.Sum(c.Raw)
			return sample.Value{Type: sample.TypeBin, Str: string(h[:])}
		})
		one("der", sample.TypeBin, func(c *x509.Certificate) sample.Value { return sample.Value{Type: sample.TypeBin, Str: string(c.Raw)} })
		one("version", sample.TypeInt, func(c *x509.Certificate) sample.Value {
			return sample.Value{Type: sample.TypeInt, Int: int64(c.Version)}
		})
		// OpenSSL's short names of the algorithms (OBJ_nid2sn), as
		// haproxy prints them; one OpenSSL has no name for is not found.
		one2 := func(name string, fn func(*x509.Certificate) string) {
			sample.RegisterFetch(sample.FetchDef{Name: prefix + name, Out: sample.TypeStr, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
				c := get(t)
				if c == nil {
					return sample.Value{}, false
				}
				if v := fn(c); v != "" {
					return str(v)
				}
				return sample.Value{}, false
			}})
		}
		one2("sig_alg", func(c *x509.Certificate) string { return sigAlgNames[c.SignatureAlgorithm] })
		one2("key_alg", func(c *x509.Certificate) string { return keyAlgNames[c.PublicKeyAlgorithm] })
		// ASN1 UTCTime as haproxy prints it: YYMMDDhhmmssZ.
		one("notbefore", sample.TypeStr, func(c *x509.Certificate) sample.Value {
			return sample.Value{Type: sample.TypeStr, Str: c.NotBefore.UTC().Format("060102150405Z")}
		})
		one("notafter", sample.TypeStr, func(c *x509.Certificate) sample.Value {
			return sample.Value{Type: sample.TypeStr, Str: c.NotAfter.UTC().Format("060102150405Z")}
		})
	}
	certFetches("ssl_c_", func(t *sample.Txn) *x509.Certificate {
		_, st := facts(t)
		if st == nil {
			return nil
		}
		return peer(st)
	})
	certFetches("ssl_f_", local)
	certFetches("ssl_s_", func(t *sample.Txn) *x509.Certificate {
		if st := serverFacts(t); st != nil {
			return peer(st)
		}
		return nil
	})
	// The server's whole chain, its certificate first (OpenSSL's client
	// side keeps the peer's certificate in its chain).
	sample.RegisterFetch(sample.FetchDef{Name: "ssl_s_chain_der", Out: sample.TypeBin, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
		st := serverFacts(t)
		if st == nil || len(st.PeerCertificates) == 0 {
			return sample.Value{}, false
		}
		var b []byte
		for _, c := range st.PeerCertificates {
			b = append(b, c.Raw...)
		}
		return sample.Value{Type: sample.TypeBin, Str: string(b)}, true
	}})
	// ssl_bc_*: the ssl_fc_* of the server connection.
	onServer := func(name string, out sample.Type, fn func(*tls.ConnectionState) (sample.Value, bool)) {
		sample.RegisterFetch(sample.FetchDef{Name: name, Out: out, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
			st := serverFacts(t)
			if st == nil {
				return sample.Value{}, false
			}
			return fn(st)
		}})
	}
	sample.RegisterFetch(sample.FetchDef{Name: "ssl_bc", Out: sample.TypeBool, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
		return boolean(serverFacts(t) != nil)
	}})
	// bc_err and ssl_bc_err: the server connection's errors, none
	// before one (haproxy's fetches find no connection on the stream).
	sample.RegisterFetch(sample.FetchDef{Name: "bc_err", Out: sample.TypeInt, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
		if t == nil || t.SrvConn == nil {
			return sample.Value{}, false
		}
		return integer(int64(t.SrvConn.Err))
	}})
	sample.RegisterFetch(sample.FetchDef{Name: "bc_err_str", Out: sample.TypeStr, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
		if t == nil || t.SrvConn == nil {
			return sample.Value{}, false
		}
		if s := ConnErrText(t.SrvConn.Err); s != "" {
			return str(s)
		}
		return sample.Value{}, false
	}})
	sample.RegisterFetch(sample.FetchDef{Name: "ssl_bc_err", Out: sample.TypeInt, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
		if t == nil || t.SrvConn == nil || !t.SrvConn.TLS {
			return sample.Value{}, false
		}
		return integer(t.SrvConn.SSLErr)
	}})
	sample.RegisterFetch(sample.FetchDef{Name: "ssl_bc_err_str", Out: sample.TypeStr, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
		if t == nil || t.SrvConn == nil || !t.SrvConn.TLS {
			return sample.Value{}, false
		}
		if s := SSLErrString(t.SrvConn.SSLErr); s != "" {
			return str(s)
		}
		return sample.Value{}, false
	}})
	onServer("ssl_bc_protocol", sample.TypeStr, func(st *tls.ConnectionState) (sample.Value, bool) { return str(VersionName(st.Version)) })
	onServer("ssl_bc_cipher", sample.TypeStr, func(st *tls.ConnectionState) (sample.Value, bool) { return str(SuiteName(st.CipherSuite)) })
	onServer("ssl_bc_alpn", sample.TypeStr, func(st *tls.ConnectionState) (sample.Value, bool) {
		if st.NegotiatedProtocol == "" {
			return sample.Value{}, false
		}
		return str(st.NegotiatedProtocol)
	})
	onServer("ssl_bc_use_keysize", sample.TypeInt, keySize)
	onServer("ssl_bc_alg_keysize", sample.TypeInt, keySize)
	sample.RegisterFetch(sample.FetchDef{Name: "ssl_bc_is_resumed", Out: sample.TypeBool, Fn: func(t *sample.Txn, _ []sample.Arg) (sample.Value, bool) {
		st := serverFacts(t)
		return boolean(st != nil && st.DidResume)
	}})
}

// dnEntry is ssl_c_s_dn(ENTRY[,OCC]): the OCC-th value of ENTRY (1 =
// first, -1 = last; by default the first).
func dnEntry(seq pkix.RDNSequence, args []sample.Arg) (sample.Value, bool) {
	want := args[0].Str
	var vals []string
	for _, rdn := range seq {
		for _, atv := range rdn {
			k := dnShort[atv.Type.String()]
			if k == "" {
				k = atv.Type.String()
			}
			if k == want {
				vals = append(vals, fmt.Sprint(atv.Value))
			}
		}
	}
	occ := int64(1)
	if len(args) > 1 && args[1].Int != 0 {
		occ = args[1].Int
	}
	i := int(occ) - 1
	if occ < 0 {
		i = len(vals) + int(occ)
	}
	if i < 0 || i >= len(vals) {
		return sample.Value{}, false
	}
	return sample.Value{Type: sample.TypeStr, Str: vals[i]}, true
}

var sigAlgNames = map[x509.SignatureAlgorithm]string{
	x509.MD5WithRSA: "RSA-MD5", x509.SHA1WithRSA: "RSA-SHA1", x509.SHA256WithRSA: "RSA-SHA256",
	x509.SHA384WithRSA: "RSA-SHA384", x509.SHA512WithRSA: "RSA-SHA512",
	x509.SHA256WithRSAPSS: "RSASSA-PSS", x509.SHA384WithRSAPSS: "RSASSA-PSS", x509.SHA512WithRSAPSS: "RSASSA-PSS",
	x509.DSAWithSHA1: "DSA-SHA1", x509.DSAWithSHA256: "dsa_with_SHA256",
	x509.ECDSAWithSHA1: "ecdsa-with-SHA1", x509.ECDSAWithSHA256: "ecdsa-with-SHA256",
	x509.ECDSAWithSHA384: "ecdsa-with-SHA384", x509.ECDSAWithSHA512: "ecdsa-with-SHA512",
	x509.PureEd25519: "ED25519",
}

var keyAlgNames = map[x509.PublicKeyAlgorithm]string{
	x509.RSA: "rsaEncryption", x509.DSA: "DSA", x509.ECDSA: "id-ecPublicKey", x509.Ed25519: "ED25519",
}
