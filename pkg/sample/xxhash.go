package sample

import (
	"encoding/binary"
	"math/bits"

	"github.com/cespare/xxhash/v2"
	"github.com/zeebo/xxh3"
)

// The xxh32, xxh64 and xxh3 converters (configuration manual 7.3.1): the
// XXH32, XXH64 and XXH3 64-bit hashes of the binary sample, with an
// optional integer seed (0 by default), as integers: xxh32's unsigned,
// xxh64's and xxh3's the 64-bit value taken as signed, as haproxy stores
// them. XXH64 and XXH3 come from well-kept libraries (cespare/xxhash,
// zeebo/xxh3: XXH3 has many length-dependent paths); XXH32 is short
// enough to write from the xxHash specification (xxhash_spec.md).

func init() {
	RegisterConverter(ConvDef{Name: "xxh32", Args: ArgSpec{Types: []ArgType{ArgInt}}, In: TypeBin, Out: TypeInt,
		Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
			return Value{Type: TypeInt, Int: int64(XXH32([]byte(v.Str), uint32(argInt(a, 0))))}, true
		}})
	RegisterConverter(ConvDef{Name: "xxh64", Args: ArgSpec{Types: []ArgType{ArgInt}}, In: TypeBin, Out: TypeInt,
		Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
			d := xxhash.NewWithSeed(uint64(argInt(a, 0)))
			_, _ = d.WriteString(v.Str)
			return Value{Type: TypeInt, Int: int64(d.Sum64())}, true
		}})
	RegisterConverter(ConvDef{Name: "xxh3", Args: ArgSpec{Types: []ArgType{ArgInt}}, In: TypeBin, Out: TypeInt,
		Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
			return Value{Type: TypeInt, Int: int64(xxh3.HashStringSeed(v.Str, uint64(argInt(a, 0))))}, true
		}})
}

const (
	xxPrime32_1 = 0x9E3779B1
	xxPrime32_2 = 0x85EBCA77
	xxPrime32_3 = 0xC2B2AE3D
	xxPrime32_4 = 0x27D4EB2F
	xxPrime32_5 = 0x165667B1
)

// XXH32 is the 32-bit xxHash of b with seed.
func XXH32(b []byte, seed uint32) uint32 {
	n := len(b)
	var h uint32
	if n >= 16 {
		v1 := seed + xxPrime32_1 + xxPrime32_2
		v2 := seed + xxPrime32_2
		v3 := seed
		v4 := seed - xxPrime32_1
		round := func(acc, lane uint32) uint32 {
			return bits.RotateLeft32(acc+lane*xxPrime32_2, 13) * xxPrime32_1
		}
		for ; len(b) >= 16; b = b[16:] {
			v1 = round(v1, binary.LittleEndian.Uint32(b))
			v2 = round(v2, binary.LittleEndian.Uint32(b[4:]))
			v3 = round(v3, binary.LittleEndian.Uint32(b[8:]))
			v4 = round(v4, binary.LittleEndian.Uint32(b[12:]))
		}
		h = bits.RotateLeft32(v1, 1) + bits.RotateLeft32(v2, 7) + bits.RotateLeft32(v3, 12) + bits.RotateLeft32(v4, 18)
	} else {
		h = seed + xxPrime32_5
	}
	h += uint32(n)
	for ; len(b) >= 4; b = b[4:] {
		h = bits.RotateLeft32(h+binary.LittleEndian.Uint32(b)*xxPrime32_3, 17) * xxPrime32_4
	}
	for ; len(b) > 0; b = b[1:] {
		h = bits.RotateLeft32(h+uint32(b[0])*xxPrime32_5, 11) * xxPrime32_1
	}
	h ^= h >> 15
	h *= xxPrime32_2
	h ^= h >> 13
	h *= xxPrime32_3
	h ^= h >> 16
	return h
}
