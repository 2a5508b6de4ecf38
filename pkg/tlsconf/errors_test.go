package tlsconf

import (
	"errors"
	"fmt"
	"testing"
)

// The codes and texts are the ones Debian's haproxy 2.6 (OpenSSL 3)
// logged for the same clients (TestIntegrationHTTPSLogLikeHaproxy in
// pkg/gproxyd compares whole lines).
func TestSSLErrString(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int64
		text string
	}{
		{errors.New("tls: no cipher suite supported by both client and server"), 0x0A0000C1, "error:0A0000C1:SSL routines::no shared cipher"},
		{errors.New("tls: client offered only unsupported versions: [302]"), 0x0A000102, "error:0A000102:SSL routines::unsupported protocol"},
		{fmt.Errorf("%w: x", ErrClientCert), 0x0A000086, "error:0A000086:SSL routines::certificate verify failed"},
		{errors.New("tls: client didn't provide a certificate"), 0x0A0000C7, "error:0A0000C7:SSL routines::peer did not return a certificate"},
		{fmt.Errorf("tls: %w", ErrNoCertificate), 0x0A0000EA, "error:0A0000EA:SSL routines::callback failed"},
		{errors.New("EOF"), 0, ""},
	} {
		code := SSLErrCode(HandshakeReason(c.err))
		if code != c.code || SSLErrString(code) != c.text {
			t.Errorf("%v: got %#x %q, want %#x %q", c.err, code, SSLErrString(code), c.code, c.text)
		}
	}
	if ConnErrText(ConnErrSSLHandshake) != "SSL handshake failure" || ConnErrText(99) != "" {
		t.Error("ConnErrText")
	}
}
