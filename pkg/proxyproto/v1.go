package proxyproto

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"strconv"
)

// errShort is the error for input that ends inside a header.
var errShort = io.ErrUnexpectedEOF

const (
	v1Prefix = "PROXY "
	// v1MaxLen is the longest version 1 line, CRLF included (section 2.1:
	// "PROXY TCP6 " + two full IPv6 addresses + two ports).
	v1MaxLen = 107
)

// parseV1 reads a version 1 line (section 2.1) from b, which starts with
// "PROXY ". The checks and their outcome follow haproxy 2.6's
// conn_recv_proxy: an unknown protocol word is ErrBadProtocol, a
// malformed field ErrBadHeader. UNKNOWN must be followed by CRLF at once
// (haproxy does not skip the optional addresses the specification
// allows after it).
func (h *Header) parseV1(b []byte) (int, error) {
	rest := b[len(v1Prefix):]
	var fam Family
	switch {
	case bytes.HasPrefix(rest, []byte("TCP4 ")):
		fam = FamilyInet
	case bytes.HasPrefix(rest, []byte("TCP6 ")):
		fam = FamilyInet6
	case bytes.HasPrefix(rest, []byte("UNKNOWN\r\n")):
		*h = Header{Version: 1, Command: CmdProxy, Family: FamilyUnspec}
		return len(v1Prefix) + len("UNKNOWN\r\n"), nil
	default:
		for _, w := range []string{"TCP4 ", "TCP6 ", "UNKNOWN\r\n"} {
			if len(rest) < len(w) && string(rest) == w[:len(rest)] {
				return 0, errShort
			}
		}
		return 0, ErrBadProtocol
	}
	end := bytes.IndexByte(b, '\r')
	if end < 0 || end+1 >= len(b) {
		if len(b) >= v1MaxLen {
			return 0, fmt.Errorf("%w: no CRLF in the first %d bytes", ErrBadHeader, v1MaxLen)
		}
		return 0, errShort
	}
	if b[end+1] != '\n' {
		return 0, fmt.Errorf("%w: CR without LF", ErrBadHeader)
	}
	fields := bytes.Split(b[len(v1Prefix)+5:end], []byte{' '})
	if len(fields) != 4 {
		return 0, fmt.Errorf("%w: %d fields after the protocol, want 4", ErrBadHeader, len(fields))
	}
	src, err1 := parseV1Addr(fields[0], fam)
	dst, err2 := parseV1Addr(fields[1], fam)
	sp, err3 := parseV1Port(fields[2])
	dp, err4 := parseV1Port(fields[3])
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			return 0, err
		}
	}
	*h = Header{
		Version: 1, Command: CmdProxy, Family: fam, Transport: TransportStream,
		Source: netip.AddrPortFrom(src, sp), Destination: netip.AddrPortFrom(dst, dp),
	}
	return end + 2, nil
}

func parseV1Addr(f []byte, fam Family) (netip.Addr, error) {
	a, err := netip.ParseAddr(string(f))
	if err != nil || a.Zone() != "" || (fam == FamilyInet) != a.Is4() {
		return netip.Addr{}, fmt.Errorf("%w: bad address %q", ErrBadHeader, f)
	}
	return a, nil
}

// parseV1Port reads a decimal port. haproxy 2.6 accepts any run of digits
// and truncates it to 16 bits; a port above 65535 is refused here.
func parseV1Port(f []byte) (uint16, error) {
	if len(f) == 0 || len(f) > 5 {
		return 0, fmt.Errorf("%w: bad port %q", ErrBadHeader, f)
	}
	for _, c := range f {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: bad port %q", ErrBadHeader, f)
		}
	}
	n, err := strconv.ParseUint(string(f), 10, 16)
	if err != nil {
		return 0, fmt.Errorf("%w: bad port %q", ErrBadHeader, f)
	}
	return uint16(n), nil
}

func (h *Header) marshalV1() ([]byte, error) {
	if h.Command != CmdProxy {
		return nil, fmt.Errorf("%w: version 1 has no %s command", ErrUnencodable, h.Command)
	}
	switch h.Family {
	case FamilyUnspec:
		return []byte("PROXY UNKNOWN\r\n"), nil
	case FamilyInet:
		if !h.Source.Addr().Is4() || !h.Destination.Addr().Is4() {
			return nil, fmt.Errorf("%w: TCP4 with a non-IPv4 address", ErrUnencodable)
		}
	case FamilyInet6:
		if !h.Source.IsValid() || !h.Destination.IsValid() {
			return nil, fmt.Errorf("%w: TCP6 without addresses", ErrUnencodable)
		}
	default:
		return nil, fmt.Errorf("%w: version 1 has no family %d", ErrUnencodable, h.Family)
	}
	proto := "TCP4"
	src, dst := h.Source.Addr(), h.Destination.Addr()
	if h.Family == FamilyInet6 {
		proto = "TCP6"
		src, dst = as6(src), as6(dst)
	}
	b := make([]byte, 0, v1MaxLen)
	b = append(b, "PROXY "...)
	b = append(b, proto...)
	b = append(b, ' ')
	b = src.AppendTo(b)
	b = append(b, ' ')
	b = dst.AppendTo(b)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(h.Source.Port()), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(h.Destination.Port()), 10)
	b = append(b, "\r\n"...)
	return b, nil
}

// as6 is a in IPv6 form: an IPv4 address IPv4-mapped, as haproxy's
// v4tov6 writes it; without a zone.
func as6(a netip.Addr) netip.Addr {
	return netip.AddrFrom16(a.As16())
}
