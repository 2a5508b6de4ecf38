package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"hapair/pkg/haproxycfg"
)

// Listening sockets as haproxy 2.6 opens them (configuration manual 4.2
// "bind" and 5.1 "v4v6", "v6only", "transparent"):
//   - a wildcard address without a family prefix (`*:80`, `:80`) is IPv4
//     only (0.0.0.0); `ipv6@:80` or `:::80` is the IPv6 wildcard;
//   - an IPv6 socket accepts IPv4 too unless `v6only`, `v4v6` forces it to,
//     and without either the system's net.ipv6.bindv6only decides (haproxy
//     leaves the socket option alone; Go always sets it, so we set it back);
//   - a foreign (non-local) address can be bound only with `transparent`
//     (IP_TRANSPARENT, else IP_FREEBIND) or when net.ipv4.ip_nonlocal_bind /
//     net.ipv6.ip_nonlocal_bind allow it;
//   - SO_REUSEPORT, so that during a reload the new process can bind an
//     address the old one still holds.

// BindSockAddr is the socket address of a bind line: its family and IP,
// the wildcard of the family when the host is empty. ok is false when the
// host is not an IP literal (a name not resolved yet).
func BindSockAddr(b haproxycfg.Bind) (ap netip.AddrPort, ok bool) {
	var ip netip.Addr
	switch {
	case b.Host != "":
		a, err := netip.ParseAddr(b.Host)
		if err != nil {
			return netip.AddrPort{}, false
		}
		ip = a.Unmap()
		if b.Family == haproxycfg.FamilyIPv6 && ip.Is4() {
			ip = netip.AddrFrom16(ip.As16())
		}
	case b.Family == haproxycfg.FamilyIPv6:
		ip = netip.IPv6Unspecified()
	default:
		ip = netip.IPv4Unspecified()
	}
	return netip.AddrPortFrom(ip, uint16(b.Port)), true
}

// BindString is the address as haproxy's bind errors print it:
// "0.0.0.0:80", ":::80", "2001:db8::1:80".
func BindString(b haproxycfg.Bind) string {
	ap, ok := BindSockAddr(b)
	if !ok {
		return b.Host + ":" + strconv.Itoa(b.Port)
	}
	return ap.Addr().String() + ":" + strconv.Itoa(int(ap.Port()))
}

// sockOpts are the options a listening socket of a bind line must carry.
type sockOpts struct {
	v6       bool
	v6only   bool // for v6 sockets
	foreign  bool // `transparent`
	setV6Opt bool // false when the system default is unreadable and nothing forces it
}

func bindOpts(b haproxycfg.Bind, ap netip.AddrPort) sockOpts {
	o := sockOpts{v6: ap.Addr().Is6(), foreign: b.Transparent, setV6Opt: true}
	switch {
	case b.V6Only:
		o.v6only = true
	case b.V4V6:
		o.v6only = false
	default:
		def, err := systemV6Only()
		o.v6only, o.setV6Opt = def, err == nil
	}
	return o
}

// ListenBind opens the listening socket of one bind line.
func ListenBind(b haproxycfg.Bind) (*net.TCPListener, error) {
	ap, ok := BindSockAddr(b)
	if !ok {
		return nil, fmt.Errorf("bind address %q is not an IP address", b.Host)
	}
	o := bindOpts(b, ap)
	network := "tcp4"
	if o.v6 {
		network = "tcp6"
	}
	// KeepAlive -1: accepted sockets get no TCP keep-alive, haproxy's
	// default without `option clitcpka`. Listeners inherited from a master
	// or an old process (net.FileListener) cannot carry this setting:
	// keepAliveOff undoes Go's default on their connections.
	lc := net.ListenConfig{KeepAlive: -1, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = o.apply(int(fd)) }); err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), network, ap.String())
	if err != nil {
		return nil, err
	}
	return ln.(*net.TCPListener), nil
}

// Compatible reports whether an open listener (inherited on reload) is the
// socket bind b asks for: same address and family, same IPv6-only and
// transparent settings. An incompatible one must not be reused: the new
// configuration would be served with the old one's properties.
func Compatible(ln *net.TCPListener, b haproxycfg.Bind) bool {
	want, ok := BindSockAddr(b)
	if !ok {
		return false
	}
	got, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return false
	}
	gap := got.AddrPort()
	// The family is compared by matches (SO_DOMAIN); Go reports an IPv4
	// socket's address in IPv6 form.
	if gap.Port() != want.Port() || gap.Addr().Unmap() != want.Addr().Unmap() {
		return false
	}
	o := bindOpts(b, want)
	rc, err := ln.SyscallConn()
	if err != nil {
		return false
	}
	match := false
	if err := rc.Control(func(fd uintptr) { match = o.matches(int(fd)) }); err != nil {
		return false
	}
	return match
}

// errNotTransparent is haproxy's reason when `transparent` cannot be
// honoured.
var errNotTransparent = errors.New("cannot make receiving socket transparent")

// clientListener is the listener of f's bind i as the sessions take it:
// plain mode tcp binds accept raw sockets (rawListen: only in the relay's
// epoll set); the others get Go's connections with clientKeepAlive.
func (e *Engine) clientListener(f *Frontend, i int, ln net.Listener) net.Listener {
	if f.px.Mode != haproxycfg.ModeHTTP && i < len(f.px.Binds) && f.px.Binds[i].TLS == nil {
		var ka *net.KeepAliveConfig
		if f.px.ClientKeepAlive.On {
			cfg := systemKeepAlive(f.px.ClientKeepAlive)
			ka = &cfg
		}
		// A specific address, not transparent: it is every accepted
		// socket's local address, no getsockname needed.
		var local *net.TCPAddr
		if la, ok := ln.Addr().(*net.TCPAddr); ok && !la.IP.IsUnspecified() && !f.px.Binds[i].Transparent {
			local = la
		}
		if rl := rawListen(ln, ka, local, e.stop); rl != nil {
			e.rawListeners = append(e.rawListeners, rl) // Serve holds e.mu
			return rl
		}
	}
	return clientKeepAlive(ln, f.px.ClientKeepAlive)
}

// clientKeepAlive wraps a TCP listener so that its connections have TCP
// keep-alive as the frontend's `option clitcpka` says: off without it
// (haproxy's default), on with its clitcpka-* settings, else the
// system's. Go's accept turns keep-alive on (15 s probes) for a listener
// made by net.FileListener, which a -W worker's inherited sockets are:
// without clitcpka the first connection tells (one getsockopt) whether
// the listener is such one, and then each of its connections costs one
// setsockopt, the others nothing.
func clientKeepAlive(ln net.Listener, ka haproxycfg.TCPKeepAlive) net.Listener {
	if tl, ok := ln.(*net.TCPListener); ok {
		l := &kaListener{TCPListener: tl, on: ka.On}
		if ka.On {
			l.cfg = systemKeepAlive(ka)
		}
		return l
	}
	return ln
}

type kaListener struct {
	*net.TCPListener
	on    bool
	cfg   net.KeepAliveConfig
	state atomic.Int32 // without clitcpka: 0 not known yet, 1 keep-alive off, 2 on
}

func (l *kaListener) Accept() (net.Conn, error) {
	c, err := l.TCPListener.AcceptTCP()
	if err != nil {
		return nil, err
	}
	if l.on {
		_ = c.SetKeepAliveConfig(l.cfg)
		return c, nil
	}
	switch l.state.Load() {
	case 1:
		return c, nil
	case 0:
		on := false
		if rc, err := c.SyscallConn(); err == nil {
			_ = rc.Control(func(fd uintptr) {
				v, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
				on = err == nil && v != 0
			})
		}
		if !on {
			l.state.Store(1)
			return c, nil
		}
		l.state.Store(2)
	}
	_ = c.SetKeepAlive(false)
	return c, nil
}

// serverDialer is the dialer of a backend's connections to its servers:
// connect timeout, and TCP keep-alive as `option srvtcpka` says (a fresh
// socket keeps the system's values for the settings not given).
func serverDialer(px *haproxycfg.Proxy, timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout, KeepAlive: -1}
	if ka := px.ServerKeepAlive; ka.On {
		d.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1}
		if ka.Idle > 0 {
			d.KeepAliveConfig.Idle = ka.Idle
		}
		if ka.Interval > 0 {
			d.KeepAliveConfig.Interval = ka.Interval
		}
		if ka.Count > 0 {
			d.KeepAliveConfig.Count = ka.Count
		}
	}
	return d
}

// systemKeepAlive is ka with the system's values (net.ipv4.tcp_keepalive_*)
// for the settings it does not give: an inherited listener's connections
// carry Go's 15 s values, which haproxy never uses.
func systemKeepAlive(ka haproxycfg.TCPKeepAlive) net.KeepAliveConfig {
	sys := sysKeepAlive()
	cfg := net.KeepAliveConfig{Enable: true, Idle: sys.Idle, Interval: sys.Interval, Count: sys.Count}
	if ka.Idle > 0 {
		cfg.Idle = ka.Idle
	}
	if ka.Interval > 0 {
		cfg.Interval = ka.Interval
	}
	if ka.Count > 0 {
		cfg.Count = ka.Count
	}
	return cfg
}

// sysKeepAlive reads the system's keep-alive settings once; -1 (leave
// as is) for what cannot be read.
var sysKeepAlive = sync.OnceValue(func() net.KeepAliveConfig {
	read := func(name string) int {
		b, err := os.ReadFile("/proc/sys/net/ipv4/" + name)
		if err != nil {
			return -1
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || n <= 0 {
			return -1
		}
		return n
	}
	secs := func(n int) time.Duration {
		if n < 0 {
			return -1
		}
		return time.Duration(n) * time.Second
	}
	return net.KeepAliveConfig{Idle: secs(read("tcp_keepalive_time")), Interval: secs(read("tcp_keepalive_intvl")), Count: read("tcp_keepalive_probes")}
})
