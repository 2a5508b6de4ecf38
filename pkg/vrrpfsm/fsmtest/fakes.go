package fsmtest

import (
	"context"
	"sync"
	"time"

	"hapair/pkg/vrrpfsm"
)

// Sent is one advert a Sender saw.
type Sent struct {
	At   time.Time
	Prio uint8
}

// Sender records adverts and optionally forwards them (OnSend), e.g. to a
// peer's Receive.
type Sender struct {
	Clock  vrrpfsm.Clock
	OnSend func(prio uint8)
	Err    error

	mu   sync.Mutex
	sent []Sent
}

// SendAdvert records the advert and calls OnSend.
func (s *Sender) SendAdvert(prio uint8) error {
	var at time.Time
	if s.Clock != nil {
		at = s.Clock.Now()
	}
	s.mu.Lock()
	s.sent = append(s.sent, Sent{At: at, Prio: prio})
	s.mu.Unlock()
	if s.OnSend != nil {
		s.OnSend(prio)
	}
	return s.Err
}

// Sent returns a copy of the adverts sent so far.
func (s *Sender) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// Event is one call an Effects saw: "become", "leave" or "notify".
type Event struct {
	Kind     string
	From, To vrrpfsm.State
	Prio     int
}

// Effects records calls and tracks whether the VIPs are held.
type Effects struct {
	mu     sync.Mutex
	events []Event
	vips   bool
}

// BecomeMaster records the call; it is an error (recorded as
// "become-twice") to take the VIPs twice.
func (e *Effects) BecomeMaster(context.Context) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.vips {
		e.events = append(e.events, Event{Kind: "become-twice"})
	}
	e.vips = true
	e.events = append(e.events, Event{Kind: "become"})
}

// LeaveMaster records the call.
func (e *Effects) LeaveMaster(context.Context) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.vips = false
	e.events = append(e.events, Event{Kind: "leave"})
}

// Notify records the call.
func (e *Effects) Notify(from, to vrrpfsm.State, prio int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events = append(e.events, Event{Kind: "notify", From: from, To: to, Prio: prio})
}

// HoldsVIPs reports whether BecomeMaster was called without a later
// LeaveMaster.
func (e *Effects) HoldsVIPs() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.vips
}

// Events returns a copy of the recorded calls.
func (e *Effects) Events() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Event(nil), e.events...)
}

// Notifies returns the recorded notifications as "FROM->TO" strings.
func (e *Effects) Notifies() []string {
	var out []string
	for _, ev := range e.Events() {
		if ev.Kind == "notify" {
			out = append(out, ev.From.String()+"->"+ev.To.String())
		}
	}
	return out
}
