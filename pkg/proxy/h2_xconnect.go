package proxy

import (
	"encoding/binary"
	"net"
	"sync"
	_ "unsafe" // go:linkname

	"golang.org/x/net/http2"
)

// RFC 8441's extended CONNECT (WebSocket over HTTP/2), which haproxy 2.6
// announces and serves by default: x/net's server has it behind
// GODEBUG=http2xconnect=1, read once at its start (golang/go#71128 keeps
// it off for Go servers whose WebSocket package cannot take it; ours
// converts it to an HTTP/1.1 upgrade as haproxy does). The switch is set
// here instead, once, before the first HTTP/2 connection; a frontend
// whose configuration says `h2-workaround-bogus-websocket-clients` has
// the setting taken out of its SETTINGS (noExtConnectConn).
//
//go:linkname h2DisableExtendedConnect golang.org/x/net/http2.disableExtendedConnectProtocol
var h2DisableExtendedConnect bool

var h2ExtConnectOnce sync.Once

// enableH2ExtendedConnect turns extended CONNECT on for the process.
func enableH2ExtendedConnect() {
	h2ExtConnectOnce.Do(func() { h2DisableExtendedConnect = false })
}

// noExtConnectConn removes SETTINGS_ENABLE_CONNECT_PROTOCOL from the
// server's first SETTINGS frame, as haproxy 2.6 does not announce it
// under `h2-workaround-bogus-websocket-clients`. That frame is the first
// thing the server writes, whole in its first write.
type noExtConnectConn struct {
	net.Conn
	done bool
}

func (c *noExtConnectConn) Write(p []byte) (int, error) {
	if c.done {
		return c.Conn.Write(p)
	}
	c.done = true
	q := stripExtConnect(p)
	if _, err := c.Conn.Write(q); err != nil {
		return 0, err
	}
	return len(p), nil
}

// stripExtConnect returns p with the ENABLE_CONNECT_PROTOCOL entries
// taken out of the SETTINGS frame p begins with (p as is otherwise).
func stripExtConnect(p []byte) []byte {
	if len(p) < 9 || http2.FrameType(p[3]) != http2.FrameSettings || p[4]&byte(http2.FlagSettingsAck) != 0 {
		return p
	}
	n := int(p[0])<<16 | int(p[1])<<8 | int(p[2])
	if n%6 != 0 || len(p) < 9+n {
		return p
	}
	out := make([]byte, 0, len(p))
	out = append(out, p[:9]...)
	for i := 9; i < 9+n; i += 6 {
		if http2.SettingID(binary.BigEndian.Uint16(p[i:])) != http2.SettingEnableConnectProtocol {
			out = append(out, p[i:i+6]...)
		}
	}
	m := len(out) - 9
	out[0], out[1], out[2] = byte(m>>16), byte(m>>8), byte(m)
	return append(out, p[9+n:]...)
}
