//go:build !linux

package vrrpfsm

import (
	"errors"
	"time"
)

type fdWait struct{}

func newFDWait() (*fdWait, error) { return nil, errors.New("vrrpfsm: no timerfd") }

func (*fdWait) C() <-chan time.Time      { return nil }
func (*fdWait) Stop() bool               { return false }
func (*fdWait) Reset(time.Duration) bool { return false }
func (*fdWait) wake()                    {}
func (*fdWait) close()                   {}
func (*Loop) runFD(*fdWait)              {}
