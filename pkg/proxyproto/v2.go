package proxyproto

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net/netip"
)

// Signature is the 12 bytes that begin a version 2 header (section 2.2).
const Signature = "\r\n\r\n\x00\r\nQUIT\n"

const (
	v2HeaderLen = 16
	lenInet     = 12  // two IPv4 addresses, two ports
	lenInet6    = 36  // two IPv6 addresses, two ports
	lenUnix     = 216 // two 108-byte paths

	// MaxAuthority is the longest TypeAuthority value haproxy 2.6 takes
	// (PP2_AUTHORITY_MAX); a longer one is an invalid header there.
	MaxAuthority = 255
	// MaxUniqueID is the longest TypeUniqueID value (section 2.2.6).
	MaxUniqueID = 128
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// parseV2 reads a version 2 header (section 2.2). A LOCAL header's
// address block and TLVs are skipped unread, as the specification and
// haproxy 2.6 do.
func (h *Header) parseV2(b []byte) (int, error) {
	n := min(len(b), len(Signature))
	if string(b[:n]) != Signature[:n] {
		return 0, ErrNotHeader
	}
	if len(b) < v2HeaderLen {
		return 0, errShort
	}
	if b[12]>>4 != 2 {
		return 0, fmt.Errorf("%w: version %d", ErrNotHeader, b[12]>>4)
	}
	total := v2HeaderLen + int(binary.BigEndian.Uint16(b[14:16]))
	if len(b) < total {
		return 0, errShort
	}
	hdr := b[:total]
	nh := Header{Version: 2, Command: Command(b[12] & 0xf), Family: Family(b[13] >> 4), Transport: Transport(b[13] & 0xf)}
	switch nh.Command {
	case CmdLocal:
		// The family byte is discarded with the addresses (section 2.2).
		*h = Header{Version: 2, Command: CmdLocal}
		return total, nil
	case CmdProxy:
	default:
		return 0, fmt.Errorf("%w: command %d", ErrBadHeader, nh.Command)
	}
	if nh.Transport > TransportDgram {
		return 0, fmt.Errorf("%w: transport %d", ErrBadHeader, nh.Transport)
	}
	body := hdr[v2HeaderLen:]
	off := 0
	switch nh.Family {
	case FamilyUnspec:
	case FamilyInet:
		if len(body) < lenInet {
			return 0, fmt.Errorf("%w: %d bytes for IPv4 addresses", ErrBadHeader, len(body))
		}
		nh.Source = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[0:4])), binary.BigEndian.Uint16(body[8:10]))
		nh.Destination = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[4:8])), binary.BigEndian.Uint16(body[10:12]))
		off = lenInet
	case FamilyInet6:
		if len(body) < lenInet6 {
			return 0, fmt.Errorf("%w: %d bytes for IPv6 addresses", ErrBadHeader, len(body))
		}
		nh.Source = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[0:16])), binary.BigEndian.Uint16(body[32:34]))
		nh.Destination = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[16:32])), binary.BigEndian.Uint16(body[34:36]))
		off = lenInet6
	case FamilyUnix:
		if len(body) < lenUnix {
			return 0, fmt.Errorf("%w: %d bytes for UNIX addresses", ErrBadHeader, len(body))
		}
		nh.UnixSource = [108]byte(body[0:108])
		nh.UnixDestination = [108]byte(body[108:216])
		off = lenUnix
	default:
		return 0, fmt.Errorf("%w: family %d", ErrBadHeader, nh.Family)
	}
	tlvs, err := parseTLVs(hdr, v2HeaderLen+off)
	if err != nil {
		return 0, err
	}
	nh.TLVs = tlvs
	*h = nh
	return total, nil
}

// parseTLVs reads the TLVs of hdr (a whole header) from off on, with
// haproxy 2.6's checks: each TLV fits in the header, a CRC32C is 4 bytes
// and matches, an authority or unique ID is not too long.
func parseTLVs(hdr []byte, off int) ([]TLV, error) {
	var tlvs []TLV
	for off < len(hdr) {
		if off+3 > len(hdr) {
			return nil, fmt.Errorf("%w: truncated TLV", ErrBadHeader)
		}
		t, l := hdr[off], int(binary.BigEndian.Uint16(hdr[off+1:off+3]))
		if off+3+l > len(hdr) {
			return nil, fmt.Errorf("%w: TLV 0x%02x longer than the header", ErrBadHeader, t)
		}
		v := hdr[off+3 : off+3+l]
		switch t {
		case TypeCRC32C:
			if l != 4 {
				return nil, fmt.Errorf("%w: CRC32C of %d bytes", ErrBadHeader, l)
			}
			if got, want := binary.BigEndian.Uint32(v), checksum(hdr, off+3); got != want {
				return nil, fmt.Errorf("%w: CRC32C 0x%08x, computed 0x%08x", ErrBadHeader, got, want)
			}
		case TypeAuthority:
			if l > MaxAuthority {
				return nil, fmt.Errorf("%w: authority of %d bytes", ErrBadHeader, l)
			}
		case TypeUniqueID:
			if l > MaxUniqueID {
				return nil, fmt.Errorf("%w: unique ID of %d bytes", ErrBadHeader, l)
			}
		}
		tlvs = append(tlvs, TLV{Type: t, Value: append([]byte(nil), v...)})
		off += 3 + l
	}
	return tlvs, nil
}

// checksum is the CRC32C of hdr computed with the 4 bytes at at zeroed
// (section 2.2.3).
func checksum(hdr []byte, at int) uint32 {
	c := crc32.Update(0, castagnoli, hdr[:at])
	c = crc32.Update(c, castagnoli, []byte{0, 0, 0, 0})
	return crc32.Update(c, castagnoli, hdr[at+4:])
}

func (h *Header) marshalV2() ([]byte, error) {
	if h.Command > CmdProxy {
		return nil, fmt.Errorf("%w: command %d", ErrUnencodable, h.Command)
	}
	if h.Family > FamilyUnix || h.Transport > TransportDgram {
		return nil, fmt.Errorf("%w: family %d transport %d", ErrUnencodable, h.Family, h.Transport)
	}
	b := make([]byte, v2HeaderLen, v2HeaderLen+lenInet6+32)
	copy(b, Signature)
	b[12] = 0x20 | byte(h.Command)
	b[13] = byte(h.Family)<<4 | byte(h.Transport)
	if h.Command == CmdProxy {
		switch h.Family {
		case FamilyInet:
			s, d := h.Source.Addr(), h.Destination.Addr()
			if !s.Is4() || !d.Is4() {
				return nil, fmt.Errorf("%w: AF_INET with a non-IPv4 address", ErrUnencodable)
			}
			s4, d4 := s.As4(), d.As4()
			b = append(b, s4[:]...)
			b = append(b, d4[:]...)
			b = binary.BigEndian.AppendUint16(b, h.Source.Port())
			b = binary.BigEndian.AppendUint16(b, h.Destination.Port())
		case FamilyInet6:
			if !h.Source.IsValid() || !h.Destination.IsValid() {
				return nil, fmt.Errorf("%w: AF_INET6 without addresses", ErrUnencodable)
			}
			s16, d16 := h.Source.Addr().As16(), h.Destination.Addr().As16()
			b = append(b, s16[:]...)
			b = append(b, d16[:]...)
			b = binary.BigEndian.AppendUint16(b, h.Source.Port())
			b = binary.BigEndian.AppendUint16(b, h.Destination.Port())
		case FamilyUnix:
			b = append(b, h.UnixSource[:]...)
			b = append(b, h.UnixDestination[:]...)
		}
	}
	crcAt := -1
	for _, t := range h.TLVs {
		if len(t.Value) > 0xffff {
			return nil, fmt.Errorf("%w: TLV 0x%02x of %d bytes", ErrUnencodable, t.Type, len(t.Value))
		}
		b = append(b, t.Type)
		b = binary.BigEndian.AppendUint16(b, uint16(len(t.Value)))
		if t.Type == TypeCRC32C && len(t.Value) == 4 && crcAt < 0 {
			crcAt = len(b)
			b = append(b, 0, 0, 0, 0)
			continue
		}
		b = append(b, t.Value...)
	}
	if len(b)-v2HeaderLen > 0xffff {
		return nil, fmt.Errorf("%w: %d bytes after the fixed header", ErrUnencodable, len(b)-v2HeaderLen)
	}
	binary.BigEndian.PutUint16(b[14:16], uint16(len(b)-v2HeaderLen))
	if crcAt >= 0 {
		binary.BigEndian.PutUint32(b[crcAt:], checksum(b, crcAt))
	}
	return b, nil
}
