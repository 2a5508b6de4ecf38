package vrrp

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Sizes of the headers keepalived writes.
const (
	// IPv4HeaderLen is the IPv4 header keepalived builds: no options.
	IPv4HeaderLen = 20
	// AHLen is keepalived's AH header: 12 fixed bytes and a 12-byte ICV
	// (RFC 2402, Section 2).
	AHLen = 24
	// ICVLen is the length of HMAC-MD5-96 (RFC 2403).
	ICVLen = 12
	// ahPayloadLen is the AH Payload Len field: AH length in 32-bit words
	// minus 2 (RFC 2402, Section 2.2).
	ahPayloadLen = AHLen/4 - 2
	// TOS is keepalived's IPv4 type of service: internetwork control.
	TOS = 0xc0
)

// Key is the 8-byte VRRPv2 authentication data: the PASS password put after
// the addresses, or the HMAC-MD5 key of AH.
type Key [AuthDataLen]byte

// NewKey returns keepalived's key for auth_pass: the password cut to 8
// bytes ("Truncating auth_pass to 8 characters") and padded with NULs.
func NewKey(pass string) Key {
	var k Key
	copy(k[:], pass)
	return k
}

// IPv4Datagram is a whole IPv4 VRRP datagram as keepalived 2.2.7 builds it
// with IP_HDRINCL: a 20-byte IP header, an AH header when the
// advertisement's AuthType is AuthAH (then the IP protocol is 51, else 112),
// and the advertisement.
type IPv4Datagram struct {
	TOS uint8  // keepalived: 0xc0
	ID  uint16 // keepalived counts from 1 per instance, skipping 0
	// Flags and fragment offset; keepalived sends 0 (no DF). Decoded only.
	FragOff  uint16
	TTL      uint8 // 255, or unicast_ttl
	Protocol uint8 // as read; Marshal derives it from Advert.AuthType
	Src, Dst netip.Addr
	// AH fields, used when Advert.AuthType is AuthAH.
	SPI uint32 // keepalived: the source address as a big-endian number
	Seq uint32 // the AH sequence number
	// NextHeader is the AH next header as read; Marshal writes 112.
	NextHeader uint8
	ICV        [ICVLen]byte // as read; Marshal computes it
	// IPChecksum is the IP header checksum as read; Marshal computes it.
	IPChecksum uint16
	Advert     Advertisement
	// header is the raw IP header as read (options included).
	header []byte
}

// Marshal encodes the full datagram, IP header checksum filled in (the
// kernel would fill it with IP_HDRINCL anyway) and, for AH, the ICV computed
// with key as keepalived does: HMAC-MD5-96 over the IP header with TOS,
// flags/fragment offset and checksum zeroed (and the TTL when unicast is
// true), the AH header with a zero ICV, and the VRRP message. For PASS, the
// key is written as the advertisement's password. The advertisement's
// checksum is computed first; the ICV covers it.
func (d *IPv4Datagram) Marshal(key Key, unicast bool) ([]byte, error) {
	return d.appendMarshal(nil, key, unicast)
}

// appendMarshal is Marshal appending to buf (the header first, then the
// advert written in place): a sender reusing its buffer builds a datagram
// without allocating.
func (d *IPv4Datagram) appendMarshal(buf []byte, key Key, unicast bool) ([]byte, error) {
	if !d.Src.Is4() || !d.Dst.Is4() {
		return nil, fmt.Errorf("%w: IPv4 datagram from %v to %v", ErrIPHeader, d.Src, d.Dst)
	}
	adv := &d.Advert
	pass := adv.Password
	if adv.Version == 2 && adv.AuthType == AuthPass {
		adv.Password = key
	}
	ah := adv.Version == 2 && adv.AuthType == AuthAH
	hlen := IPv4HeaderLen
	d.Protocol = ProtocolVRRP
	if ah {
		hlen += AHLen
		d.Protocol = ProtocolAH
	}
	start := len(buf)
	buf = append(buf, make([]byte, hlen)...)
	buf, err := adv.appendMarshal(buf, d.Src, d.Dst)
	if err != nil {
		adv.Password = pass
		return nil, err
	}
	b := buf[start:]
	clear(b[:hlen])
	n := len(b)
	b[0] = 0x45
	b[1] = d.TOS
	binary.BigEndian.PutUint16(b[2:4], uint16(n))
	binary.BigEndian.PutUint16(b[4:6], d.ID)
	binary.BigEndian.PutUint16(b[6:8], d.FragOff)
	b[8] = d.TTL
	b[9] = d.Protocol
	s4, d4 := d.Src.As4(), d.Dst.As4()
	copy(b[12:16], s4[:])
	copy(b[16:20], d4[:])
	if ah {
		h := b[IPv4HeaderLen : IPv4HeaderLen+AHLen]
		h[0] = ProtocolVRRP
		h[1] = ahPayloadLen
		binary.BigEndian.PutUint32(h[4:8], d.SPI)
		binary.BigEndian.PutUint32(h[8:12], d.Seq)
		d.NextHeader = ProtocolVRRP
		d.ICV = computeICV(b, IPv4HeaderLen, key, unicast)
		copy(h[12:], d.ICV[:])
	}
	d.IPChecksum = checksum(b[:IPv4HeaderLen], 0)
	binary.BigEndian.PutUint16(b[10:12], d.IPChecksum)
	return buf, nil
}

// ParseIPv4 decodes a whole IPv4 datagram (IP header with options, AH when
// the protocol is 51, the VRRP message). It checks the structure and the
// VRRP checksum, not the authentication: see VerifyICV and Check.
func ParseIPv4(b []byte) (*IPv4Datagram, error) {
	d, vrrp, err := parseIPv4Header(b)
	if err != nil {
		return nil, err
	}
	if err := d.Advert.Unmarshal(vrrp, d.Src, d.Dst); err != nil {
		return nil, err
	}
	return d, nil
}

// parseIPv4Header decodes the IP and AH headers and returns the VRRP bytes.
// It needs the whole IP header and AH header; the VRRP part is unchecked.
func parseIPv4Header(b []byte) (*IPv4Datagram, []byte, error) {
	if len(b) < IPv4HeaderLen {
		return nil, nil, fmt.Errorf("%w: %d bytes, an IPv4 header needs 20", ErrShort, len(b))
	}
	if b[0]>>4 != 4 {
		return nil, nil, fmt.Errorf("%w: IP version %d", ErrIPHeader, b[0]>>4)
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < IPv4HeaderLen {
		return nil, nil, fmt.Errorf("%w: header length %d", ErrIPHeader, ihl)
	}
	if len(b) < ihl {
		return nil, nil, fmt.Errorf("%w: %d bytes, IP header length %d", ErrShort, len(b), ihl)
	}
	d := &IPv4Datagram{
		TOS:        b[1],
		ID:         binary.BigEndian.Uint16(b[4:6]),
		FragOff:    binary.BigEndian.Uint16(b[6:8]),
		TTL:        b[8],
		Protocol:   b[9],
		IPChecksum: binary.BigEndian.Uint16(b[10:12]),
		Src:        netip.AddrFrom4([4]byte(b[12:16])),
		Dst:        netip.AddrFrom4([4]byte(b[16:20])),
		header:     b[:ihl],
	}
	rest := b[ihl:]
	switch d.Protocol {
	case ProtocolVRRP:
	case ProtocolAH:
		if len(rest) < AHLen {
			return nil, nil, fmt.Errorf("%w: %d bytes after the IP header, AH needs %d", ErrShort, len(rest), AHLen)
		}
		if rest[1] != ahPayloadLen {
			return nil, nil, fmt.Errorf("%w: AH payload length %d, keepalived sends %d", ErrAuth, rest[1], ahPayloadLen)
		}
		d.NextHeader = rest[0]
		d.SPI = binary.BigEndian.Uint32(rest[4:8])
		d.Seq = binary.BigEndian.Uint32(rest[8:12])
		copy(d.ICV[:], rest[12:AHLen])
		rest = rest[AHLen:]
	default:
		return nil, nil, fmt.Errorf("%w: protocol %d", ErrIPHeader, d.Protocol)
	}
	return d, rest, nil
}

// VerifyICV reports whether the AH ICV of the whole IPv4 datagram b (as
// received, IP header included) verifies with key, comparing in constant
// time as keepalived does. unicast zeroes the TTL in the computation, as
// keepalived does for instances with unicast peers.
func VerifyICV(b []byte, key Key, unicast bool) bool {
	if len(b) < IPv4HeaderLen {
		return false
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < IPv4HeaderLen || len(b) < ihl+AHLen {
		return false
	}
	icv := computeICV(b, ihl, key, unicast)
	return subtle.ConstantTimeCompare(icv[:], b[ihl+12:ihl+AHLen]) == 1
}

// computeICV is HMAC-MD5-96 over the datagram b whose IP header is ihl
// bytes, with the mutable fields zeroed as keepalived zeroes them (vrrp.c,
// vrrp_update_pkt and vrrp_in_chk_ipsecah): TOS, flags and fragment offset,
// IP checksum, TTL when unicast, and the ICV itself.
func computeICV(b []byte, ihl int, key Key, unicast bool) [ICVLen]byte {
	hdr := make([]byte, ihl+AHLen)
	copy(hdr, b[:ihl+AHLen])
	hdr[1] = 0
	hdr[6], hdr[7] = 0, 0
	hdr[10], hdr[11] = 0, 0
	if unicast {
		hdr[8] = 0
	}
	clear(hdr[ihl+12:])
	m := hmac.New(md5.New, key[:])
	m.Write(hdr)
	m.Write(b[ihl+AHLen:])
	var icv [ICVLen]byte
	copy(icv[:], m.Sum(nil))
	return icv
}

// SPIFor returns keepalived's SPI for a sender: its IPv4 address read as a
// big-endian number (192.168.1.80 is 0xc0a80150).
func SPIFor(src netip.Addr) uint32 {
	if !src.Is4() {
		return 0
	}
	a := src.As4()
	return binary.BigEndian.Uint32(a[:])
}
