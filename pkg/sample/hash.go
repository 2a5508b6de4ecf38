package sample

import "hash/crc32"

// haproxy's hash functions (src/hash.c), for the hash converters and
// base32; balance's hash-type may use the same.

// HashDJB2 is haproxy's hash_djb2.
func HashDJB2(b []byte) uint32 {
	h := uint32(5381)
	for _, c := range b {
		h = h<<5 + h + uint32(c)
	}
	return h
}

// HashSDBM is haproxy's hash_sdbm.
func HashSDBM(b []byte) uint32 {
	var h uint32
	for _, c := range b {
		h = uint32(c) + h<<6 + h<<16 - h
	}
	return h
}

// HashWT6 is haproxy's hash_wt6.
func HashWT6(b []byte) uint32 {
	h0, h1 := uint32(0xa53c965a), uint32(0x5ca6953a)
	step0, step1 := uint32(6), uint32(18)
	for _, c := range b {
		t := uint32(c)
		h0 = ^(h0 ^ t)
		h1 = ^(h1 + t)
		t = h1<<step0 | h1>>(32-step0)
		h1 = h0<<step1 | h0>>(32-step1)
		h0 = t
		t = (h0>>16 ^ h1) & 0xffff
		step0 = t & 0x1f
		step1 = t >> 11
	}
	return h0 ^ h1
}

// HashCRC32 is haproxy's hash_crc32 (the IEEE CRC-32).
func HashCRC32(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// HashCRC32C is haproxy's hash_crc32c (CRC-32C, RFC 4960).
func HashCRC32C(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// FullHash is haproxy's full_hash: Bob Jenkins' full avalanche integer
// hash, then a multiplication by a prime near 3/4 of 2^32.
func FullHash(a uint32) uint32 {
	a = (a + 0x7ed55d16) + (a << 12)
	a = (a ^ 0xc761c23c) ^ (a >> 19)
	a = (a + 0x165667b1) + (a << 5)
	a = (a + 0xd3a2646c) ^ (a << 9)
	a = (a + 0xfd7046c5) + (a << 3)
	a = (a ^ 0xb55a4f09) ^ (a >> 16)
	return a * 3221225473
}

func init() {
	for _, h := range []struct {
		name string
		fn   func([]byte) uint32
	}{{"djb2", HashDJB2}, {"sdbm", HashSDBM}, {"wt6", HashWT6}, {"crc32", HashCRC32}, {"crc32c", HashCRC32C}} {
		fn := h.fn
		RegisterConverter(ConvDef{Name: h.name, Args: ArgSpec{Types: []ArgType{ArgInt}}, In: TypeBin, Out: TypeInt,
			Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
				n := fn([]byte(v.Str))
				if argInt(a, 0) != 0 {
					n = FullHash(n)
				}
				return Value{Type: TypeInt, Int: int64(n)}, true
			}})
	}
	// base32: the sdbm hash of the first Host value then of the path,
	// avalanched.
	RegisterFetch(FetchDef{Name: "base32", Out: TypeInt, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		if t.Req == nil {
			return Value{}, false
		}
		var h uint32
		eachHdr(t.Req, "host", false, func(v string) bool {
			for i := 0; i < len(v); i++ {
				h = uint32(v[i]) + h<<6 + h<<16 - h
			}
			return false
		})
		if p, ok := uriPath(t.Req.URI, false); ok && p != "" && p[0] == '/' {
			for i := 0; i < len(p); i++ {
				h = uint32(p[i]) + h<<6 + h<<16 - h
			}
		}
		return Value{Type: TypeInt, Int: int64(FullHash(h))}, true
	}})
}
