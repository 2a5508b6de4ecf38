package keepalived

import (
	"context"
	"sync"

	"hapair/pkg/vip"
)

// watchHub shares the daemon's link and address watches among its
// instances: one subscription and one goroutine per watched interface, and
// one for deleted addresses, whatever the number of instances (keepalived
// reads one netlink socket for all). Each instance registers a callback;
// callbacks run on the hub's goroutine and must not block for long.
type watchHub struct {
	mu    sync.Mutex
	links map[string]*feed[bool]
	addrs *feed[vip.Removed]
}

// feed is one subscription and its callbacks.
type feed[T any] struct {
	cancel context.CancelFunc
	// deliver serializes callbacks, so that a new subscriber's initial
	// state cannot overtake a later change.
	deliver sync.Mutex
	last    T
	known   bool
	subs    map[*func(T)]struct{}
}

func newFeed[T any](cancel context.CancelFunc) *feed[T] {
	return &feed[T]{cancel: cancel, subs: map[*func(T)]struct{}{}}
}

// run calls the subscribers with each value until ch closes, then forgets
// the feed (a later watch subscribes again).
func (f *feed[T]) run(ch <-chan T, sticky bool, forget func()) {
	for v := range ch {
		f.deliver.Lock()
		if sticky {
			f.last, f.known = v, true
		}
		for s := range f.subs {
			(*s)(v)
		}
		f.deliver.Unlock()
	}
	forget()
}

// add registers cb until the returned remove is called; with sticky feeds
// cb gets the last value at once. Once the last subscriber left, gone is
// called under mu and the subscription ends if it says so. (The subscriber
// removes itself when it stops: a context.AfterFunc per subscription cost
// ~350 bytes per instance and watch.)
func (f *feed[T]) add(cb func(T), mu *sync.Mutex, gone func() bool) (remove func()) {
	f.deliver.Lock()
	f.subs[&cb] = struct{}{}
	if f.known {
		cb(f.last)
	}
	f.deliver.Unlock()
	return func() {
		f.deliver.Lock()
		delete(f.subs, &cb)
		empty := len(f.subs) == 0
		f.deliver.Unlock()
		if empty {
			mu.Lock()
			last := gone()
			mu.Unlock()
			if last {
				f.cancel()
			}
		}
	}
}

// watchLink calls cb with the state of interface name (up or not), first
// the current one, then each change, until remove is called.
func (h *watchHub) watchLink(lw vip.LinkWatcher, name string, cb func(up bool)) (remove func(), err error) {
	h.mu.Lock()
	f := h.links[name]
	if f == nil {
		fctx, cancel := context.WithCancel(context.Background())
		ch, err := lw.WatchLink(fctx, name)
		if err != nil {
			cancel()
			h.mu.Unlock()
			return nil, err
		}
		f = newFeed[bool](cancel)
		if h.links == nil {
			h.links = map[string]*feed[bool]{}
		}
		h.links[name] = f
		go f.run(ch, true, func() {
			h.mu.Lock()
			if h.links[name] == f {
				delete(h.links, name)
			}
			h.mu.Unlock()
		})
	}
	h.mu.Unlock()
	remove = f.add(cb, &h.mu, func() bool {
		// Still the current feed and nobody subscribed meanwhile.
		if h.links[name] != f {
			return false
		}
		f.deliver.Lock()
		defer f.deliver.Unlock()
		if len(f.subs) > 0 {
			return false
		}
		delete(h.links, name)
		return true
	})
	return remove, nil
}

// watchRemoved calls cb with each address deleted from any interface until
// remove is called.
func (h *watchHub) watchRemoved(aw vip.AddrWatcher, cb func(vip.Removed)) (remove func(), err error) {
	h.mu.Lock()
	f := h.addrs
	if f == nil {
		fctx, cancel := context.WithCancel(context.Background())
		ch, err := aw.WatchRemoved(fctx)
		if err != nil {
			cancel()
			h.mu.Unlock()
			return nil, err
		}
		f = newFeed[vip.Removed](cancel)
		h.addrs = f
		go f.run(ch, false, func() {
			h.mu.Lock()
			if h.addrs == f {
				h.addrs = nil
			}
			h.mu.Unlock()
		})
	}
	h.mu.Unlock()
	remove = f.add(cb, &h.mu, func() bool {
		if h.addrs != f {
			return false
		}
		f.deliver.Lock()
		defer f.deliver.Unlock()
		if len(f.subs) > 0 {
			return false
		}
		h.addrs = nil
		return true
	})
	return remove, nil
}
