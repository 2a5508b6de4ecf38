package accesslog

import (
	"net/netip"
	"strconv"
	"time"
)

// ConnError is the line haproxy 2.6 logs for a connection that failed
// before it became a session (session_kill_embryonic), e.g. a TLS
// handshake failure:
//
//	127.0.0.1:40000 [24/Nov/2026:23:40:01.123] fe/1: SSL handshake failure
//
// listener is the bind's number in its frontend (haproxy's luid).
func ConnError(client netip.AddrPort, accept time.Time, frontend string, listener int, msg string) string {
	b := make([]byte, 0, 96)
	b = appendClient(b, Session{Client: client})
	b = append(b, " ["...)
	b = AppendDate(b, accept)
	b = append(b, "] "...)
	b = append(b, frontend...)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(listener), 10)
	b = append(b, ": "...)
	b = append(b, msg...)
	return string(b)
}
