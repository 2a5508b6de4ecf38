package vrrp

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// DropReason says why Check refused a datagram. The values follow
// keepalived 2.2.7's receive checks (vrrp_scheduler.c vrrp_dispatcher_read,
// vrrp.c vrrp_check_packet) and are listed in the order they are applied.
type DropReason int

// The reasons, in keepalived's check order.
const (
	// DropShort: too short for the IP, AH and VRRP headers, or not a
	// well-formed IPv4 datagram ("IPv4 VRRP packet too short").
	DropShort DropReason = iota + 1
	// DropVRID: no instance with this VRID ("Unknown VRID(%d) received").
	DropVRID
	// DropAuthMismatch: AH header present but auth type not AH or the
	// reverse, or the advert's auth type differs from ours
	// ("received a %d auth, expecting %d!"; stats authtype_mismatch).
	DropAuthMismatch
	// DropLength: the length disagrees with the address count or with the
	// IP total length ("vrrp packet too long/short"; stats packet_len_err).
	DropLength
	// DropTTL: multicast advert whose TTL or hop limit is not 255.
	DropTTL
	// DropVersion: VRRP version differs from ours.
	DropVersion
	// DropAuthType: v2 auth type other than 0, 1, 2 ("Invalid auth type").
	DropAuthType
	// DropPassword: PASS password differs ("received an invalid passwd!").
	DropPassword
	// DropNextHeader: AH header for another protocol than VRRP.
	DropNextHeader
	// DropICV: AH ICV does not verify ("invalid IPSEC HMAC-MD5 value").
	DropICV
	// DropSPI: AH SPI is not the sender's address.
	DropSPI
	// DropSeq: AH sequence number not above the counter (replay).
	DropSeq
	// DropInterval: v2 advert interval differs from ours (keepalived drops
	// it "to prevent concurrent VRID running").
	DropInterval
	// DropType: VRRP type is not advertisement.
	DropType
	// DropAddrCount: address count differs from our VIP count.
	DropAddrCount
	// DropChecksum: VRRP checksum does not verify.
	DropChecksum
	// DropCast: multicast advert for a unicast instance or the reverse.
	DropCast
	// DropVIPs: one of our VIPs is missing from the advert.
	DropVIPs
	// DropPeer: unicast source is not a configured peer (only with
	// check_unicast_src).
	DropPeer
)

var dropNames = [...]string{
	DropShort:        "short",
	DropVRID:         "vrid",
	DropAuthMismatch: "auth-mismatch",
	DropLength:       "length",
	DropTTL:          "ttl",
	DropVersion:      "version",
	DropAuthType:     "auth-type",
	DropPassword:     "password",
	DropNextHeader:   "ah-next-header",
	DropICV:          "icv",
	DropSPI:          "spi",
	DropSeq:          "seq",
	DropInterval:     "interval",
	DropType:         "type",
	DropAddrCount:    "addr-count",
	DropChecksum:     "checksum",
	DropCast:         "cast",
	DropVIPs:         "vips",
	DropPeer:         "peer",
}

// DropReasons lists every reason, for counters.
func DropReasons() []DropReason {
	r := make([]DropReason, 0, len(dropNames)-1)
	for i := DropShort; int(i) < len(dropNames); i++ {
		r = append(r, i)
	}
	return r
}

// String returns a short lower-case name, usable as a metric label.
func (r DropReason) String() string {
	if r > 0 && int(r) < len(dropNames) {
		return dropNames[r]
	}
	return fmt.Sprintf("drop(%d)", int(r))
}

// DropError is returned by Check for a datagram it refuses.
type DropError struct {
	Reason DropReason
	Src    netip.Addr // the sender, when known
	VRID   uint8      // the VRID in the packet, when known
	Detail string     // what keepalived would log
	Err    error      // a codec sentinel (ErrShort, ErrChecksum, ...) or nil
}

func (e *DropError) Error() string {
	return fmt.Sprintf("vrrp: dropped advert from %v VRID %d (%v): %s", e.Src, e.VRID, e.Reason, e.Detail)
}

// Unwrap returns the codec sentinel, if any.
func (e *DropError) Unwrap() error { return e.Err }

// Received is one datagram as read from a Conn.
type Received struct {
	// Packet is, over IPv4, the whole datagram, IP header included (as a raw
	// socket returns it); over IPv6 the VRRP message (the kernel strips the
	// header).
	Packet []byte
	// Src and Dst are the addresses: over IPv4 copied from the header, over
	// IPv6 from the socket address and IPV6_PKTINFO.
	Src, Dst netip.Addr
	// HopLimit is the IPv6 hop limit from IPV6_HOPLIMIT, -1 if unknown.
	// Over IPv4 Check reads the TTL from the header instead.
	HopLimit int
	// IfIndex is the receiving interface, 0 if unknown.
	IfIndex int
}

// Expect is what one VRRP instance accepts (keepalived's vrrp_instance).
type Expect struct {
	VRID    uint8
	Version int // 2 or 3
	// AuthType, Key: authentication (VRRPv2 over IPv4 only; ignored for v3
	// and IPv6, as keepalived ignores it with a config error).
	AuthType AuthType
	Key      Key
	// Seq is the instance's AH sequence state; Check updates it when an AH
	// advert passes the ICV and SPI checks, as keepalived does, even if a
	// later check drops the advert. Required for AuthAH (nil means a fresh
	// counter on every call: no replay protection).
	Seq *SeqCounter
	// AdvertInt is our interval; a v2 advert with another is dropped.
	AdvertInt time.Duration
	// Unicast is set when the instance has unicast peers: no TTL check,
	// the ICV computed with the TTL zeroed, and multicast adverts dropped.
	Unicast bool
	// VIPs are our virtual addresses; the advert must carry the same count
	// and every one of them.
	VIPs []netip.Addr
	// SkipVIPCheck skips the count and VIP checks (keepalived's
	// skip_check_adv_addr when the advert comes from the current master).
	SkipVIPCheck bool
	// CheckUnicastSrc drops unicast adverts from addresses not in Peers
	// (keepalived's check_unicast_src).
	CheckUnicastSrc bool
	Peers           []netip.Addr
	// PeerTTL bounds the TTL (IPv4) or hop limit (IPv6) accepted from a
	// peer (keepalived's unicast_peer min_ttl/max_ttl; absent = 0..255).
	// keepalived applies it only with CheckUnicastSrc, after finding the
	// peer, and only when the TTL is known.
	PeerTTL map[netip.Addr][2]int
}

// Message is an advertisement that passed Check.
type Message struct {
	Advertisement
	Src, Dst netip.Addr
	TTL      int    // IPv4 TTL or IPv6 hop limit, -1 if unknown
	Seq      uint32 // AH sequence number (AuthAH only)
}

// Check applies keepalived 2.2.7's receive checks, in its order, to a
// datagram received for the instance described by e, and returns the
// advertisement or a *DropError whose Reason names the failed check.
// With AuthAH it updates e.Seq as keepalived does.
func Check(r Received, e Expect) (*Message, error) {
	// The family comes from the source address, else from the first nibble
	// (an IPv4 header starts with 4, a VRRP message with 2 or 3).
	v6 := r.Src.Is6() && !r.Src.Is4In6()
	if !r.Src.IsValid() {
		v6 = len(r.Packet) > 0 && r.Packet[0]>>4 != 4
	}
	if v6 {
		return checkIPv6(r, e)
	}
	return checkIPv4(r, e)
}

func drop(reason DropReason, src netip.Addr, vrid uint8, err error, format string, args ...any) *DropError {
	return &DropError{Reason: reason, Src: src, VRID: vrid, Err: err, Detail: fmt.Sprintf(format, args...)}
}

func checkIPv4(r Received, e Expect) (*Message, error) {
	b := r.Packet
	// vrrp_get_header: enough for the IP, AH and VRRP headers.
	d, vb, err := parseIPv4Header(b)
	if err != nil {
		return nil, drop(DropShort, r.Src, 0, err, "IPv4 VRRP packet too short or malformed - %d bytes", len(b))
	}
	if len(vb) < HeaderLen {
		return nil, drop(DropShort, d.Src, 0, ErrShort, "IPv4 VRRP packet too short - %d bytes", len(b))
	}
	ihl := len(d.header)
	vrid := vb[1]
	if vrid != e.VRID {
		return nil, drop(DropVRID, d.Src, vrid, nil, "Unknown VRID(%d) received", vrid)
	}
	auth := e.AuthType
	if e.Version == 3 {
		auth = AuthNone
	}
	isAH := d.Protocol == ProtocolAH
	if isAH != (auth == AuthAH) {
		if isAH {
			return nil, drop(DropAuthMismatch, d.Src, vrid, nil, "Received AH header but auth type not AH")
		}
		return nil, drop(DropAuthMismatch, d.Src, vrid, nil, "No AH header but auth type is AH")
	}
	version := int(vb[0] >> 4)
	count := int(vb[3])
	want := ihl + HeaderLen + 4*count
	if isAH {
		want += AHLen
	}
	if version == 2 {
		want += AuthDataLen
	}
	if len(b) != want {
		word := "short"
		if len(b) > want {
			word = "long"
		}
		return nil, drop(DropLength, d.Src, vrid, ErrLength, "vrrp packet too %s, length %d and expect %d", word, len(b), want)
	}
	if !e.Unicast && d.TTL != TTL {
		return nil, drop(DropTTL, d.Src, vrid, nil, "invalid TTL/HL. Received %d and expect %d", d.TTL, TTL)
	}
	if version != e.Version {
		return nil, drop(DropVersion, d.Src, vrid, ErrVersion, "wrong version. Received %d and expect %d", version, e.Version)
	}
	if version == 2 {
		at := AuthType(vb[4])
		if at > AuthAH {
			return nil, drop(DropAuthType, d.Src, vrid, ErrAuthType, "Invalid auth type: %d", at)
		}
		if at != auth {
			return nil, drop(DropAuthMismatch, d.Src, vrid, ErrAuthType, "received a %d auth, expecting %d!", at, auth)
		}
		switch auth {
		case AuthPass:
			// keepalived compares the last 8 bytes of the IP datagram.
			if subtle.ConstantTimeCompare(b[len(b)-AuthDataLen:], e.Key[:]) != 1 {
				return nil, drop(DropPassword, d.Src, vrid, ErrAuth, "received an invalid passwd!")
			}
		case AuthAH:
			if d.NextHeader != ProtocolVRRP {
				return nil, drop(DropNextHeader, d.Src, vrid, ErrAuth, "AH next header %d is not VRRP", d.NextHeader)
			}
			if !VerifyICV(b, e.Key, e.Unicast) {
				return nil, drop(DropICV, d.Src, vrid, ErrAuth, "IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !")
			}
			if d.SPI != SPIFor(d.Src) {
				return nil, drop(DropSPI, d.Src, vrid, ErrAuth, "IPSEC AH : invalid IPSEC SPI value 0x%08x, expect 0x%08x", d.SPI, SPIFor(d.Src))
			}
			if e.Seq == nil {
				e.Seq = new(SeqCounter)
			}
			if !e.Seq.Accept(d.Seq) {
				return nil, drop(DropSeq, d.Src, vrid, ErrAuth, "IPSEC-AH : sequence number %d already processed. Packet dropped. Local(%d)", d.Seq, e.Seq.Value())
			}
		}
		if got := time.Duration(vb[5]) * time.Second; got != e.AdvertInt {
			return nil, drop(DropInterval, d.Src, vrid, nil, "advertisement interval mismatch mine=%v rcv'd=%v", e.AdvertInt, got)
		}
	}
	if t := vb[0] & 0x0f; t != TypeAdvertisement {
		return nil, drop(DropType, d.Src, vrid, ErrType, "Invalid packet type. %d and expect %d", t, TypeAdvertisement)
	}
	if !e.SkipVIPCheck && count != len(e.VIPs) {
		return nil, drop(DropAddrCount, d.Src, vrid, nil, "received an unexpected ip number count %d, expected %d!", count, len(e.VIPs))
	}
	if tot := int(binary.BigEndian.Uint16(b[2:4])); tot != len(b) {
		return nil, drop(DropLength, d.Src, vrid, ErrLength, "ip_tot_len mismatch against received length. %d and received %d", tot, len(b))
	}
	m := &Message{Src: d.Src, Dst: d.Dst, TTL: int(d.TTL), Seq: d.Seq}
	if err := m.Advertisement.Unmarshal(vb, d.Src, d.Dst); err != nil {
		return nil, codecDrop(err, d.Src, vrid)
	}
	if d.Dst.IsMulticast() == e.Unicast {
		return nil, castDrop(d.Src, vrid, e.Unicast)
	}
	if err := checkAddrs(m, e); err != nil {
		return nil, err
	}
	return m, nil
}

func checkIPv6(r Received, e Expect) (*Message, error) {
	b := r.Packet
	if len(b) < HeaderLen {
		return nil, drop(DropShort, r.Src, 0, ErrShort, "IPv6 VRRP packet too short - %d bytes", len(b))
	}
	vrid := b[1]
	if vrid != e.VRID {
		return nil, drop(DropVRID, r.Src, vrid, nil, "Unknown VRID(%d) received", vrid)
	}
	count := int(b[3])
	if want := HeaderLen + 16*count; len(b) != want {
		word := "short"
		if len(b) > want {
			word = "long"
		}
		return nil, drop(DropLength, r.Src, vrid, ErrLength, "vrrp packet too %s, length %d and expect %d", word, len(b), want)
	}
	if !e.Unicast && r.HopLimit != -1 && r.HopLimit != TTL {
		return nil, drop(DropTTL, r.Src, vrid, nil, "invalid TTL/HL. Received %d and expect %d", r.HopLimit, TTL)
	}
	version := int(b[0] >> 4)
	if version != e.Version {
		return nil, drop(DropVersion, r.Src, vrid, ErrVersion, "wrong version. Received %d and expect %d", version, e.Version)
	}
	if version == 2 {
		if at := AuthType(b[4]); at != AuthNone {
			return nil, drop(DropAuthType, r.Src, vrid, ErrAuthType, "Invalid auth type over IPv6: %d", at)
		}
		if got := time.Duration(b[5]) * time.Second; got != e.AdvertInt {
			return nil, drop(DropInterval, r.Src, vrid, nil, "advertisement interval mismatch mine=%v rcv'd=%v", e.AdvertInt, got)
		}
	}
	if t := b[0] & 0x0f; t != TypeAdvertisement {
		return nil, drop(DropType, r.Src, vrid, ErrType, "Invalid packet type. %d and expect %d", t, TypeAdvertisement)
	}
	if !e.SkipVIPCheck && count != len(e.VIPs) {
		return nil, drop(DropAddrCount, r.Src, vrid, nil, "received an unexpected ip number count %d, expected %d!", count, len(e.VIPs))
	}
	m := &Message{Src: r.Src, Dst: r.Dst, TTL: r.HopLimit}
	// keepalived leaves the IPv6 checksum to the kernel (IPV6_CHECKSUM);
	// we verify it, so the addresses of the pseudo-header are required.
	if err := m.Advertisement.unmarshal(b, true); err != nil {
		return nil, codecDrop(err, r.Src, vrid)
	}
	if !r.Src.Is6() || !r.Dst.Is6() {
		return nil, drop(DropChecksum, r.Src, vrid, ErrPseudoHeader, "IPv6 advert from %v to %v: no pseudo-header", r.Src, r.Dst)
	}
	if checksum(b, pseudoHeaderSum(r.Src, r.Dst, len(b))) != 0 {
		return nil, drop(DropChecksum, r.Src, vrid, ErrChecksum, "Invalid VRRPv%d checksum", version)
	}
	if r.Dst.IsMulticast() == e.Unicast {
		return nil, castDrop(r.Src, vrid, e.Unicast)
	}
	if err := checkAddrs(m, e); err != nil {
		return nil, err
	}
	return m, nil
}

// codecDrop maps a codec error left after the header checks to a reason.
func codecDrop(err error, src netip.Addr, vrid uint8) *DropError {
	reason := DropLength
	switch {
	case errors.Is(err, ErrChecksum), errors.Is(err, ErrPseudoHeader):
		reason = DropChecksum
	case errors.Is(err, ErrVersion):
		reason = DropVersion
	case errors.Is(err, ErrType):
		reason = DropType
	case errors.Is(err, ErrAuthType):
		reason = DropAuthType
	}
	return drop(reason, src, vrid, err, "%v", err)
}

func castDrop(src netip.Addr, vrid uint8, unicast bool) *DropError {
	if unicast {
		return drop(DropCast, src, vrid, nil, "Expected unicast packet but received multicast packet")
	}
	return drop(DropCast, src, vrid, nil, "Expected multicast packet but received unicast packet")
}

// checkAddrs is the end of vrrp_check_packet: VIPs, then the unicast peer.
func checkAddrs(m *Message, e Expect) error {
	if e.SkipVIPCheck {
		return nil
	}
	for _, vip := range e.VIPs {
		found := false
		for _, a := range m.Addresses {
			if a == vip {
				found = true
				break
			}
		}
		if !found {
			return drop(DropVIPs, m.Src, m.VRID, nil, "ip address associated with VRID %d not present in MASTER advert: %v", m.VRID, vip)
		}
	}
	if e.Unicast && e.CheckUnicastSrc {
		for _, p := range e.Peers {
			if p != m.Src {
				continue
			}
			if r, ok := e.PeerTTL[p]; ok && m.TTL != -1 && (m.TTL < r[0] || m.TTL > r[1]) {
				return drop(DropTTL, m.Src, m.VRID, nil, "TTL/HL %d not in range %d - %d", m.TTL, r[0], r[1])
			}
			return nil
		}
		return drop(DropPeer, m.Src, m.VRID, nil, "unicast source address %v not a unicast peer", m.Src)
	}
	return nil
}
