//go:build !linux

package vrrp

import (
	"context"
	"errors"
	"net/netip"
)

// RawConn is a Conn on raw sockets; only Linux has them here.
type RawConn struct{}

var errUnsupported = errors.New("vrrp: raw sockets are only supported on Linux")

// Listen fails outside Linux.
func Listen(cfg Config) (*RawConn, error) { return nil, errUnsupported }

// Send implements Conn.
func (c *RawConn) Send(b []byte, dst netip.Addr) error { return errUnsupported }

// Receive implements Conn.
func (c *RawConn) Receive(ctx context.Context) (Received, error) { return Received{}, errUnsupported }

// Close implements Conn.
func (c *RawConn) Close() error { return nil }

// Mux shares raw sockets between instances; only Linux has them here.
type Mux struct{}

// NewMux returns a Mux whose Listen fails.
func NewMux() *Mux { return &Mux{} }

// MuxConn is one instance's Conn on a Mux.
type MuxConn struct{ RawConn }

// Listen fails outside Linux.
func (m *Mux) Listen(cfg Config) (*MuxConn, error) { return nil, errUnsupported }

// Deliver does nothing outside Linux.
func (c *MuxConn) Deliver(f func(Received)) {}
