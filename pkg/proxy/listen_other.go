//go:build !linux

package proxy

import "errors"

// Only Linux's socket options are known; elsewhere sockets keep the
// system's defaults and transparent binds are refused.

func systemV6Only() (bool, error) { return false, errors.New("unknown system default") }

func (o sockOpts) apply(fd int) error {
	if o.foreign {
		return errNotTransparent
	}
	return nil
}

func (o sockOpts) matches(fd int) bool { return !o.foreign }
