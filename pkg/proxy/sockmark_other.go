//go:build !linux

package proxy

import "net"

// setMark and setTOS do nothing where SO_MARK and IP_TOS are not known.
func setMark(net.Conn, int) {}

func setTOS(net.Conn, int) {}
