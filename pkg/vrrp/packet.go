package vrrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// Protocol numbers and constants of RFC 3768 Section 5.2 and RFC 5798 Section 5.1.
const (
	// ProtocolVRRP is the IP protocol number of VRRP (RFC 5798, Section 5.1.1.4).
	ProtocolVRRP = 112
	// ProtocolAH is the IP protocol number of the IPsec Authentication Header,
	// which keepalived uses for auth_type AH (RFC 2402).
	ProtocolAH = 51
	// TTL is the IPv4 TTL / IPv6 hop limit adverts are sent with and, in
	// multicast mode, must arrive with (RFC 5798, Section 5.1.1.3).
	TTL = 255
	// TypeAdvertisement is the only VRRP packet type (RFC 5798, Section 5.2.2).
	TypeAdvertisement = 1
	// HeaderLen is the length of the fixed VRRP header.
	HeaderLen = 8
	// AuthDataLen is the length of the VRRPv2 authentication data after the
	// addresses (RFC 3768, Section 5.3.10), present only over IPv4.
	AuthDataLen = 8
	// MaxAdvertIntV3 is the largest VRRPv3 interval: 4095 centiseconds.
	MaxAdvertIntV3 = 4095 * 10 * time.Millisecond
	// MaxAdvertIntV2 is the largest VRRPv2 interval: 255 seconds.
	MaxAdvertIntV2 = 255 * time.Second
)

// The VRRP multicast groups (RFC 5798, Section 5.1.1.2 and 5.1.2.2).
var (
	GroupIPv4 = netip.AddrFrom4([4]byte{224, 0, 0, 18})
	GroupIPv6 = netip.MustParseAddr("ff02::12")
)

// AuthType is the VRRPv2 authentication type (RFC 3768, Section 5.3.6;
// keepalived's auth_type keyword). VRRPv3 has no authentication.
type AuthType uint8

// The authentication types keepalived knows.
const (
	AuthNone AuthType = 0 // no authentication
	AuthPass AuthType = 1 // simple text password, auth_type PASS
	AuthAH   AuthType = 2 // IPsec AH with HMAC-MD5-96, auth_type AH
)

// String returns keepalived's keyword for a, or "auth(N)".
func (a AuthType) String() string {
	switch a {
	case AuthNone:
		return "none"
	case AuthPass:
		return "PASS"
	case AuthAH:
		return "AH"
	}
	return fmt.Sprintf("auth(%d)", uint8(a))
}

// Errors returned by the codec. Each wraps into a more precise message with
// %w, so test them with errors.Is.
var (
	// ErrShort means the input ends before the length its headers announce.
	// It wraps io.ErrUnexpectedEOF.
	ErrShort = fmt.Errorf("vrrp: packet too short: %w", io.ErrUnexpectedEOF)
	// ErrLength means the input is longer than its headers announce, or an IP
	// total length disagrees with the bytes received.
	ErrLength = errors.New("vrrp: packet length mismatch")
	// ErrVersion means a VRRP version other than 2 or 3.
	ErrVersion = errors.New("vrrp: unsupported version")
	// ErrType means a VRRP type other than 1 (advertisement).
	ErrType = errors.New("vrrp: unknown packet type")
	// ErrChecksum means the VRRP checksum does not verify.
	ErrChecksum = errors.New("vrrp: bad checksum")
	// ErrAddrCount means more than 255 addresses, or addresses of the wrong
	// family for the packet.
	ErrAddrCount = errors.New("vrrp: bad address list")
	// ErrAuthType means an authentication type other than none, PASS or AH,
	// or authentication with VRRPv3 or IPv6.
	ErrAuthType = errors.New("vrrp: bad authentication type")
	// ErrAuth means authentication failed: wrong password, wrong ICV, or an
	// AH header that is not keepalived's (SPI, next header, length).
	ErrAuth = errors.New("vrrp: authentication failed")
	// ErrInterval means an advertisement interval that the version cannot
	// carry (v2: whole seconds up to 255; v3: centiseconds up to 40.95 s).
	ErrInterval = errors.New("vrrp: bad advertisement interval")
	// ErrPseudoHeader means a checksum needs source and destination
	// addresses (VRRPv3, and any VRRP over IPv6) and none were given.
	ErrPseudoHeader = errors.New("vrrp: checksum needs source and destination addresses")
	// ErrIPHeader means an IP header that is not IPv4 carrying VRRP or AH.
	ErrIPHeader = errors.New("vrrp: bad IP header")
)

// Advertisement is a VRRP advertisement (RFC 3768 Section 5.3 for v2,
// RFC 5798 Section 5.2 for v3).
type Advertisement struct {
	Version  int   // 2 or 3
	Type     int   // 1 = advertisement
	VRID     uint8 // virtual router ID
	Priority uint8 // 0 = master resigning, 255 = address owner
	// AuthType is the v2 authentication type; for v3 it must be AuthNone.
	AuthType AuthType
	// AdvertInt is the advertisement interval: whole seconds for v2,
	// centiseconds for v3 (max 40.95 s).
	AdvertInt time.Duration
	// Addresses are the virtual IP addresses, all IPv4 or all IPv6.
	Addresses []netip.Addr
	// Password is the v2-over-IPv4 authentication data: the 8 bytes after the
	// addresses. keepalived puts the NUL-padded password there for PASS and
	// zeros otherwise. It is written as given.
	Password [AuthDataLen]byte
	// Checksum is the checksum as read; Marshal computes it.
	Checksum uint16
}

// MarshalBinary encodes a VRRPv2 advertisement over IPv4, whose checksum
// has no pseudo-header. For VRRPv3 use Marshal.
func (a *Advertisement) MarshalBinary() ([]byte, error) {
	return a.Marshal(netip.Addr{}, netip.Addr{})
}

// Marshal encodes the advertisement for an IP packet from src to dst and
// computes its checksum: VRRPv2 over IPv4 without a pseudo-header (src and
// dst may be zero then), VRRPv3 and anything over IPv6 with the IPv4 or
// IPv6 pseudo-header (RFC 5798, Section 5.2.8). The family comes from src,
// IPv4 when src is zero. keepalived computes the v3 pseudo-header with the
// real destination, the peer's address in unicast mode.
func (a *Advertisement) Marshal(src, dst netip.Addr) ([]byte, error) {
	return a.appendMarshal(nil, src, dst)
}

// appendMarshal is Marshal appending to buf: a sender reusing its buffer
// builds an advert without allocating.
func (a *Advertisement) appendMarshal(buf []byte, src, dst netip.Addr) ([]byte, error) {
	v6 := src.Is6() && !src.Is4In6()
	if err := a.validate(v6); err != nil {
		return nil, err
	}
	needPseudo := v6 || a.Version == 3
	if needPseudo && (!src.IsValid() || !dst.IsValid() || src.Is6() != dst.Is6()) {
		return nil, fmt.Errorf("%w (version %d)", ErrPseudoHeader, a.Version)
	}
	start := len(buf)
	buf = append(buf, make([]byte, a.len(v6))...)
	b := buf[start:]
	clear(b)
	b[0] = byte(a.Version<<4) | byte(a.Type)
	b[1] = a.VRID
	b[2] = a.Priority
	b[3] = byte(len(a.Addresses))
	if a.Version == 2 {
		b[4] = byte(a.AuthType)
		b[5] = byte(a.AdvertInt / time.Second)
	} else {
		binary.BigEndian.PutUint16(b[4:6], uint16(a.AdvertInt/(10*time.Millisecond)))
	}
	off := HeaderLen
	for _, ip := range a.Addresses {
		switch {
		case !ip.IsValid(): // as AsSlice: nothing written
		case ip.Is4():
			a4 := ip.As4()
			off += copy(b[off:], a4[:])
		default:
			a16 := ip.As16()
			off += copy(b[off:], a16[:])
		}
	}
	if a.Version == 2 && !v6 {
		copy(b[off:], a.Password[:])
	}
	var sum uint32
	if needPseudo {
		sum = pseudoHeaderSum(src, dst, len(b))
	}
	a.Checksum = checksum(b, sum)
	binary.BigEndian.PutUint16(b[6:8], a.Checksum)
	return buf, nil
}

// validate checks what Marshal needs before writing.
func (a *Advertisement) validate(v6 bool) error {
	switch a.Version {
	case 2:
		if a.AdvertInt < 0 || a.AdvertInt > MaxAdvertIntV2 || a.AdvertInt%time.Second != 0 {
			return fmt.Errorf("%w: %v is not whole seconds up to 255 (version 2)", ErrInterval, a.AdvertInt)
		}
		if a.AuthType > AuthAH || (v6 && a.AuthType != AuthNone) {
			return fmt.Errorf("%w: %v", ErrAuthType, a.AuthType)
		}
	case 3:
		if a.AdvertInt < 0 || a.AdvertInt > MaxAdvertIntV3 || a.AdvertInt%(10*time.Millisecond) != 0 {
			return fmt.Errorf("%w: %v is not centiseconds up to 40.95s (version 3)", ErrInterval, a.AdvertInt)
		}
		if a.AuthType != AuthNone {
			return fmt.Errorf("%w: %v with version 3", ErrAuthType, a.AuthType)
		}
	default:
		return fmt.Errorf("%w: %d", ErrVersion, a.Version)
	}
	if a.Type != TypeAdvertisement {
		return fmt.Errorf("%w: %d", ErrType, a.Type)
	}
	if len(a.Addresses) > 255 {
		return fmt.Errorf("%w: %d addresses, at most 255", ErrAddrCount, len(a.Addresses))
	}
	for _, ip := range a.Addresses {
		if v6 && !ip.Is6() || !v6 && !ip.Is4() {
			return fmt.Errorf("%w: %v in an IPv%s packet", ErrAddrCount, ip, map[bool]string{true: "6", false: "4"}[v6])
		}
	}
	return nil
}

// len is the encoded length.
func (a *Advertisement) len(v6 bool) int {
	if v6 {
		return HeaderLen + 16*len(a.Addresses)
	}
	n := HeaderLen + 4*len(a.Addresses)
	if a.Version == 2 {
		n += AuthDataLen
	}
	return n
}

// UnmarshalBinary decodes an advertisement carried over IPv4. It validates
// the length against the address count, the version, the type, the
// authentication type and, for VRRPv2, the checksum. A VRRPv3 checksum
// covers a pseudo-header: use Unmarshal to verify it.
func (a *Advertisement) UnmarshalBinary(b []byte) error {
	return a.unmarshal(b, false)
}

// Unmarshal decodes an advertisement received in an IP packet from src to
// dst (the family comes from src) and verifies its checksum, with the
// pseudo-header for VRRPv3 and for IPv6.
func (a *Advertisement) Unmarshal(b []byte, src, dst netip.Addr) error {
	v6 := src.Is6() && !src.Is4In6()
	if err := a.unmarshal(b, v6); err != nil {
		return err
	}
	if a.Version == 3 || v6 {
		if !src.IsValid() || !dst.IsValid() || src.Is6() != dst.Is6() {
			return ErrPseudoHeader
		}
		if c := checksum(b, pseudoHeaderSum(src, dst, len(b))); c != 0 {
			return fmt.Errorf("%w: 0x%04x from %v to %v", ErrChecksum, a.Checksum, src, dst)
		}
	}
	return nil
}

func (a *Advertisement) unmarshal(b []byte, v6 bool) error {
	if len(b) < HeaderLen {
		return fmt.Errorf("%w: %d bytes, the header needs %d", ErrShort, len(b), HeaderLen)
	}
	*a = Advertisement{
		Version:  int(b[0] >> 4),
		Type:     int(b[0] & 0x0f),
		VRID:     b[1],
		Priority: b[2],
		Checksum: binary.BigEndian.Uint16(b[6:8]),
	}
	switch a.Version {
	case 2:
		a.AuthType = AuthType(b[4])
		a.AdvertInt = time.Duration(b[5]) * time.Second
		if a.AuthType > AuthAH || (v6 && a.AuthType != AuthNone) {
			return fmt.Errorf("%w: %v", ErrAuthType, a.AuthType)
		}
	case 3:
		a.AdvertInt = time.Duration(binary.BigEndian.Uint16(b[4:6])&0x0fff) * 10 * time.Millisecond
	default:
		return fmt.Errorf("%w: %d", ErrVersion, a.Version)
	}
	if a.Type != TypeAdvertisement {
		return fmt.Errorf("%w: %d", ErrType, a.Type)
	}
	count := int(b[3])
	a.Addresses = make([]netip.Addr, count)
	want := a.len(v6)
	if len(b) < want {
		return fmt.Errorf("%w: %d bytes, %d addresses need %d", ErrShort, len(b), count, want)
	}
	if len(b) > want {
		return fmt.Errorf("%w: %d bytes, %d addresses need %d", ErrLength, len(b), count, want)
	}
	off := HeaderLen
	for i := range a.Addresses {
		if v6 {
			a.Addresses[i] = netip.AddrFrom16([16]byte(b[off : off+16]))
			off += 16
		} else {
			a.Addresses[i] = netip.AddrFrom4([4]byte(b[off : off+4]))
			off += 4
		}
	}
	if a.Version == 2 && !v6 {
		copy(a.Password[:], b[off:])
		if c := checksum(b, 0); c != 0 {
			return fmt.Errorf("%w: 0x%04x", ErrChecksum, a.Checksum)
		}
	}
	return nil
}

// checksum is the Internet checksum of RFC 1071 over b, starting from the
// partial (unfolded) sum. Over data that includes a correct checksum it
// returns 0.
func checksum(b []byte, sum uint32) uint16 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// pseudoHeaderSum is the unfolded sum of the IPv4 (RFC 768) or IPv6
// (RFC 8200, Section 8.1) pseudo-header for protocol 112.
func pseudoHeaderSum(src, dst netip.Addr, length int) uint32 {
	var sum uint32
	for _, ip := range []netip.Addr{src, dst} {
		s := ip.AsSlice()
		for i := 0; i+1 < len(s); i += 2 {
			sum += uint32(s[i])<<8 | uint32(s[i+1])
		}
	}
	return sum + ProtocolVRRP + uint32(length)&0xffff + uint32(length)>>16
}
