// Package viptest is an in-memory vip.Manager and vip.LinkWatcher for tests
// of code that moves VIPs and follows interfaces.
package viptest

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"sync"

	"hapair/pkg/vip"
)

// Op is one call recorded by Manager.
type Op struct {
	Kind string // "add" or "remove"
	VIP  vip.VIP
}

// Manager records VIPs per device. The zero value accepts any device; New
// with names accepts only those (and any later SetLink names).
type Manager struct {
	mu    sync.Mutex
	addrs map[string]map[netip.Prefix]vip.VIP
	ops   []Op
	links map[string]bool
	known bool // only the links named in New exist
	subs  map[string][]chan bool
	rmSub []chan vip.Removed
	// Err, when set, is returned by every Add and Remove.
	Err error
}

var (
	_ vip.Manager     = (*Manager)(nil)
	_ vip.LinkWatcher = (*Manager)(nil)
	_ vip.AddrWatcher = (*Manager)(nil)
)

// New returns a Manager whose interfaces are the given names, all up.
func New(links ...string) *Manager {
	m := &Manager{links: map[string]bool{}, known: len(links) > 0}
	for _, l := range links {
		m.links[l] = true
	}
	return m
}

func (m *Manager) check(dev string) error {
	if m.known {
		if _, ok := m.links[dev]; !ok {
			return fmt.Errorf("%w: %s", vip.ErrNoInterface, dev)
		}
	}
	return nil
}

// Add records the VIP; a duplicate is not an error.
func (m *Manager) Add(ctx context.Context, v vip.VIP) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	if err := m.check(v.Dev); err != nil {
		return err
	}
	if m.addrs == nil {
		m.addrs = map[string]map[netip.Prefix]vip.VIP{}
	}
	if m.addrs[v.Dev] == nil {
		m.addrs[v.Dev] = map[netip.Prefix]vip.VIP{}
	}
	m.addrs[v.Dev][v.Prefix] = v
	m.ops = append(m.ops, Op{"add", v})
	return nil
}

// Remove forgets the VIP; a missing one is not an error.
func (m *Manager) Remove(ctx context.Context, v vip.VIP) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	if err := m.check(v.Dev); err != nil {
		return err
	}
	if _, ok := m.addrs[v.Dev][v.Prefix]; ok {
		for _, c := range m.rmSub {
			select {
			case c <- vip.Removed{Dev: v.Dev, Addr: v.Prefix.Addr()}:
			default:
			}
		}
	}
	delete(m.addrs[v.Dev], v.Prefix)
	m.ops = append(m.ops, Op{"remove", v})
	return nil
}

// Has reports whether the VIP is recorded.
func (m *Manager) Has(v vip.VIP) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(v.Dev); err != nil {
		return false, err
	}
	_, ok := m.addrs[v.Dev][v.Prefix]
	return ok, nil
}

// Addrs lists the prefixes on dev, sorted.
func (m *Manager) Addrs(dev string) []netip.Prefix {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []netip.Prefix
	for p := range m.addrs[dev] {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Ops returns every Add and Remove in call order.
func (m *Manager) Ops() []Op {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Op(nil), m.ops...)
}

// SetLink changes an interface's state and tells its watchers.
func (m *Manager) SetLink(name string, up bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.links == nil {
		m.links = map[string]bool{}
	}
	if old, ok := m.links[name]; ok && old == up {
		return
	}
	m.links[name] = up
	for _, c := range m.subs[name] {
		c <- up
	}
}

// Watchers returns how many WatchLink calls on name are still watching
// (their context not done): a test's count of leaked watches.
func (m *Manager) Watchers(name string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.subs[name])
}

// WatchLink sends the state (up if unknown), then each SetLink change.
// Changes are buffered (64) so SetLink never blocks a test.
func (m *Manager) WatchLink(ctx context.Context, name string) (<-chan bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	up, ok := m.links[name]
	if m.known && !ok {
		return nil, fmt.Errorf("%w: %s", vip.ErrNoInterface, name)
	}
	if !ok {
		up = true
	}
	c := make(chan bool, 64)
	c <- up
	if m.subs == nil {
		m.subs = map[string][]chan bool{}
	}
	m.subs[name] = append(m.subs[name], c)
	go func() {
		<-ctx.Done()
		m.mu.Lock()
		defer m.mu.Unlock()
		subs := m.subs[name]
		for i, s := range subs {
			if s == c {
				m.subs[name] = append(subs[:i], subs[i+1:]...)
				break
			}
		}
		close(c)
	}()
	return c, nil
}

// DeleteExternally removes an address as an operator's `ip addr del`
// would: not through the Manager, but seen by WatchRemoved.
func (m *Manager) DeleteExternally(dev string, p netip.Prefix) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.addrs[dev], p)
	for _, c := range m.rmSub {
		select {
		case c <- vip.Removed{Dev: dev, Addr: p.Addr()}:
		default:
		}
	}
}

// WatchRemoved reports DeleteExternally and Remove calls (the kernel
// reports both).
func (m *Manager) WatchRemoved(ctx context.Context) (<-chan vip.Removed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := make(chan vip.Removed, 64)
	m.rmSub = append(m.rmSub, c)
	go func() {
		<-ctx.Done()
		m.mu.Lock()
		defer m.mu.Unlock()
		for i, s := range m.rmSub {
			if s == c {
				m.rmSub = append(m.rmSub[:i], m.rmSub[i+1:]...)
				break
			}
		}
		close(c)
	}()
	return c, nil
}
