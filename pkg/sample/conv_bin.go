package sample

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"strconv"
	"strings"
)

// Converters over binary samples (configuration manual 7.3.1): be2dec,
// be2hex, digest, hmac, secure_memcmp.

// digests are the message digest names haproxy resolves through
// OpenSSL's EVP_get_digestbyname that Go's standard library computes;
// OpenSSL names are case-insensitive.
var digests = map[string]func() hash.Hash{
	"md5": md5.New, "sha1": sha1.New,
	"sha224": sha256.New224, "sha256": sha256.New,
	"sha384": sha512.New384, "sha512": sha512.New,
	"sha512-224": sha512.New512_224, "sha512-256": sha512.New512_256,
	"sha3-224": func() hash.Hash { return sha3.New224() }, "sha3-256": func() hash.Hash { return sha3.New256() },
	"sha3-384": func() hash.Hash { return sha3.New384() }, "sha3-512": func() hash.Hash { return sha3.New512() },
}

func digestOf(name string) func() hash.Hash {
	n := strings.ToLower(name)
	switch n {
	case "sha-1":
		n = "sha1"
	case "sha-224", "sha-256", "sha-384", "sha-512":
		n = "sha" + n[4:]
	}
	return digests[n]
}

func checkDigest(a []Arg, _ *ParseOptions) error {
	if digestOf(a[0].Str) == nil {
		return syntaxErr("algorithm must be a valid OpenSSL message digest name.")
	}
	return nil
}

func init() {
	RegisterConverter(ConvDef{Name: "be2dec", Args: ArgSpec{Types: []ArgType{ArgStr, ArgInt, ArgInt}, Min: 1}, In: TypeBin, Out: TypeStr,
		Check: func(a []Arg, _ *ParseOptions) error {
			if c := argInt(a, 1); c <= 0 || c > 8 {
				return syntaxErr("chunk_size out of [1..8] range (%d)", c)
			}
			if t := argInt(a, 2); t != 0 && t != 1 {
				return syntaxErr("Unsupported truncate value (%d)", t)
			}
			return nil
		},
		Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
			in, sep, chunk := v.Str, argStr(a, 0), int(argInt(a, 1))
			last := len(in)
			if argInt(a, 2) != 0 {
				last = len(in) - chunk + 1
			}
			var b []byte
			for p := 0; p < last; {
				if p > 0 {
					b = append(b, sep...)
				}
				var n uint64
				for i := 0; i < chunk && p < len(in); i++ {
					n = n<<8 | uint64(in[p])
					p++
				}
				b = strconv.AppendUint(b, n, 10)
			}
			return Value{Type: TypeStr, Str: string(b)}, true
		}})
	RegisterConverter(ConvDef{Name: "be2hex", Args: ArgSpec{Types: []ArgType{ArgStr, ArgInt, ArgInt}}, In: TypeBin, Out: TypeStr,
		Check: func(a []Arg, _ *ParseOptions) error {
			if c := argInt(a, 1); c <= 0 && (argStr(a, 0) != "" || argInt(a, 2) != 0) {
				return syntaxErr("chunk_size needs to be positive (%d)", c)
			}
			if t := argInt(a, 2); t != 0 && t != 1 {
				return syntaxErr("Unsupported truncate value (%d)", t)
			}
			return nil
		},
		Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
			const hexUpper = "0123456789ABCDEF"
			in, sep, chunk := v.Str, argStr(a, 0), int(argInt(a, 1))
			trunc := argInt(a, 2) != 0
			if sep == "" && !trunc {
				chunk = len(in)
			}
			last := len(in)
			if trunc {
				last = len(in) - chunk + 1
			}
			var b []byte
			for p := 0; p < last; {
				if p > 0 {
					b = append(b, sep...)
				}
				for i := 0; i < chunk && p < len(in); i++ {
					b = append(b, hexUpper[in[p]>>4], hexUpper[in[p]&15])
					p++
				}
			}
			return Value{Type: TypeStr, Str: string(b)}, true
		}})
	RegisterConverter(ConvDef{Name: "digest", Args: ArgSpec{Types: []ArgType{ArgStr}, Min: 1}, In: TypeBin, Out: TypeBin,
		Check: checkDigest,
		Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
			h := digestOf(a[0].Str)()
			h.Write([]byte(v.Str))
			return Value{Type: TypeBin, Str: string(h.Sum(nil))}, true
		}})
	RegisterConverter(ConvDef{Name: "hmac", Args: ArgSpec{Types: []ArgType{ArgStr, ArgStr}, Min: 2}, In: TypeBin, Out: TypeBin,
		Check: func(a []Arg, o *ParseOptions) error {
			if err := checkDigest(a, o); err != nil {
				return err
			}
			k := a[1].Str
			if k == "" {
				return nil
			}
			if checkVarName(k) == nil {
				a[1].Type = ArgVar
				return nil
			}
			// A constant key is decoded once, here.
			b, err := base64.StdEncoding.DecodeString(k)
			if len(k)%4 != 0 || err != nil {
				return syntaxErr("failed to parse key : argument needs to be base64 encoded, and can either be a string or a variable")
			}
			a[1].Str = string(b)
			return nil
		},
		Fn: func(t *Txn, v Value, a []Arg) (Value, bool) {
			key := []byte(a[1].Str)
			if a[1].Type == ArgVar {
				kv, ok := t.LookupVar(a[1].Str)
				if !ok {
					return Value{}, false
				}
				kv, ok = Cast(kv, TypeStr)
				if !ok {
					return Value{}, false
				}
				b, err := base64.StdEncoding.DecodeString(kv.Str)
				if err != nil {
					return Value{}, false
				}
				key = b
			}
			m := hmac.New(digestOf(a[0].Str), key)
			m.Write([]byte(v.Str))
			return Value{Type: TypeBin, Str: string(m.Sum(nil))}, true
		}})
	RegisterConverter(ConvDef{Name: "secure_memcmp", Args: ArgSpec{Types: []ArgType{ArgStr}, Min: 1}, In: TypeBin, Out: TypeBool,
		Check: func(a []Arg, _ *ParseOptions) error {
			if a[0].Str == "" {
				return syntaxErr("missing variable name")
			}
			if checkVarName(a[0].Str) != nil {
				return syntaxErr("failed to register variable name '%s'", a[0].Str)
			}
			return nil
		},
		Fn: func(t *Txn, v Value, a []Arg) (Value, bool) {
			o, ok := t.LookupVar(a[0].Str)
			if !ok {
				return Value{}, false
			}
			o, ok = Cast(o, TypeBin)
			if !ok {
				return Value{}, false
			}
			// Equal lengths compare in constant time, as haproxy's.
			eq := len(o.Str) == len(v.Str) && subtle.ConstantTimeCompare([]byte(o.Str), []byte(v.Str)) == 1
			return Value{Type: TypeBool, Bool: eq}, true
		}})
}
