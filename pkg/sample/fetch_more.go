package sample

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
)

// Less common fetches and converters of configuration manual 7.3.

func (t *Txn) now() time.Time {
	if t.Now.IsZero() {
		return time.Now()
	}
	return t.Now
}

func init() {
	RegisterFetch(FetchDef{Name: "env", Args: ArgSpec{Types: []ArgType{ArgStr}, Min: 1}, Out: TypeStr,
		Fn: func(t *Txn, a []Arg) (Value, bool) {
			lookup := os.LookupEnv
			// The configuration parser's environment, changed by setenv.
			if t != nil {
				if l, ok := t.Env.(interface{ LookupEnv(string) (string, bool) }); ok {
					lookup = l.LookupEnv
				}
			}
			v, ok := lookup(a[0].Str)
			return Value{Type: TypeStr, Str: v}, ok
		}})
	RegisterFetch(FetchDef{Name: "hostname", Out: TypeStr, Fn: func(*Txn, []Arg) (Value, bool) {
		h, err := os.Hostname()
		return Value{Type: TypeStr, Str: h}, err == nil
	}})
	RegisterFetch(FetchDef{Name: "date", Args: ArgSpec{Types: []ArgType{ArgInt, ArgStr}}, Out: TypeInt,
		Check: func(a []Arg, _ *ParseOptions) error {
			if len(a) > 1 {
				switch a[1].Str {
				case "s", "ms", "us":
				default:
					return syntaxErr("expects 's', 'ms' or 'us', got '%s'", a[1].Str)
				}
			}
			return nil
		},
		Fn: func(t *Txn, a []Arg) (Value, bool) {
			now := t.now()
			off := argInt(a, 0)
			switch argStr(a, 1) {
			case "ms":
				return Value{Type: TypeInt, Int: now.UnixMilli() + off}, true
			case "us":
				return Value{Type: TypeInt, Int: now.UnixMicro() + off}, true
			}
			return Value{Type: TypeInt, Int: now.Unix() + off}, true
		}})
	RegisterFetch(FetchDef{Name: "date_us", Out: TypeInt, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		return Value{Type: TypeInt, Int: int64(t.now().Nanosecond() / 1000)}, true
	}})
	RegisterFetch(FetchDef{Name: "rand", Args: ArgSpec{Types: []ArgType{ArgInt}}, Out: TypeInt,
		Fn: func(_ *Txn, a []Arg) (Value, bool) {
			n := rand.Uint32()
			if len(a) > 0 {
				// the range scales the 32-bit random number, as haproxy
				return Value{Type: TypeInt, Int: int64(uint64(n) * uint64(a[0].Int) >> 32)}, true
			}
			return Value{Type: TypeInt, Int: int64(n)}, true
		}})
	// uuid([4]): a random RFC 4122 version 4 UUID, as haproxy's
	// ha_generate_uuid prints it (lower-case hex), new at each call.
	RegisterFetch(FetchDef{Name: "uuid", Args: ArgSpec{Types: []ArgType{ArgInt}}, Out: TypeStr,
		Check: func(a []Arg, _ *ParseOptions) error {
			if len(a) > 0 && a[0].Int != 4 {
				return fmt.Errorf("Unsupported UUID version: '%d'", a[0].Int)
			}
			return nil
		},
		Fn: func(*Txn, []Arg) (Value, bool) { return Value{Type: TypeStr, Str: uuid4()}, true }})
	for _, n := range []string{"nbproc", "proc"} {
		RegisterFetch(FetchDef{Name: n, Out: TypeInt, Fn: func(*Txn, []Arg) (Value, bool) {
			return Value{Type: TypeInt, Int: 1}, true
		}})
	}
	RegisterFetch(FetchDef{Name: "meth", Args: ArgSpec{Types: []ArgType{ArgStr}, Min: 1}, Out: TypeMeth,
		Fn: func(_ *Txn, a []Arg) (Value, bool) { return Value{Type: TypeMeth, Str: a[0].Str}, true }})

	// Request line and headers.
	RegisterFetch(FetchDef{Name: "baseq", Out: TypeStr, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		b, ok := reqBase(t)
		if !ok {
			return Value{}, false
		}
		if _, q, has := strings.Cut(t.Req.URI, "?"); has {
			b += "?" + q
		}
		return Value{Type: TypeStr, Str: b}, true
	}})
	// capture.req.hdr(N) and capture.res.hdr(N): capture slot N of the
	// frontend, as filled so far (by the head's captures, then the
	// capture rules).
	for _, dir := range []string{"req", "res"} {
		res := dir == "res"
		RegisterFetch(FetchDef{Name: "capture." + dir + ".hdr", Args: ArgSpec{Types: []ArgType{ArgInt}, Min: 1}, Out: TypeStr,
			Fn: func(t *Txn, a []Arg) (Value, bool) {
				if t.Captures == nil || a[0].Int < 0 || a[0].Int > math.MaxInt32 {
					return Value{}, false
				}
				v, ok := t.Captures.Captured(res, int(a[0].Int))
				return Value{Type: TypeStr, Str: v}, ok
			}})
	}
	RegisterFetch(FetchDef{Name: "capture.req.method", Out: TypeStr, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		if t.Req == nil {
			return Value{}, false
		}
		return Value{Type: TypeStr, Str: t.Req.Method}, true
	}})
	RegisterFetch(FetchDef{Name: "capture.req.uri", Out: TypeStr, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		if t.Req == nil {
			return Value{}, false
		}
		return Value{Type: TypeStr, Str: t.Req.URI}, true
	}})
	RegisterFetch(FetchDef{Name: "capture.req.ver", Out: TypeStr, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		if t.Req == nil {
			return Value{}, false
		}
		return Value{Type: TypeStr, Str: t.Req.Version}, true
	}})
	RegisterFetch(FetchDef{Name: "capture.res.ver", Out: TypeStr, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		if t.Res == nil {
			return Value{}, false
		}
		return Value{Type: TypeStr, Str: t.Res.Version}, true
	}})
	RegisterFetch(FetchDef{Name: "url_ip", Out: TypeIPv4, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		h, _, ok := urlHostPort(t)
		if !ok {
			return Value{}, false
		}
		a, ok := parseIPv4Prefix(h)
		if !ok || len(h) != len(a.String()) {
			return Value{}, false
		}
		return Value{Type: TypeAddr, Addr: a}, true
	}})
	RegisterFetch(FetchDef{Name: "url_port", Out: TypeInt, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		_, p, ok := urlHostPort(t)
		if !ok {
			return Value{}, false
		}
		n, _ := strconv.Atoi(p)
		return Value{Type: TypeInt, Int: int64(n)}, true
	}})
	for _, d := range []struct {
		name string
		res  bool
	}{{"req.hdrs", false}, {"res.hdrs", true}} {
		res := d.res
		RegisterFetch(FetchDef{Name: d.name, Out: TypeBin, Fn: func(t *Txn, _ []Arg) (Value, bool) {
			m := t.Req
			if res {
				m = t.Res
			}
			if m == nil {
				return Value{}, false
			}
			var b strings.Builder
			for _, h := range m.Headers {
				b.WriteString(strings.ToLower(h.Name))
				b.WriteString(": ")
				b.WriteString(h.Value)
				b.WriteString("\r\n")
			}
			b.WriteString("\r\n")
			return Value{Type: TypeBin, Str: b.String()}, true
		}})
	}
	for _, d := range []struct {
		name string
		res  bool
	}{{"req.hdr_names", false}, {"res.hdr_names", true}} {
		res := d.res
		RegisterFetch(FetchDef{Name: d.name, Args: ArgSpec{Types: []ArgType{ArgStr}}, Out: TypeStr,
			Fn: func(t *Txn, a []Arg) (Value, bool) {
				m := t.Req
				if res {
					m = t.Res
				}
				if m == nil {
					return Value{}, false
				}
				sep := ","
				if s := argStr(a, 0); s != "" {
					sep = s[:1]
				}
				var b strings.Builder
				for i, h := range m.Headers {
					if i > 0 {
						b.WriteString(sep)
					}
					b.WriteString(strings.ToLower(h.Name))
				}
				return Value{Type: TypeStr, Str: b.String()}, true
			}})
	}
	RegisterFetch(FetchDef{Name: "req.body_param", Args: ArgSpec{Types: []ArgType{ArgStr}}, Out: TypeBin,
		Fn: func(t *Txn, a []Arg) (Value, bool) {
			if t.Req == nil || t.Req.Body == nil {
				return Value{}, false
			}
			var out string
			found := false
			eachParam("?"+string(t.Req.Body), argStr(a, 0), "", func(v string) bool {
				out, found = v, true
				return false
			})
			return Value{Type: TypeBin, Str: out}, found
		},
		Each: func(t *Txn, a []Arg, out []Value) []Value {
			if t.Req == nil || t.Req.Body == nil {
				return out
			}
			eachParam("?"+string(t.Req.Body), argStr(a, 0), "", func(v string) bool {
				out = append(out, Value{Type: TypeBin, Str: v})
				return true
			})
			return out
		}})
	// cookie() reads the request's Cookie headers, or the response's
	// Set-Cookie in http-response rules.
	RegisterFetch(FetchDef{Name: "cookie", Args: ArgSpec{Types: []ArgType{ArgStr}}, Out: TypeStr,
		Fn: func(t *Txn, a []Arg) (Value, bool) {
			m, set := t.Req, false
			if t.InResponse {
				m, set = t.Res, true
			}
			var out string
			found := false
			first := argStr(a, 0) == ""
			eachCookie(m, set, argStr(a, 0), func(v string) bool {
				out, found = v, true
				return !first
			})
			return Value{Type: TypeStr, Str: out}, found
		}})

	// Converters.
	RegisterConverter(ConvDef{Name: "bytes", Args: ArgSpec{Types: []ArgType{ArgInt, ArgInt}, Min: 1}, In: TypeBin, Out: TypeBin,
		Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
			off := a[0].Int
			if off < 0 || off >= int64(len(v.Str)) {
				return Value{}, false
			}
			s := v.Str[off:]
			if len(a) > 1 && a[1].Int > 0 && a[1].Int < int64(len(s)) {
				s = s[:a[1].Int]
			}
			return Value{Type: TypeBin, Str: s}, true
		}})
	RegisterConverter(ConvDef{Name: "ltrim", Args: ArgSpec{Types: []ArgType{ArgStr}, Min: 1}, In: TypeStr, Out: TypeStr,
		Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
			return Value{Type: TypeStr, Str: strings.TrimLeft(v.Str, a[0].Str)}, true
		}})
	RegisterConverter(ConvDef{Name: "rtrim", Args: ArgSpec{Types: []ArgType{ArgStr}, Min: 1}, In: TypeStr, Out: TypeStr,
		Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
			return Value{Type: TypeStr, Str: strings.TrimRight(v.Str, a[0].Str)}, true
		}})
	RegisterConverter(ConvDef{Name: "iif", Args: ArgSpec{Types: []ArgType{ArgStr, ArgStr}, Min: 2}, In: TypeBool, Out: TypeStr,
		Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
			if v.Bool {
				return Value{Type: TypeStr, Str: a[0].Str}, true
			}
			return Value{Type: TypeStr, Str: a[1].Str}, true
		}})
	RegisterConverter(ConvDef{Name: "htonl", In: TypeInt, Out: TypeBin,
		Fn: func(_ *Txn, v Value, _ []Arg) (Value, bool) {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], uint32(v.Int))
			return Value{Type: TypeBin, Str: string(b[:])}, true
		}})
	RegisterConverter(ConvDef{Name: "ub64enc", In: TypeBin, Out: TypeStr,
		Fn: func(_ *Txn, v Value, _ []Arg) (Value, bool) {
			return Value{Type: TypeStr, Str: base64.RawURLEncoding.EncodeToString([]byte(v.Str))}, true
		}})
	RegisterConverter(ConvDef{Name: "ub64dec", In: TypeStr, Out: TypeBin,
		Fn: func(_ *Txn, v Value, _ []Arg) (Value, bool) {
			b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v.Str, "="))
			return Value{Type: TypeBin, Str: string(b)}, err == nil
		}})
	RegisterConverter(ConvDef{Name: "sha1", In: TypeBin, Out: TypeBin,
		Fn: func(_ *Txn, v Value, _ []Arg) (Value, bool) {
			h := sha1.Sum([]byte(v.Str))
			return Value{Type: TypeBin, Str: string(h[:])}, true
		}})
	RegisterConverter(ConvDef{Name: "sha2", Args: ArgSpec{Types: []ArgType{ArgInt}}, In: TypeBin, Out: TypeBin,
		Check: func(a []Arg, _ *ParseOptions) error {
			if len(a) > 0 {
				switch a[0].Int {
				case 224, 256, 384, 512:
				default:
					return syntaxErr("Unsupported number of bits: '%d'.", a[0].Int)
				}
			}
			return nil
		},
		Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
			var s string
			switch argInt(a, 0) {
			case 224:
				h := sha256.Sum224([]byte(v.Str))
				s = string(h[:])
			case 384:
				h := sha512.Sum384([]byte(v.Str))
				s = string(h[:])
			case 512:
				h := sha512.Sum512([]byte(v.Str))
				s = string(h[:])
			default:
				h := sha256.Sum256([]byte(v.Str))
				s = string(h[:])
			}
			return Value{Type: TypeBin, Str: s}, true
		}})
	RegisterConverter(ConvDef{Name: "http_date", Args: ArgSpec{Types: []ArgType{ArgInt, ArgStr}}, In: TypeInt, Out: TypeStr,
		Fn: func(_ *Txn, v Value, a []Arg) (Value, bool) {
			sec := v.Int + argInt(a, 0)
			var tm time.Time
			switch argStr(a, 1) {
			case "ms":
				tm = time.UnixMilli(v.Int + argInt(a, 0))
			case "us":
				tm = time.UnixMicro(v.Int + argInt(a, 0))
			default:
				tm = time.Unix(sec, 0)
			}
			return Value{Type: TypeStr, Str: tm.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")}, true
		}})
	RegisterConverter(ConvDef{Name: "add_item", Args: ArgSpec{Types: []ArgType{ArgStr, ArgStr, ArgStr}, Min: 2}, In: TypeStr, Out: TypeStr,
		Check: func(a []Arg, _ *ParseOptions) error {
			if a[1].Str != "" {
				if err := checkVarName(a[1].Str); err != nil {
					return err
				}
			}
			if a[1].Str == "" && (len(a) < 3 || a[2].Str == "") {
				return syntaxErr("one of the optional arguments has to be nonempty")
			}
			return nil
		},
		Fn: func(t *Txn, v Value, a []Arg) (Value, bool) {
			// The variable's content then the suffix, both optional.
			item := ""
			if a[1].Str != "" {
				if o, ok := t.LookupVar(a[1].Str); ok {
					item = o.String()
				}
			}
			if len(a) > 2 {
				item += a[2].Str
			}
			if item == "" {
				return v, true
			}
			if v.Str == "" {
				return Value{Type: TypeStr, Str: item}, true
			}
			return Value{Type: TypeStr, Str: v.Str + a[0].Str + item}, true
		}})
	RegisterConverter(ConvDef{Name: "nbsrv", In: TypeStr, Out: TypeInt,
		Fn: func(t *Txn, v Value, _ []Arg) (Value, bool) {
			if t.Env == nil {
				return Value{}, false
			}
			n := t.Env.NbSrv(v.Str)
			return Value{Type: TypeInt, Int: int64(n)}, n >= 0
		}})
	RegisterConverter(ConvDef{Name: "url_enc", Args: ArgSpec{Types: []ArgType{ArgStr}}, In: TypeStr, Out: TypeStr,
		Check: func(a []Arg, _ *ParseOptions) error {
			if len(a) > 0 && a[0].Str != "query" {
				return syntaxErr("Unexpected encode type. Allowed value is 'query'")
			}
			return nil
		},
		Fn: func(_ *Txn, v Value, _ []Arg) (Value, bool) {
			const keep = "-._~"
			var b strings.Builder
			for i := 0; i < len(v.Str); i++ {
				c := v.Str[i]
				if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(keep, c) >= 0 {
					b.WriteByte(c)
					continue
				}
				b.WriteByte('%')
				b.WriteByte("0123456789ABCDEF"[c>>4])
				b.WriteByte("0123456789ABCDEF"[c&15])
			}
			return Value{Type: TypeStr, Str: b.String()}, true
		}})
}

// urlHostPort is the host and port of an absolute request URI.
func urlHostPort(t *Txn) (host, port string, ok bool) {
	if t.Req == nil {
		return "", "", false
	}
	i := strings.Index(t.Req.URI, "://")
	if i < 0 {
		return "", "", false
	}
	auth := t.Req.URI[i+3:]
	if j := strings.IndexAny(auth, "/?"); j >= 0 {
		auth = auth[:j]
	}
	host, port, has := strings.Cut(auth, ":")
	if !has {
		port = "80"
	}
	return host, port, true
}

// uuid4 is a random version 4 UUID: 122 random bits, the version nibble
// 4 and the variant bits 10.
func uuid4() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&15])
	}
	return string(out)
}
