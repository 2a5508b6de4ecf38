package balance

import "hash/crc32"

// The hash functions of `hash-type ... [sdbm|djb2|wt6|crc32] [avalanche]`
// (haproxy 2.6 configuration manual, "hash-type"), computed as haproxy's
// src/hash.c defines them, over the key's bytes taken as unsigned.

// HashFunc is the function named on a `hash-type` line.
type HashFunc int

const (
	SDBM HashFunc = iota // haproxy's default
	DJB2
	WT6
	CRC32
)

func (f HashFunc) String() string {
	switch f {
	case DJB2:
		return "djb2"
	case WT6:
		return "wt6"
	case CRC32:
		return "crc32"
	}
	return "sdbm"
}

// Sum hashes key with f.
func (f HashFunc) Sum(key string) uint32 {
	switch f {
	case DJB2:
		return HashDJB2(key)
	case WT6:
		return HashWT6(key)
	case CRC32:
		return crc32.ChecksumIEEE([]byte(key))
	}
	return HashSDBM(key)
}

// HashSDBM is the sdbm hash: h = c + h*65599.
func HashSDBM(key string) uint32 {
	var h uint32
	for i := 0; i < len(key); i++ {
		h = uint32(key[i]) + (h << 6) + (h << 16) - h
	}
	return h
}

// HashDJB2 is Bernstein's hash: h = h*33 + c from 5381.
func HashDJB2(key string) uint32 {
	h := uint32(5381)
	for i := 0; i < len(key); i++ {
		h = (h << 5) + h + uint32(key[i])
	}
	return h
}

// HashWT6 is Willy Tarreau's "wt6" hash: two 32-bit halves mixed by
// complement and rotations whose amounts depend on the data.
func HashWT6(key string) uint32 {
	h0, h1 := uint32(0xa53c965a), uint32(0x5ca6953a)
	s0, s1 := uint32(6), uint32(18)
	for i := 0; i < len(key); i++ {
		t := uint32(key[i])
		h0 = ^(h0 ^ t)
		h1 = ^(h1 + t)
		t = h1<<s0 | h1>>(32-s0)
		h1 = h0<<s1 | h0>>(32-s1)
		h0 = t
		t = ((h0 >> 16) ^ h1) & 0xffff
		s0 = t & 0x1f
		s1 = t >> 11
	}
	return h0 ^ h1
}

// FullHash is the avalanche step (Bob Jenkins' 32-bit integer mix followed
// by a multiplication by a large prime), used by the `avalanche` modifier
// and to place servers on the consistent-hashing ring.
func FullHash(a uint32) uint32 {
	a = (a + 0x7ed55d16) + (a << 12)
	a = (a ^ 0xc761c23c) ^ (a >> 19)
	a = (a + 0x165667b1) + (a << 5)
	a = (a + 0xd3a2646c) ^ (a << 9)
	a = (a + 0xfd7046c5) + (a << 3)
	a = (a ^ 0xb55a4f09) ^ (a >> 16)
	return a * 3221225473
}
