package vrrp

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// capPacket is one VRRP datagram from a capture with tshark's reading of it
// (testdata/*.tshark, made by the command in its first line): an
// independent decoder to compare ours with.
type capPacket struct {
	frame int
	data  []byte // the whole IPv4 datagram
	src   netip.Addr
	id    uint16
	spi   uint32
	seq   uint32
	icv   []byte
	ver   int
	vrid  uint8
	prio  uint8
	auth  AuthType
	intvl time.Duration
	csum  uint16
	addr  netip.Addr
	pass  string
}

// readCapture returns the VRRP datagrams of testdata/<name>.pcap joined
// with the rows of testdata/<name>.tshark by frame number.
func readCapture(t *testing.T, name string) []capPacket {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	frames := map[int][]byte{}
	for n := 1; ; n++ {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
		if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			frames[n] = append(append([]byte{}, ip.Contents...), ip.Payload...)
		}
	}
	g, err := os.Open(filepath.Join("testdata", name+".tshark"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var out []capPacket
	sc := bufio.NewScanner(g)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) != 14 {
			t.Fatalf("%s.tshark: %q: %d fields", name, line, len(f))
		}
		num := func(s string) uint64 {
			if s == "" {
				return 0
			}
			v, err := strconv.ParseUint(s, 0, 32)
			if err != nil {
				t.Fatalf("%s.tshark: %q: %v", name, line, err)
			}
			return v
		}
		c := capPacket{
			frame: int(num(f[0])),
			src:   netip.MustParseAddr(f[1]),
			id:    uint16(num(f[2])),
			spi:   uint32(num(f[3])),
			seq:   uint32(num(f[4])),
			ver:   int(num(f[6])),
			vrid:  uint8(num(f[7])),
			prio:  uint8(num(f[8])),
			auth:  AuthType(num(f[9])),
			intvl: time.Duration(num(f[10])) * time.Second,
			csum:  uint16(num(f[11])),
			addr:  netip.MustParseAddr(f[12]),
			pass:  f[13],
		}
		if c.icv, err = hex.DecodeString(f[5]); err != nil {
			t.Fatal(err)
		}
		if c.data = frames[c.frame]; c.data == nil {
			t.Fatalf("%s: frame %d is not IPv4", name, c.frame)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no VRRP packets", name)
	}
	return out
}

var captures = []struct {
	name string
	auth AuthType
}{
	{"keepalived-2.2.7-AH", AuthAH},
	{"keepalived-2.2.7-PASS", AuthPass},
	{"keepalived-2.2.7-none", AuthNone},
}

// The seed's auth_pass, which keepalived cuts to "supersec".
var seedKey = NewKey("supersecret")

func TestGoldenDecode(t *testing.T) {
	for _, tc := range captures {
		t.Run(tc.name, func(t *testing.T) {
			prios := map[uint8]int{}
			for _, c := range readCapture(t, tc.name) {
				d, err := ParseIPv4(c.data)
				if err != nil {
					t.Fatalf("frame %d: %v", c.frame, err)
				}
				a := d.Advert
				if d.Src != c.src || d.Dst != GroupIPv4 || d.ID != c.id || d.TTL != 255 || d.TOS != 0xc0 || d.FragOff != 0 {
					t.Errorf("frame %d: IP %v > %v id %d ttl %d tos %#x frag %#x, tshark %v id %d", c.frame, d.Src, d.Dst, d.ID, d.TTL, d.TOS, d.FragOff, c.src, c.id)
				}
				if a.Version != c.ver || a.VRID != c.vrid || a.Priority != c.prio || a.AuthType != c.auth ||
					a.AdvertInt != c.intvl || a.Checksum != c.csum || len(a.Addresses) != 1 || a.Addresses[0] != c.addr {
					t.Errorf("frame %d: decoded %+v, tshark %+v", c.frame, a, c)
				}
				// What the seed says, independently of tshark.
				if a.VRID != 51 || a.AdvertInt != time.Second || a.Addresses[0] != netip.MustParseAddr("192.168.1.84") || a.AuthType != tc.auth {
					t.Errorf("frame %d: %+v is not the seed's instance", c.frame, a)
				}
				prios[a.Priority]++
				switch tc.auth {
				case AuthPass:
					if string(a.Password[:]) != "supersec" || c.pass != "supersec" {
						t.Errorf("frame %d: password %q", c.frame, a.Password)
					}
				case AuthAH:
					if d.Protocol != ProtocolAH || d.NextHeader != ProtocolVRRP || d.SPI != c.spi || d.SPI != SPIFor(d.Src) || d.Seq != c.seq || !bytes.Equal(d.ICV[:], c.icv) {
						t.Errorf("frame %d: AH spi %#x seq %d icv %x, tshark %#x %d %x", c.frame, d.SPI, d.Seq, d.ICV, c.spi, c.seq, c.icv)
					}
					if !VerifyICV(c.data, NewKey("supersec"), false) {
						t.Errorf("frame %d: ICV does not verify with key supersec", c.frame)
					}
					if VerifyICV(c.data, NewKey("supersed"), false) {
						t.Errorf("frame %d: ICV verifies with a wrong key", c.frame)
					}
				default:
					if a.Password != [8]byte{} {
						t.Errorf("frame %d: password %q with auth none", c.frame, a.Password)
					}
				}
			}
			// The sequence in every capture: 103 (lb1 with haproxy), 101
			// (haproxy killed), 102 (lb2 took over), 103 again.
			for _, p := range []uint8{101, 102, 103} {
				if prios[p] == 0 {
					t.Errorf("no advert with priority %d: %v", p, prios)
				}
			}
		})
	}
}

// TestGoldenEncode re-encodes every captured advert from its fields and
// expects the captured bytes exactly, IP header (and AH ICV) included.
func TestGoldenEncode(t *testing.T) {
	for _, tc := range captures {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range readCapture(t, tc.name) {
				d := IPv4Datagram{
					TOS: TOS, ID: c.id, TTL: TTL, Src: c.src, Dst: GroupIPv4,
					SPI: SPIFor(c.src), Seq: c.seq,
					Advert: Advertisement{
						Version: 2, Type: TypeAdvertisement, VRID: c.vrid, Priority: c.prio,
						AuthType: c.auth, AdvertInt: c.intvl, Addresses: []netip.Addr{c.addr},
					},
				}
				b, err := d.Marshal(seedKey, false)
				if err != nil {
					t.Fatalf("frame %d: %v", c.frame, err)
				}
				if !bytes.Equal(b, c.data) {
					t.Errorf("frame %d:\n got %x\nwant %x", c.frame, b, c.data)
				}
			}
		})
	}
}

// TestGoldenEncoder drives one Encoder per sender through a capture, as
// keepalived's counters would, and expects each captured datagram.
func TestGoldenEncoder(t *testing.T) {
	for _, tc := range captures {
		t.Run(tc.name, func(t *testing.T) {
			seq := map[netip.Addr]*SeqCounter{}
			enc := map[netip.Addr]*Encoder{}
			for _, c := range readCapture(t, tc.name) {
				e := enc[c.src]
				if e == nil {
					seq[c.src] = new(SeqCounter)
					e = &Encoder{Src: c.src, Key: seedKey, Seq: seq[c.src]}
					enc[c.src] = e
				}
				// Each node's counter follows what it received: sync it to the
				// captured number as the receive path would have.
				if c.auth == AuthAH && c.seq > 1 && !seq[c.src].Accept(c.seq-1) && seq[c.src].Value() != c.seq-1 {
					t.Fatalf("frame %d: counter %d ahead of %d", c.frame, seq[c.src].Value(), c.seq)
				}
				a := Advertisement{Version: 2, Type: 1, VRID: 51, Priority: c.prio, AuthType: tc.auth, AdvertInt: time.Second, Addresses: []netip.Addr{c.addr}}
				out, err := e.Encode(&a, GroupIPv4)
				if err != nil {
					t.Fatal(err)
				}
				if len(out) != 1 || !bytes.Equal(out[0], c.data) {
					t.Errorf("frame %d (id %d):\n got %x\nwant %x", c.frame, c.id, out[0], c.data)
				}
			}
		})
	}
}

// TestGoldenCheck runs every captured advert through Check as a backup of
// the seed's instance receiving them all would.
func TestGoldenCheck(t *testing.T) {
	for _, tc := range captures {
		t.Run(tc.name, func(t *testing.T) {
			e := Expect{VRID: 51, Version: 2, AuthType: tc.auth, Key: seedKey, Seq: new(SeqCounter),
				AdvertInt: time.Second, VIPs: []netip.Addr{netip.MustParseAddr("192.168.1.84")}}
			for _, c := range readCapture(t, tc.name) {
				m, err := Check(Received{Packet: c.data, HopLimit: -1}, e)
				if err != nil {
					t.Fatalf("frame %d: %v", c.frame, err)
				}
				if m.Src != c.src || m.Priority != c.prio || m.Seq != c.seq || m.TTL != 255 {
					t.Errorf("frame %d: %+v", c.frame, m)
				}
			}
			if tc.auth == AuthAH && e.Seq.Value() != 18 {
				t.Errorf("sequence counter %d after the capture, want 18 (the last seen)", e.Seq.Value())
			}
		})
	}
}

// TestGopacketDecodesOurs: gopacket's IPv4, IPSecAH and VRRPv2 decoders
// read what our encoder writes.
func TestGopacketDecodesOurs(t *testing.T) {
	for _, auth := range []AuthType{AuthNone, AuthPass, AuthAH} {
		t.Run(auth.String(), func(t *testing.T) {
			src := netip.MustParseAddr("192.168.1.81")
			e := &Encoder{Src: src, Key: seedKey, Seq: new(SeqCounter)}
			a := Advertisement{Version: 2, Type: 1, VRID: 51, Priority: 102, AuthType: auth, AdvertInt: 3 * time.Second,
				Addresses: []netip.Addr{netip.MustParseAddr("192.168.1.84"), netip.MustParseAddr("10.0.0.1")}}
			out, err := e.Encode(&a, GroupIPv4)
			if err != nil {
				t.Fatal(err)
			}
			p := gopacket.NewPacket(out[0], layers.LayerTypeIPv4, gopacket.Default)
			if el := p.ErrorLayer(); el != nil {
				t.Fatalf("gopacket: %v", el.Error())
			}
			ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			if ip.TOS != 0xc0 || ip.TTL != 255 || ip.Id != 1 || ip.Flags != 0 || ip.SrcIP.String() != "192.168.1.81" || ip.DstIP.String() != "224.0.0.18" {
				t.Errorf("IPv4 %+v", ip)
			}
			// gopacket recomputes the header checksum when serializing: ours
			// must equal it.
			buf := gopacket.NewSerializeBuffer()
			if err := ip.SerializeTo(buf, gopacket.SerializeOptions{ComputeChecksums: true}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes()[:20], out[0][:20]) {
				t.Errorf("IP header %x, gopacket computes %x", out[0][:20], buf.Bytes()[:20])
			}
			if auth == AuthAH {
				ah, ok := p.Layer(layers.LayerTypeIPSecAH).(*layers.IPSecAH)
				if !ok || ip.Protocol != layers.IPProtocolAH {
					t.Fatalf("no AH layer: %v", p)
				}
				if ah.NextHeader != layers.IPProtocolVRRP || ah.SPI != 0xc0a80151 || ah.Seq != 1 || len(ah.AuthenticationData) != 12 {
					t.Errorf("AH %+v", ah)
				}
			} else if ip.Protocol != layers.IPProtocolVRRP {
				t.Errorf("protocol %v", ip.Protocol)
			}
			v, ok := p.Layer(layers.LayerTypeVRRP).(*layers.VRRPv2)
			if !ok {
				t.Fatalf("no VRRPv2 layer: %v", p)
			}
			if v.Version != 2 || v.VirtualRtrID != 51 || v.Priority != 102 || v.CountIPAddr != 2 || v.AuthType != layers.VRRPv2AuthType(auth) ||
				v.AdverInt != 3 || len(v.IPAddress) != 2 || v.IPAddress[0].String() != "192.168.1.84" || v.IPAddress[1].String() != "10.0.0.1" {
				t.Errorf("VRRPv2 %+v", v)
			}
		})
	}
}
