//go:build !linux

package proxy

import "syscall"

// evPoller exists on Linux only: elsewhere every relay direction keeps
// its goroutine and waits in Go's netpoller.
type evPoller struct{}

func evpoll() *evPoller { return nil }

func (p *evPoller) add(d *relayDir) bool { return false }

func (p *evPoller) remove(d *relayDir) {}

func (p *evPoller) quiet(d *relayDir, on bool) {}

type evTarget interface{ event(ev uint32) }

const parkAdded, parkEvents = 0, 0

func (p *evPoller) watch(rc syscall.RawConn, t evTarget, events uint32) (int32, bool) {
	return 0, false
}

func (p *evPoller) rearm(rc syscall.RawConn, tok int32, events uint32) bool { return false }

func (p *evPoller) forget(tok int32) {}
