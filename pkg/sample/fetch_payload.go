package sample

// Layer 6 fetches on the buffered request payload (configuration manual
// 7.3.5): req.len, req.payload, res.len, res.payload, the ClientHello peekers, RDP cookies.

func init() {
	for _, n := range []string{"req.len", "req_len"} {
		RegisterFetch(FetchDef{Name: n, Out: TypeInt, Fn: func(t *Txn, _ []Arg) (Value, bool) {
			t.MayChange()
			if t.Req != nil {
				return Value{Type: TypeInt, Int: htxLen(t)}, true
			}
			return Value{Type: TypeInt, Int: int64(len(t.Payload))}, true
		}})
	}
	RegisterFetch(FetchDef{Name: "res.len", Out: TypeInt, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		t.MayChange()
		return Value{Type: TypeInt, Int: int64(len(t.ResPayload))}, true
	}})
	RegisterFetch(FetchDef{Name: "res.payload", Args: ArgSpec{Types: []ArgType{ArgInt, ArgInt}, Min: 2}, Out: TypeBin,
		Fn: func(t *Txn, a []Arg) (Value, bool) { return payloadAt(t, t.ResPayload, a[0].Int, a[1].Int) }})
	payload := func(t *Txn, a []Arg) (Value, bool) { return payloadAt(t, t.Payload, a[0].Int, a[1].Int) }
	for _, n := range []string{"req.payload", "payload"} {
		RegisterFetch(FetchDef{Name: n, Args: ArgSpec{Types: []ArgType{ArgInt, ArgInt}, Min: 2}, Out: TypeBin, Fn: payload})
	}
	RegisterACLKeyword(ACLKeyword{Name: "payload", Fetch: "req.payload", Match: "bin"})

	hello := func(t *Txn, _ []Arg) (Value, bool) {
		typ, st := helloType(t.Payload)
		return Value{Type: TypeInt, Int: int64(typ)}, peekResult(t, st)
	}
	sni := func(t *Txn, _ []Arg) (Value, bool) {
		s, st := clientHelloSNI(t.Payload)
		return Value{Type: TypeStr, Str: s}, peekResult(t, st)
	}
	ver := func(t *Txn, _ []Arg) (Value, bool) {
		v, st := clientHelloVersion(t.Payload)
		return Value{Type: TypeInt, Int: int64(v)}, peekResult(t, st)
	}
	for _, n := range []string{"req.ssl_hello_type", "req_ssl_hello_type"} {
		RegisterFetch(FetchDef{Name: n, Out: TypeInt, Fn: hello})
	}
	for _, n := range []string{"req.ssl_sni", "req_ssl_sni"} {
		RegisterFetch(FetchDef{Name: n, Out: TypeStr, Fn: sni})
	}
	for _, n := range []string{"req.ssl_ver", "req_ssl_ver"} {
		RegisterFetch(FetchDef{Name: n, Out: TypeInt, Fn: ver})
		RegisterACLKeyword(ACLKeyword{Name: n, Fetch: "req.ssl_ver", Match: "int", Dotted: true})
	}
	RegisterACLKeyword(ACLKeyword{Name: "req_ssl_sni", Fetch: "req.ssl_sni", Match: "str"})
	RegisterFetch(FetchDef{Name: "req.ssl_alpn", Out: TypeStr,
		Fn: func(t *Txn, _ []Arg) (Value, bool) {
			var buf [4]string
			p, st := clientHelloALPN(t.Payload, buf[:0])
			if !peekResult(t, st) || len(p) == 0 {
				return Value{}, false
			}
			return Value{Type: TypeStr, Str: p[0]}, true
		},
		Each: func(t *Txn, _ []Arg, out []Value) []Value {
			var buf [4]string
			p, st := clientHelloALPN(t.Payload, buf[:0])
			if !peekResult(t, st) {
				return out
			}
			for _, s := range p {
				out = append(out, Value{Type: TypeStr, Str: s})
			}
			return out
		}})
	RegisterFetch(FetchDef{Name: "req.ssl_ec_ext", Out: TypeBool, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		found := false
		st := helloExtensions(t.Payload, func(typ int, _ []byte) bool {
			found = typ == 10
			return !found
		})
		if !peekResult(t, st) || !found {
			return Value{}, false
		}
		return Value{Type: TypeBool, Bool: true}, true
	}})
	RegisterFetch(FetchDef{Name: "req.ssl_st_ext", Out: TypeInt, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		var n int64
		st := helloExtensions(t.Payload, func(typ int, e []byte) bool {
			if typ != 35 {
				return true
			}
			n = 1
			if len(e) > 0 {
				n = 2
			}
			return false
		})
		if !peekResult(t, st) {
			return Value{}, false
		}
		return Value{Type: TypeInt, Int: n}, true
	}})

	rdp := func(t *Txn, a []Arg) (Value, bool) {
		v, st := rdpCookie(t.Payload, argStr(a, 0))
		return Value{Type: TypeStr, Str: v}, peekResult(t, st)
	}
	rdpCnt := func(t *Txn, a []Arg) (Value, bool) {
		_, st := rdpCookie(t.Payload, argStr(a, 0))
		if st == peekShort {
			t.MayChange()
			return Value{}, false
		}
		n := int64(0)
		if st == peekOK {
			n = 1
		}
		return Value{Type: TypeInt, Int: n}, true
	}
	for _, p := range []string{"req.", "req_", ""} {
		if p != "req_" {
			RegisterFetch(FetchDef{Name: p + "rdp_cookie", Args: ArgSpec{Types: []ArgType{ArgStr}}, Out: TypeStr, Fn: rdp})
			RegisterFetch(FetchDef{Name: p + "rdp_cookie_cnt", Args: ArgSpec{Types: []ArgType{ArgStr}}, Out: TypeInt, Fn: rdpCnt})
		}
	}
	RegisterACLKeyword(ACLKeyword{Name: "req_rdp_cookie", Fetch: "req.rdp_cookie", Match: "str"})
	RegisterACLKeyword(ACLKeyword{Name: "req_rdp_cookie_cnt", Fetch: "req.rdp_cookie_cnt", Match: "int"})
}

// peek statuses: found, not TLS, or too short to tell yet.
const (
	peekOK = iota
	peekNo
	peekShort
)

func peekResult(t *Txn, st int) bool {
	if st == peekShort {
		t.MayChange()
	}
	return st == peekOK
}

// HelloType is req.ssl_hello_type: the type of the first handshake
// message of an SSLv3/TLS record, once the whole message is buffered.
func HelloType(d []byte) (int, bool) {
	v, st := helloType(d)
	return v, st == peekOK
}

// ClientHelloVersion is req.ssl_ver: the version the ClientHello offers
// (major<<16 | minor), from an SSLv3/TLS record or an SSLv2 hello.
func ClientHelloVersion(d []byte) (int, bool) {
	v, st := clientHelloVersion(d)
	return v, st == peekOK
}

// ClientHelloSNI is req.ssl_sni: the host name of the server_name
// extension of a complete TLS ClientHello at the start of d. Every length
// is checked against the buffer.
func ClientHelloSNI(d []byte) (string, bool) {
	v, st := clientHelloSNI(d)
	return v, st == peekOK
}

func helloType(d []byte) (int, int) {
	if len(d) == 0 {
		return 0, peekShort
	}
	if !(d[0] >= 0x14 && d[0] <= 0x17 || d[0] == 0xff) {
		return 0, peekNo
	}
	if len(d) < 9 {
		return 0, peekShort
	}
	if int(d[1])<<16|int(d[2]) < 0x30000 || int(d[3])<<8|int(d[4]) < 4 {
		return 0, peekNo
	}
	hsLen := int(d[6])<<16 | int(d[7])<<8 | int(d[8])
	if len(d) < 9+hsLen {
		return 0, peekShort
	}
	return int(d[5]), peekOK
}

func clientHelloVersion(d []byte) (int, int) {
	if len(d) == 0 {
		return 0, peekShort
	}
	var version, msgLen int
	var rest []byte
	if d[0] >= 0x14 && d[0] <= 0x17 || d[0] == 0xff {
		if len(d) < 11 {
			return 0, peekShort
		}
		if int(d[1])<<16|int(d[2]) < 0x30000 {
			return 0, peekNo
		}
		msgLen = int(d[3])<<8 | int(d[4])
		if msgLen < 6 || msgLen > 1<<14+2048 {
			return 0, peekNo
		}
		rest = d[5:]
		// the ClientHello's version, not the record layer's
		version = int(rest[4])<<16 | int(rest[5])
	} else {
		var rlen, plen int
		if d[0]&0x80 != 0 {
			if len(d) < 3 {
				return 0, peekShort
			}
			rlen = int(d[0]&0x7f)<<8 | int(d[1])
			rest = d[2:]
		} else {
			if len(d) < 4 {
				return 0, peekShort
			}
			rlen = int(d[0]&0x3f)<<8 | int(d[1])
			plen = int(d[2])
			rest = d[3:]
		}
		if rest[0] != 0x01 {
			return 0, peekNo
		}
		rest = rest[1:]
		if len(rest) < 8 {
			return 0, peekShort
		}
		version = int(rest[0])<<16 | int(rest[1])
		cilen := int(rest[2])<<8 | int(rest[3])
		silen := int(rest[4])<<8 | int(rest[5])
		chlen := int(rest[6])<<8 | int(rest[7])
		rest = rest[8:]
		if cilen%3 != 0 || silen != 0 && silen != 16 || chlen < 16 || chlen > 32 || rlen != 9+cilen+silen+chlen {
			return 0, peekNo
		}
		msgLen = cilen + silen + chlen + plen
	}
	if len(rest) < msgLen {
		return 0, peekShort
	}
	return version, peekOK
}

// helloExtensions walks the extensions of a complete TLS ClientHello at
// the start of d, as haproxy's ClientHello fetches do, calling fn with
// each one's type and body until it returns false. Every length is
// checked against the buffer. The status is peekNo on a malformed hello
// or an extension list that overruns.
func helloExtensions(d []byte, fn func(typ int, e []byte) bool) int {
	if len(d) == 0 {
		return peekShort
	}
	if d[0] != 0x16 {
		return peekNo
	}
	if len(d) < 3 {
		return peekShort
	}
	if d[1] < 3 {
		return peekNo
	}
	if len(d) < 5 {
		return peekShort
	}
	if int(d[3])<<8|int(d[4]) < 1+3+2+32+1+2+2+1+1+2+2 {
		return peekNo // too short to have an extension
	}
	d = d[5:]
	if len(d) < 1 {
		return peekShort
	}
	if d[0] != 0x01 {
		return peekNo
	}
	if len(d) < 4 {
		return peekShort
	}
	hsLen := int(d[1])<<16 | int(d[2])<<8 | int(d[3])
	if hsLen < 2+32+1+2+2+1+1+2+2 {
		return peekNo
	}
	if len(d) < 4+hsLen {
		return peekShort
	}
	h := d[4 : 4+hsLen]
	if h[0] < 3 || h[1] < 1 {
		return peekNo // TLSv1 minimum
	}
	sid := int(h[34])
	if sid > 32 || 35+sid > len(h) {
		return peekNo
	}
	h = h[35+sid:]
	if len(h) < 4 {
		return peekNo
	}
	cs := int(h[0])<<8 | int(h[1])
	if cs < 2 || 2+cs > len(h) {
		return peekNo
	}
	h = h[2+cs:]
	if len(h) < 2 || h[0] < 1 || int(h[0]) > len(h)-1 {
		return peekNo
	}
	h = h[1+int(h[0]):]
	if len(h) < 2 {
		return peekNo
	}
	extLen := int(h[0])<<8 | int(h[1])
	if extLen > len(h)-2 {
		return peekNo
	}
	h = h[2 : 2+extLen]
	for len(h) >= 4 {
		typ := int(h[0])<<8 | int(h[1])
		l := int(h[2])<<8 | int(h[3])
		if l > len(h)-4 {
			return peekNo
		}
		if !fn(typ, h[4:4+l]) {
			return peekOK
		}
		h = h[4+l:]
	}
	return peekOK
}

// clientHelloSNI: the host name of the server_name extension (type 0).
func clientHelloSNI(d []byte) (string, int) {
	var name string
	st, found := peekNo, false
	walk := helloExtensions(d, func(typ int, e []byte) bool {
		if typ != 0 {
			return true
		}
		if len(e) < 2 {
			return false
		}
		list := int(e[0])<<8 | int(e[1])
		if list < 4 || list > len(e)-2 {
			return false
		}
		if e[2] == 0 {
			n := int(e[3])<<8 | int(e[4])
			if 5+n <= len(e) {
				name, found = string(e[5:5+n]), true
			}
			return false
		}
		return true
	})
	if walk != peekOK {
		return "", walk
	}
	if found {
		st = peekOK
	}
	return name, st
}

// clientHelloALPN appends the protocols of the ALPN extension (16).
func clientHelloALPN(d []byte, out []string) ([]string, int) {
	st := peekNo
	walk := helloExtensions(d, func(typ int, e []byte) bool {
		if typ != 16 {
			return true
		}
		if len(e) < 3 {
			return false
		}
		for off := 2; off < len(e); {
			n := int(e[off])
			if off+1+n > len(e) {
				break
			}
			out = append(out, string(e[off+1:off+1+n]))
			st = peekOK
			off += 1 + n
		}
		return false
	})
	if walk != peekOK {
		return nil, walk
	}
	return out, st
}

// rdpCookie is fetch_rdp_cookie_name: "Cookie: NAME=VALUE\r\n" after
// the 11 bytes of TPKT and X.224 headers of an RDP connection request;
// NAME (case-insensitive) empty matches any.
func rdpCookie(d []byte, name string) (string, int) {
	if len(d) <= 11 {
		return "", peekShort
	}
	d = d[11:]
	if len(d) <= 7 {
		return "", peekShort
	}
	if !equalFold(string(d[:7]), "Cookie:") {
		return "", peekNo
	}
	d = d[7:]
	for len(d) > 0 && d[0] == ' ' {
		d = d[1:]
	}
	if name != "" {
		if len(d) <= len(name) {
			return "", peekShort
		}
		if d[len(name)] != '=' || !equalFold(string(d[:len(name)]), name) {
			return "", peekNo
		}
		d = d[len(name)+1:]
	} else {
		for len(d) > 0 && d[0] != '=' {
			if d[0] == '\r' || d[0] == '\n' {
				return "", peekNo
			}
			d = d[1:]
		}
		if len(d) < 1 {
			return "", peekShort
		}
		d = d[1:]
	}
	end := 0
	for end < len(d) && d[end] != '\r' {
		end++
	}
	if len(d)-end < 2 {
		return "", peekShort
	}
	if d[end+1] != '\n' {
		return "", peekNo
	}
	return string(d[:end]), peekOK
}

// payloadAt is req.payload/res.payload: n bytes at off of buf (n 0: the
// rest), missing while buf may still grow.
func payloadAt(t *Txn, buf []byte, off, n int64) (Value, bool) {
	if off < 0 || n < 0 {
		return Value{}, false
	}
	if n == 0 {
		t.MayChange()
		if off > int64(len(buf)) {
			return Value{}, false
		}
		return Value{Type: TypeBin, Str: string(buf[off:])}, true
	}
	if off+n > int64(len(buf)) || off+n < 0 {
		t.MayChange() // not there yet
		return Value{}, false
	}
	return Value{Type: TypeBin, Str: string(buf[off : off+n])}, true
}

// htxLen is req.len on an HTTP stream: haproxy 2.6 counts the request's
// HTX data, its start line and fields as the rules see them plus a fixed
// overhead (the start line's 20 bytes of header, the end of headers'
// 1), and the body bytes buffered; nothing once the request was sent.
func htxLen(t *Txn) int64 {
	if t.ReqGone {
		return 0
	}
	m := t.Req
	n := 20 + len(m.Method) + len(m.URI) + len(m.Version) + 1 + len(m.Body)
	for _, h := range m.Headers {
		n += len(h.Name) + len(h.Value)
	}
	return int64(n)
}
