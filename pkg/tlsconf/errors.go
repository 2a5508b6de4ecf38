package tlsconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
)

// Connection error codes as haproxy 2.6 numbers them (CO_ER_* in
// include/haproxy/connection-t.h), for fc_err and fc_err_str: the ones
// gproxy's client connections can end with.
const (
	ConnErrNone           = 0
	ConnErrSSLEmpty       = 24
	ConnErrSSLAbort       = 25
	ConnErrSSLTimeout     = 26
	ConnErrSSLCAFail      = 30
	ConnErrSSLCrtFail     = 31
	ConnErrSSLMismatch    = 32
	ConnErrSSLMismatchSNI = 33
	ConnErrSSLHandshake   = 34
)

// ConnErrText is haproxy's text for a connection error code (its
// conn_err_code_str), "" for a code gproxy never sets.
func ConnErrText(code int) string {
	switch code {
	case ConnErrNone:
		return "Success"
	case ConnErrSSLEmpty:
		return "Connection closed during SSL handshake"
	case ConnErrSSLAbort:
		return "Connection error during SSL handshake"
	case ConnErrSSLTimeout:
		return "Timeout during SSL handshake"
	case ConnErrSSLCAFail:
		return "SSL client CA chain cannot be verified"
	case ConnErrSSLCrtFail:
		return "SSL client certificate not trusted"
	case ConnErrSSLMismatch:
		return "Server presented an SSL certificate different from the configured one"
	case ConnErrSSLMismatchSNI:
		return "Server presented an SSL certificate different from the expected one"
	case ConnErrSSLHandshake:
		return "SSL handshake failure"
	}
	return ""
}

// OpenSSL 3's reasons (library SSL, ERR_LIB_SSL 20) for the handshake
// failures crypto/tls reports the same way every time; ssl_fc_err is
// the packed code (lib<<23 | reason) as OpenSSL's ERR_get_error returns it.
const (
	sslLib = 20 << 23

	ReasonCertVerifyFailed = 134 // SSL_R_CERTIFICATE_VERIFY_FAILED
	ReasonNoSharedCipher   = 193 // SSL_R_NO_SHARED_CIPHER
	ReasonNoPeerCert       = 199 // SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE
	ReasonUnsupportedProto = 258 // SSL_R_UNSUPPORTED_PROTOCOL
	// ReasonCallbackFailed is haproxy's ClientHello callback refusing the
	// connection: strict-sni without a certificate for the name.
	ReasonCallbackFailed = 234 // SSL_R_CALLBACK_FAILED
	// ReasonWrongCurve is a TLS 1.2 client certificate on a curve the
	// handshake's groups leave out.
	ReasonWrongCurve = 378 // SSL_R_WRONG_CURVE
	// ReasonWrongVersion is a server answering a ClientHello with
	// something that is not TLS (a clear-text HTTP server).
	ReasonWrongVersion = 267 // SSL_R_WRONG_VERSION_NUMBER
)

var reasonText = map[int]string{
	ReasonCertVerifyFailed: "certificate verify failed",
	ReasonNoSharedCipher:   "no shared cipher",
	ReasonNoPeerCert:       "peer did not return a certificate",
	ReasonUnsupportedProto: "unsupported protocol",
	ReasonCallbackFailed:   "callback failed",
	ReasonWrongCurve:       "wrong curve",
	ReasonWrongVersion:     "wrong version number",
}

// SSLErrCode is the OpenSSL error code of a reason (ssl_fc_err); 0 for 0.
func SSLErrCode(reason int) int64 {
	if reason == 0 {
		return 0
	}
	return int64(sslLib | reason)
}

// SSLErrString is OpenSSL 3's ERR_error_string of a code, as
// ssl_fc_err_str prints it: "error:0A0000C1:SSL routines::no shared
// cipher"; "" for 0 or an unknown reason.
func SSLErrString(code int64) string {
	t, ok := reasonText[int(code&0x7fffff)]
	if code == 0 || !ok || code&^0x7fffff != sslLib {
		return ""
	}
	return fmt.Sprintf("error:%08X:SSL routines::%s", code, t)
}

// HandshakeReason maps a crypto/tls server handshake error to the OpenSSL
// reason haproxy would log for the same client, 0 when gproxy cannot tell
// it (the error is then logged without an OpenSSL code).
func HandshakeReason(err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, ErrClientCert) {
		return ReasonCertVerifyFailed
	}
	if errors.Is(err, ErrNoCertificate) {
		return ReasonCallbackFailed
	}
	if errors.Is(err, ErrWrongCurve) {
		return ReasonWrongCurve
	}
	s := err.Error()
	switch {
	case strings.Contains(s, "no cipher suite supported by both client and server"):
		return ReasonNoSharedCipher
	case strings.Contains(s, "client offered only unsupported versions"):
		return ReasonUnsupportedProto
	case strings.Contains(s, "client didn't provide a certificate"):
		return ReasonNoPeerCert
	}
	return 0
}

// ServerHandshakeError maps a crypto/tls client handshake error (gproxy
// connecting to a server) to the connection error code and OpenSSL
// reason haproxy's bc_err and ssl_bc_err give for the same server;
// reason 0 when gproxy cannot tell it.
func ServerHandshakeError(err error) (code, reason int) {
	var rh tls.RecordHeaderError
	var sv serverVerifyError
	switch {
	case errors.As(err, &sv):
		if sv.mismatch != 0 {
			return sv.mismatch, ReasonCertVerifyFailed
		}
		return ConnErrSSLHandshake, ReasonCertVerifyFailed
	case errors.As(err, &rh) && rh.RecordHeader[1] != 3:
		// OpenSSL checks the first record's major version first.
		return ConnErrSSLHandshake, ReasonWrongVersion
	}
	return ConnErrSSLHandshake, 0
}
