//go:build !linux

package syslog

import "syscall"

// rawAddr is empty off Linux: targets are sent to the Sockaddr way.
type rawAddr struct{}

func encodeAddr(syscall.Sockaddr) rawAddr { return rawAddr{} }

// send sends b to t without blocking, as sendto does.
func (t *target) send(fd int, b []byte) error { return sendto(fd, b, t.sockaddr()) }
