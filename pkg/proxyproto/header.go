package proxyproto

import (
	"errors"
	"fmt"
	"net/netip"
)

// Errors. Each failure returned by Parse or UnmarshalBinary wraps one of
// them (or is io.ErrUnexpectedEOF when more input is needed).
var (
	// ErrNotHeader: the input starts with neither "PROXY " nor the
	// version 2 signature with version 2 (haproxy: "Received something
	// which does not look like a PROXY protocol header").
	ErrNotHeader = errors.New("proxyproto: not a PROXY protocol header")
	// ErrBadHeader: a header with a malformed field, a bad TLV or a
	// wrong CRC32C (haproxy: "Received an invalid PROXY protocol header").
	ErrBadHeader = errors.New("proxyproto: invalid PROXY protocol header")
	// ErrBadProtocol: a version 1 line whose protocol is not TCP4, TCP6
	// or UNKNOWN (haproxy: "Received an unhandled protocol in the PROXY
	// protocol header").
	ErrBadProtocol = errors.New("proxyproto: unhandled protocol in PROXY protocol header")
	// ErrUnencodable: MarshalBinary was given a header it cannot write
	// (addresses not matching the family, a TLV over 65535 bytes...).
	ErrUnencodable = errors.New("proxyproto: header cannot be encoded")
)

// Command is the command of a version 2 header (section 2.2, the low
// nibble of the 13th byte). A version 1 header is always CmdProxy.
type Command uint8

const (
	// CmdLocal: a connection the sender made on its own (a health
	// check); the receiver keeps the real connection's addresses.
	CmdLocal Command = 0x0
	// CmdProxy: a relayed connection; the addresses are the client's.
	CmdProxy Command = 0x1
)

func (c Command) String() string {
	switch c {
	case CmdLocal:
		return "LOCAL"
	case CmdProxy:
		return "PROXY"
	}
	return fmt.Sprintf("Command(%d)", uint8(c))
}

// Family is the address family of a header (section 2.2, the high nibble
// of the 14th byte).
type Family uint8

const (
	FamilyUnspec Family = 0x0 // AF_UNSPEC (version 1 "UNKNOWN")
	FamilyInet   Family = 0x1 // AF_INET (version 1 "TCP4")
	FamilyInet6  Family = 0x2 // AF_INET6 (version 1 "TCP6")
	FamilyUnix   Family = 0x3 // AF_UNIX, version 2 only
)

// Transport is the transport protocol of a version 2 header (the low
// nibble of the 14th byte).
type Transport uint8

const (
	TransportUnspec Transport = 0x0
	TransportStream Transport = 0x1 // TCP, or a UNIX stream socket
	TransportDgram  Transport = 0x2 // UDP, or a UNIX datagram socket
)

// TLV types of version 2 (section 2.2.1 onwards).
const (
	TypeALPN      = 0x01
	TypeAuthority = 0x02
	TypeCRC32C    = 0x03
	TypeNoop      = 0x04
	TypeUniqueID  = 0x05
	TypeSSL       = 0x20
	TypeNetNS     = 0x30

	// Sub-types inside a TypeSSL TLV (section 2.2.5).
	SubtypeSSLVersion = 0x21
	SubtypeSSLCN      = 0x22
	SubtypeSSLCipher  = 0x23
	SubtypeSSLSigAlg  = 0x24
	SubtypeSSLKeyAlg  = 0x25
)

// Client bits of a TypeSSL TLV (section 2.2.5).
const (
	ClientSSL      = 0x01
	ClientCertConn = 0x02
	ClientCertSess = 0x04
)

// TLV is one type-length-value field of a version 2 header.
type TLV struct {
	Type  uint8
	Value []byte
}

// Header is one PROXY protocol header.
//
// Source and Destination are set for FamilyInet and FamilyInet6 (an IPv4
// address in a FamilyInet6 header is written IPv4-mapped). For FamilyUnix
// the 108-byte paths are in UnixSource and UnixDestination. A CmdLocal
// header carries no addresses nor TLVs: a receiver discards them (section
// 2.2), and so does UnmarshalBinary.
type Header struct {
	Version   int // 1 or 2
	Command   Command
	Family    Family
	Transport Transport

	Source, Destination netip.AddrPort

	UnixSource, UnixDestination [108]byte

	TLVs []TLV // version 2 only, in wire order
}

// TLV returns the value of the first TLV of type t, and whether there is
// one.
func (h *Header) TLV(t uint8) ([]byte, bool) {
	for _, v := range h.TLVs {
		if v.Type == t {
			return v.Value, true
		}
	}
	return nil, false
}

// Parse reads the header at the start of b, of either version, and
// returns it with its length in bytes; what follows it in b is the
// proxied stream. It returns io.ErrUnexpectedEOF when b ends before the
// header does.
func Parse(b []byte) (*Header, int, error) {
	h := new(Header)
	n, err := h.parse(b)
	if err != nil {
		return nil, 0, err
	}
	return h, n, nil
}

// UnmarshalBinary reads exactly one header from b.
func (h *Header) UnmarshalBinary(b []byte) error {
	var nh Header
	n, err := nh.parse(b)
	if err != nil {
		return err
	}
	if n != len(b) {
		return fmt.Errorf("%w: %d bytes after the header", ErrBadHeader, len(b)-n)
	}
	*h = nh
	return nil
}

func (h *Header) parse(b []byte) (int, error) {
	if len(b) >= 1 && b[0] == 'P' {
		if len(b) < len(v1Prefix) {
			if string(b) == v1Prefix[:len(b)] {
				return 0, errShort
			}
			return 0, ErrNotHeader
		}
		if string(b[:len(v1Prefix)]) == v1Prefix {
			return h.parseV1(b)
		}
		return 0, ErrNotHeader
	}
	return h.parseV2(b)
}

// MarshalBinary writes the header in its Version's format.
func (h *Header) MarshalBinary() ([]byte, error) {
	switch h.Version {
	case 1:
		return h.marshalV1()
	case 2:
		return h.marshalV2()
	}
	return nil, fmt.Errorf("%w: version %d", ErrUnencodable, h.Version)
}
