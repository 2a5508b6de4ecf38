//go:build !linux

package proxy

// evPoller exists on Linux only: elsewhere every relay direction keeps
// its goroutine and waits in Go's netpoller.
type evPoller struct{}

func evpoll() *evPoller { return nil }

func (p *evPoller) add(d *relayDir) bool { return false }

func (p *evPoller) remove(d *relayDir) {}

func (p *evPoller) quiet(d *relayDir, on bool) {}
