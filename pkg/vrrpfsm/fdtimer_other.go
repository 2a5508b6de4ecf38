//go:build !linux

package vrrpfsm

import (
	"errors"
	"time"
)

type fdTimer struct{}

func newFDTimer() (*fdTimer, error) { return nil, errors.New("vrrpfsm: no timerfd") }

func (*fdTimer) close()                   {}
func (*fdTimer) C() <-chan time.Time      { return nil }
func (*fdTimer) Stop() bool               { return false }
func (*fdTimer) Reset(time.Duration) bool { return false }
