package proxyproto

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzParse: any input parses or fails without panicking, and a parsed
// header marshals to bytes that parse to the same header.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n",
		"PROXY TCP6 2001:db8::1 ::1 1 65535\r\n",
		"PROXY UNKNOWN\r\n",
		"PROXY TCP4 1.2.3.4 5.6",
		Signature + "\x21\x11\x00\x0c\xc0\x00\x02\x01\xc6\x33\x64\x02\xdc\x04\x01\xbb",
		Signature + "\x20\x00\x00\x00",
		Signature + "\x21\x11\x00\x13\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02\x03\x00\x04\x00\x00\x00\x00",
		Signature + "\x21\x31\x00\xd8" + string(make([]byte, 216)),
		"GET / HTTP/1.1\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		h, n, err := Parse(in)
		if err != nil {
			return
		}
		if n <= 0 || n > len(in) {
			t.Fatalf("length %d of %d bytes", n, len(in))
		}
		b, err := h.MarshalBinary()
		if err != nil {
			t.Fatalf("MarshalBinary of a parsed header %+v: %v", h, err)
		}
		var h2 Header
		if err := h2.UnmarshalBinary(b); err != nil {
			t.Fatalf("UnmarshalBinary(%q) = %v", b, err)
		}
		if !reflect.DeepEqual(h, &h2) {
			t.Fatalf("round trip: %+v != %+v", h, h2)
		}
		if b2, _ := h2.MarshalBinary(); !bytes.Equal(b, b2) {
			t.Fatalf("second marshal differs: %q != %q", b, b2)
		}
	})
}
