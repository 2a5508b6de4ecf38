package haproxycfg

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
)

// Dynamic persistence cookies (section 4.2, "cookie ... dynamic" and
// "dynamic-cookie-key"): a server without `cookie VALUE` gets, as haproxy
// 2.6's srv_set_dyncookie computes it, the XXH64 (seed 0) of the key, the
// server's address (4 or 16 bytes) and its port (4 bytes, network order),
// in 16 lower-case hex digits, so that every load balancer sharing the key
// names a server alike.

// setDynCookies gives the servers of a proxy with dynamic cookies their
// value; a server named by a hostname (its address is known only once
// resolved) is refused.
func (p *parser) setDynCookies(ps *proxyState) {
	px := ps.px
	if px.Cookie == nil || !px.Cookie.Dynamic || px.DynamicCookieKey == "" {
		return
	}
	for _, s := range px.Servers {
		if s.Cookie != "" || s.Sock.IsSet() {
			continue
		}
		a, err := netip.ParseAddr(s.Host)
		if err != nil {
			p.postDiag(Alert, s.Pos, "cookie", "'server %s/%s' : a dynamic cookie for a server named by a hostname is not implemented by gproxy: give its address, or a 'cookie' value", px.Name, s.Name)
			continue
		}
		s.Cookie = DynCookie(px.DynamicCookieKey, a, s.Port)
	}
}

// DynCookie is the dynamic cookie of a server at addr:port under key.
func DynCookie(key string, addr netip.Addr, port int) string {
	b := []byte(key)
	if addr.Is4() || addr.Is4In6() {
		a := addr.Unmap().As4()
		b = append(b, a[:]...)
	} else {
		a := addr.As16()
		b = append(b, a[:]...)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(port))
	return fmt.Sprintf("%016x", xxh64(b))
}

const (
	xxP1 uint64 = 11400714785074694791
	xxP2 uint64 = 14029467366897019727
	xxP3 uint64 = 1609587929392839161
	xxP4 uint64 = 9650029242287828579
	xxP5 uint64 = 2870177450012600261
)

func xxRound(acc, in uint64) uint64 {
	acc += in * xxP2
	return bits.RotateLeft64(acc, 31) * xxP1
}

func xxMerge(acc, v uint64) uint64 {
	acc ^= xxRound(0, v)
	return acc*xxP1 + xxP4
}

// xxh64 is XXH64 with seed 0.
func xxh64(b []byte) uint64 {
	n := uint64(len(b))
	var h uint64
	if len(b) >= 32 {
		p1, p2 := xxP1, xxP2 // variables: the sums wrap around
		v1, v2, v3, v4 := p1+p2, p2, uint64(0), -p1
		for len(b) >= 32 {
			v1 = xxRound(v1, binary.LittleEndian.Uint64(b))
			v2 = xxRound(v2, binary.LittleEndian.Uint64(b[8:]))
			v3 = xxRound(v3, binary.LittleEndian.Uint64(b[16:]))
			v4 = xxRound(v4, binary.LittleEndian.Uint64(b[24:]))
			b = b[32:]
		}
		h = bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) + bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
		h = xxMerge(h, v1)
		h = xxMerge(h, v2)
		h = xxMerge(h, v3)
		h = xxMerge(h, v4)
	} else {
		h = xxP5
	}
	h += n
	for len(b) >= 8 {
		h ^= xxRound(0, binary.LittleEndian.Uint64(b))
		h = bits.RotateLeft64(h, 27)*xxP1 + xxP4
		b = b[8:]
	}
	if len(b) >= 4 {
		h ^= uint64(binary.LittleEndian.Uint32(b)) * xxP1
		h = bits.RotateLeft64(h, 23)*xxP2 + xxP3
		b = b[4:]
	}
	for _, c := range b {
		h ^= uint64(c) * xxP5
		h = bits.RotateLeft64(h, 11) * xxP1
	}
	h ^= h >> 33
	h *= xxP2
	h ^= h >> 29
	h *= xxP3
	h ^= h >> 32
	return h
}
