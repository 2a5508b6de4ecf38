package proxy

import (
	"bytes"
	"testing"
)

// hello is a handshake record holding one hello of type typ with random r.
func testHello(typ byte, r [32]byte, extra int) []byte {
	body := append([]byte{typ, 0, 0, byte(2 + 32 + extra), 3, 3}, r[:]...)
	body = append(body, make([]byte, extra)...)
	return append([]byte{0x16, 3, 3, 0, byte(len(body))}, body...)
}

// shortRecord cuts the hello record h n bytes after its random, its
// headers saying so.
func shortRecord(h []byte, n int) []byte {
	h = append([]byte(nil), h[:43+n]...)
	h[4] = byte(len(h) - 5)
	h[8] = byte(len(h) - 9)
	return h
}

// TestHelloScan: the random reported is the first hello's, or after a
// HelloRetryRequest (and the ChangeCipherSpec that may follow it) the
// next ServerHello's, however the bytes are cut into reads.
func TestHelloScan(t *testing.T) {
	var r1, r2 [32]byte
	for i := range r1 {
		r1[i], r2[i] = byte(i+1), byte(0x80+i)
	}
	ccs := []byte{0x14, 3, 3, 0, 1, 1}
	appData := []byte{0x17, 3, 3, 0, 50}
	cases := []struct {
		name   string
		stream []byte
		typ    byte
		want   []byte
	}{
		{"client hello", testHello(1, r1, 100), 1, r1[:]},
		{"server hello", append(testHello(2, r1, 40), ccs...), 2, r1[:]},
		{"after a retry", bytes.Join([][]byte{testHello(2, helloRetryRandom, 30), ccs, testHello(2, r2, 60)}, nil), 2, r2[:]},
		{"after a retry, no CCS", bytes.Join([][]byte{testHello(2, helloRetryRandom, 0), testHello(2, r2, 0)}, nil), 2, r2[:]},
		{"cut in a retry", testHello(2, helloRetryRandom, 30)[:50], 2, nil},
		{"not a hello", append(appData, make([]byte, 60)...), 2, nil},
		{"truncated", testHello(1, r1, 0)[:30], 1, nil},
	}
	for _, c := range cases {
		for _, step := range []int{1, 2, 5, 7, 43, 1000} {
			var s helloScan
			for i := 0; i < len(c.stream); i += step {
				s.feed(c.stream[i:min(i+step, len(c.stream))])
			}
			if got := s.random(c.typ); !bytes.Equal(got, c.want) {
				t.Errorf("%s, reads of %d: random %x, want %x", c.name, step, got, c.want)
			}
		}
	}
	// The session id after the random, read within the hello's record.
	sid := bytes.Repeat([]byte{0xab}, 32)
	withSID := func(id []byte, extra int) []byte {
		body := append([]byte{byte(len(id))}, id...)
		body = append(body, make([]byte, extra)...)
		h := testHello(2, r1, len(body))
		copy(h[43:], body)
		return h
	}
	for _, c := range []struct {
		name   string
		stream []byte
		want   []byte
		ok     bool
	}{
		{"32 bytes", withSID(sid, 10), sid, true},
		{"empty", append(withSID(nil, 10), ccs...), []byte{}, true},
		{"cut in the id", withSID(sid, 10)[:60], nil, false},
		{"record ends in the id", append(shortRecord(withSID(sid, 0), 5), ccs...), nil, false},
		{"over 32", withSID(bytes.Repeat([]byte{1}, 40), 0), nil, false},
	} {
		for _, step := range []int{1, 3, 44, 1000} {
			var s helloScan
			for i := 0; i < len(c.stream); i += step {
				s.feed(c.stream[i:min(i+step, len(c.stream))])
			}
			got, ok := s.sessionID(2)
			if ok != c.ok || !bytes.Equal(got, c.want) {
				t.Errorf("session id %s, reads of %d: %x %v, want %x %v", c.name, step, got, ok, c.want, c.ok)
			}
		}
	}
}

// FuzzHelloScan: any bytes on the wire, cut into reads anywhere, give
// the same random as in one read, and never a panic.
func FuzzHelloScan(f *testing.F) {
	var r [32]byte
	f.Add(testHello(1, r, 10), uint8(3))
	f.Add(bytes.Join([][]byte{testHello(2, helloRetryRandom, 5), {0x14, 3, 3, 0, 1, 1}, testHello(2, r, 0)}, nil), uint8(1))
	f.Add([]byte{0x14, 3, 3, 0xff, 0xff}, uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, step uint8) {
		var whole, cut helloScan
		whole.feed(b)
		n := int(step%64) + 1
		for i := 0; i < len(b); i += n {
			cut.feed(b[i:min(i+n, len(b))])
		}
		for _, typ := range []byte{1, 2} {
			if w, c := whole.random(typ), cut.random(typ); !bytes.Equal(w, c) {
				t.Errorf("%x in reads of %d: %x, in one read: %x", b, n, c, w)
			}
			w, wok := whole.sessionID(typ)
			c, cok := cut.sessionID(typ)
			if wok != cok || !bytes.Equal(w, c) {
				t.Errorf("%x in reads of %d: session id %x %v, in one read: %x %v", b, n, c, cok, w, wok)
			}
		}
	})
}
