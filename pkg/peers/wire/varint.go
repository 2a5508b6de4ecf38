package wire

import (
	"errors"
	"fmt"
	"io"
)

// ErrVarint is returned for a varint longer than 10 bytes (more than 64
// bits), which haproxy's decoder would read as garbage and we refuse.
var ErrVarint = errors.New("wire: varint overflows 64 bits")

// Varint encoding (doc/peers-v2.0.txt section I): a value below 240 is one
// byte; above, the first byte holds the 4 low bits ORed with 0xf0, and
// each following byte 7 more bits, its top bit set while more follow. Each
// byte's weight is offset by the smallest value it can carry, so every
// value has exactly one encoding.
const (
	twoBytesMin = 0xf0 // the smallest value taking two bytes (240)
	stopBit     = 0x80 // set on every continuation byte but the last
)

// AppendUint appends v's encoding to b.
func AppendUint(b []byte, v uint64) []byte {
	if v < twoBytesMin {
		return append(b, byte(v))
	}
	b = append(b, byte(v)|twoBytesMin)
	v = (v - twoBytesMin) >> 4
	for v >= stopBit {
		b = append(b, byte(v)|stopBit)
		v = (v - stopBit) >> 7
	}
	return append(b, byte(v))
}

// UintLen is the length of v's encoding.
func UintLen(v uint64) int { return len(AppendUint(make([]byte, 0, 10), v)) }

// Uint decodes the varint at the start of b and returns it with the
// number of bytes it took. A truncated varint is io.ErrUnexpectedEOF.
func Uint(b []byte) (uint64, int, error) {
	if len(b) == 0 {
		return 0, 0, io.ErrUnexpectedEOF
	}
	v := uint64(b[0])
	if v < twoBytesMin {
		return v, 1, nil
	}
	shift := uint(4)
	for i := 1; ; i++ {
		if i >= len(b) {
			return 0, 0, io.ErrUnexpectedEOF
		}
		if i > 9 {
			return 0, 0, ErrVarint
		}
		c := uint64(b[i])
		v += c << shift
		shift += 7
		if c < stopBit {
			return v, i + 1, nil
		}
	}
}

// reader walks a message body.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n, err := Uint(r.b)
	if err != nil {
		r.err = err
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = io.ErrUnexpectedEOF
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u32() uint32 {
	p := r.bytes(4)
	if p == nil {
		return 0
	}
	return uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
}

func appendU32(b []byte, v uint32) []byte {
	return append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("wire: %s: %w", what, err)
}
