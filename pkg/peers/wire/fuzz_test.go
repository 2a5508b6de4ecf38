package wire

import (
	"bufio"
	"bytes"
	"reflect"
	"testing"
)

// FuzzMessages feeds a peer's bytes after the handshake to the decoders:
// nothing may panic, and whatever decodes re-encodes to what decodes the
// same.
func FuzzMessages(f *testing.F) {
	f.Add(append([]byte{10, 0x82, byte(len(defIPTable))}, defIPTable...))
	f.Add([]byte{10, 0x85, 17, 0, 0, 0, 7, 0, 0x09, 0x23, 0xd8, 127, 0, 0, 1, 3, 0xfa, 0x00, 3, 0})
	f.Add([]byte{0, 4, 0, 1, 10, 0x84, 5, 1, 0, 0, 0, 9})
	f.Add([]byte{10, 0x81, 7, 1, 'a', 2, 3, 1, 1, 'x'})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(bytes.NewReader(b))
		for i := 0; i < 64; i++ {
			m, err := ReadMessage(r, MaxBody)
			if err != nil {
				return
			}
			if m.Class != ClassStickTable {
				continue
			}
			switch m.Type {
			case TableDefine:
				var d Definition
				if d.UnmarshalBinary(m.Body) != nil {
					continue
				}
				enc, err := d.MarshalBinary()
				if err != nil {
					t.Fatalf("definition %+v does not re-encode: %v", d, err)
				}
				var d2 Definition
				if err := d2.UnmarshalBinary(enc); err != nil || !reflect.DeepEqual(d, d2) {
					t.Fatalf("definition round trip: %+v != %+v (%v)", d, d2, err)
				}
			case TableUpdate, TableIncUpdate, TableUpdateTimed, TableIncUpdateTimed:
				for _, l := range []Layout{
					{KeyType: KeyIPv4, KeyLen: 4, Data: 1<<4 | 1<<10},
					{KeyType: KeyStr, KeyLen: 33, Data: 1<<0 | 1<<19},
					{KeyType: KeySInt, KeyLen: 4, Data: 1<<22 | 1<<24, NbElem: map[int]uint64{22: 2, 24: 1}},
				} {
					u, err := ParseUpdate(m.Type, m.Body, l)
					if err != nil {
						continue
					}
					enc, err := u.AppendBinary(nil, l)
					if err != nil {
						t.Fatalf("update %+v does not re-encode: %v", u, err)
					}
					u2, err := ParseUpdate(u.Type(), enc, l)
					if err != nil || !reflect.DeepEqual(u, u2) {
						t.Fatalf("update round trip: %+v != %+v (%v)", u, u2, err)
					}
				}
			case TableAck:
				var a Ack
				_ = a.UnmarshalBinary(m.Body)
			case TableSwitch:
				var s Switch
				_ = s.UnmarshalBinary(m.Body)
			}
		}
	})
}

// FuzzHello: a caller's hello never panics the reader.
func FuzzHello(f *testing.F) {
	f.Add([]byte("HAProxyS 2.1\nb\na 1234 1\n"))
	f.Add([]byte("HAProxyS 2.0\r\nb\r\na 1 1\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Hello
		if h.UnmarshalBinary(b) != nil {
			return
		}
		if enc, err := h.MarshalBinary(); err == nil {
			var h2 Hello
			if err := h2.UnmarshalBinary(enc); err != nil || h2.Remote != h.Remote || h2.Local != h.Local {
				t.Fatalf("hello round trip: %+v, %+v, %v", h, h2, err)
			}
		}
	})
}
