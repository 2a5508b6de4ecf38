package garp

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// Spacing is keepalived's vrrp_garp_interval and vrrp_gna_interval: the
// least time between two gratuitous ARPs (or two unsolicited NAs) sent on
// one interface, whichever instance sends them. One Spacing is shared by
// every instance of a daemon; its zero value spaces nothing.
//
// As keepalived 2.2.7 (vrrp_arp.c send_gratuitous_arp, vrrp_ndisc.c,
// vrrp_scheduler.c vrrp_arp_thread): an announcement that comes too soon
// is not queued as a packet but marks its address pending, so the repeats
// of a burst collapse into one later announcement per address. Measured
// with keepalived 2.2.7, vrrp_garp_interval 0.3, garp_master_repeat 5, two
// VIPs A and B: A at 0, A at 0.3 s, B at 0.6 s, and nothing more.
type Spacing struct {
	mu       sync.Mutex
	arp, na  time.Duration
	nextSend map[spacingKey]time.Time
}

type spacingKey struct {
	ifindex int
	v6      bool
}

// SetIntervals sets the ARP and NA spacing (0 = none). A reload may change
// them; announcements already pending keep their place.
func (s *Spacing) SetIntervals(arp, na time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.arp, s.na = arp, na
}

// reserve reports whether an announcement of that family may go out on the
// interface at now; if so it books the interface until now + interval.
// Otherwise it returns when the interface is free.
func (s *Spacing) reserve(ifindex int, v6 bool, now time.Time) (bool, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	interval := s.arp
	if v6 {
		interval = s.na
	}
	k := spacingKey{ifindex, v6}
	if next, ok := s.nextSend[k]; ok && interval > 0 && now.Before(next) {
		return false, next
	}
	if interval > 0 {
		if s.nextSend == nil {
			s.nextSend = map[spacingKey]time.Time{}
		}
		s.nextSend[k] = now.Add(interval)
	} else {
		delete(s.nextSend, k)
	}
	return true, time.Time{}
}

// sent pushes the interface's next send to interval after now, the end of
// a send: keepalived sets its next GARP time after sending (vrrp_arp.c
// send_gratuitous_arp_immediate, timer_add_now). A reservation alone
// counted from before the send, so a send delayed after its reservation
// (a loaded machine, a single P) left the next one under the interval on
// the wire.
func (s *Spacing) sent(ifindex int, v6 bool, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	interval := s.arp
	if v6 {
		interval = s.na
	}
	if interval <= 0 {
		return
	}
	k := spacingKey{ifindex, v6}
	if at := now.Add(interval); s.nextSend != nil && at.After(s.nextSend[k]) {
		s.nextSend[k] = at
	}
}

// Announcement is one address to announce on one interface.
type Announcement struct {
	Ifi *net.Interface
	IP  netip.Addr
}

// Announcer sends one MASTER tenure's announcements through a shared
// Spacing: at once when the interface is free, else later, once, in the
// order first asked. Announce and Run are safe to call concurrently.
type Announcer struct {
	Spacing *Spacing // nil: no spacing
	Clock   Clock
	// Send announces one address (a gratuitous ARP, or an NA for IPv6).
	Send func(a Announcement)

	mu sync.Mutex
	// seen is every address announced in this tenure, first-asked first:
	// pending ones go out in that order (keepalived walks its VIP list).
	seen    []Announcement
	pending map[annKey]bool
	wake    chan struct{}
}

// Announce sends a now when its interface is free, or marks it pending
// if the interface is still within the spacing interval of its previous
// announcement; an address already pending is not added twice.
func (an *Announcer) Announce(a Announcement) {
	if an.Spacing == nil {
		an.Send(a)
		return
	}
	an.mu.Lock()
	if an.pending[a.key()] {
		an.mu.Unlock()
		return
	}
	if !an.isSeen(a) {
		an.seen = append(an.seen, a)
	}
	if ok, _ := an.Spacing.reserve(a.Ifi.Index, is6(a.IP), an.Clock.Now()); !ok {
		if an.pending == nil {
			an.pending = map[annKey]bool{}
		}
		an.pending[a.key()] = true
		an.mu.Unlock()
		an.signal()
		return
	}
	an.mu.Unlock()
	an.send(a)
}

// send sends a reserved announcement and moves the spacing past it.
func (an *Announcer) send(a Announcement) {
	an.Send(a)
	an.Spacing.sent(a.Ifi.Index, is6(a.IP), an.Clock.Now())
}

func (an *Announcer) isSeen(a Announcement) bool {
	for _, s := range an.seen {
		if s.key() == a.key() {
			return true
		}
	}
	return false
}

// annKey identifies an announcement whatever *net.Interface value names
// its interface.
type annKey struct {
	ifindex int
	ip      netip.Addr
}

func (a Announcement) key() annKey { return annKey{a.Ifi.Index, a.IP} }

func (an *Announcer) signal() {
	an.mu.Lock()
	if an.wake == nil {
		an.wake = make(chan struct{}, 1)
	}
	w := an.wake
	an.mu.Unlock()
	select {
	case w <- struct{}{}:
	default:
	}
}

// flush sends the pending announcements whose interface is free, in order,
// and returns when to try again (zero when nothing is left).
func (an *Announcer) flush() time.Time {
	var due []Announcement
	var next time.Time
	an.mu.Lock()
	for _, a := range an.seen {
		if !an.pending[a.key()] {
			continue
		}
		ok, at := an.Spacing.reserve(a.Ifi.Index, is6(a.IP), an.Clock.Now())
		if !ok {
			if next.IsZero() || at.Before(next) {
				next = at
			}
			continue
		}
		delete(an.pending, a.key())
		due = append(due, a)
	}
	an.mu.Unlock()
	for _, a := range due {
		an.send(a)
	}
	return next
}

// Run sends pending announcements when their interface frees up, until
// done is closed; pending ones are then dropped (keepalived drops them
// when the instance is no longer MASTER).
func (an *Announcer) Run(done <-chan struct{}) {
	an.mu.Lock()
	if an.wake == nil {
		an.wake = make(chan struct{}, 1)
	}
	wake := an.wake
	an.mu.Unlock()
	var timer <-chan time.Time
	var timerAt time.Time
	for {
		// One timer per wake-up time: a new pending address does not
		// stack another one on the clock.
		if next := an.flush(); next.IsZero() {
			timer, timerAt = nil, time.Time{}
		} else if timer == nil || !next.Equal(timerAt) {
			timer, timerAt = an.Clock.After(next.Sub(an.Clock.Now())), next
		}
		select {
		case <-done:
			an.mu.Lock()
			an.pending, an.seen = nil, nil
			an.mu.Unlock()
			return
		case <-wake:
		case <-timer:
			timer = nil
		}
	}
}

func is6(ip netip.Addr) bool { return ip.Is6() && !ip.Is4In6() }
