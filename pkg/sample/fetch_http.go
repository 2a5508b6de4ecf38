package sample

import (
	"strings"
)

// HTTP fetches (configuration manual 7.3.6), read from Txn.Req/Txn.Res.

func init() {
	// http_first_req: the request is the first of its connection (the
	// engine sets Txn.NotFirst). In mode tcp there is no HTTP request.
	RegisterFetch(FetchDef{Name: "http_first_req", Out: TypeBool, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		if t.Req == nil {
			return Value{}, false
		}
		return Value{Type: TypeBool, Bool: !t.NotFirst}, true
	}})
	str := func(name string, fn func(t *Txn) (string, bool)) {
		RegisterFetch(FetchDef{Name: name, Out: TypeStr, Fn: func(t *Txn, _ []Arg) (Value, bool) {
			s, ok := fn(t)
			return Value{Type: TypeStr, Str: s}, ok
		}})
	}
	str("path", func(t *Txn) (string, bool) { return reqPath(t, false) })
	str("pathq", func(t *Txn) (string, bool) { return reqPath(t, true) })
	str("url", func(t *Txn) (string, bool) {
		if t.Req == nil {
			return "", false
		}
		return t.Req.URI, true
	})
	str("query", func(t *Txn) (string, bool) {
		if t.Req == nil {
			return "", false
		}
		_, q, ok := strings.Cut(t.Req.URI, "?")
		return q, ok
	})
	str("base", func(t *Txn) (string, bool) { return reqBase(t) })
	for _, n := range []string{"req.ver", "req_ver"} {
		str(n, func(t *Txn) (string, bool) {
			if t.Req == nil {
				return "", false
			}
			return httpVer(t.Req.Version)
		})
	}
	for _, n := range []string{"res.ver", "resp_ver"} {
		str(n, func(t *Txn) (string, bool) {
			if t.Res == nil {
				return "", false
			}
			return httpVer(t.Res.Version)
		})
	}
	RegisterFetch(FetchDef{Name: "method", Out: TypeMeth, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		if t.Req == nil {
			return Value{}, false
		}
		return Value{Type: TypeMeth, Str: t.Req.Method}, true
	}})
	RegisterFetch(FetchDef{Name: "status", Out: TypeInt, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		if t.Res == nil {
			return Value{}, false
		}
		return Value{Type: TypeInt, Int: int64(t.Res.Status)}, true
	}})
	for _, n := range []string{"req.proto_http", "req_proto_http"} {
		RegisterFetch(FetchDef{Name: n, Out: TypeBool, Fn: func(t *Txn, _ []Arg) (Value, bool) {
			return Value{Type: TypeBool, Bool: t.Req != nil}, true
		}})
	}
	RegisterFetch(FetchDef{Name: "url_param", Args: ArgSpec{Types: []ArgType{ArgStr, ArgStr}}, Out: TypeStr,
		Fn: fetchURLParam, Each: eachURLParam})
	RegisterFetch(FetchDef{Name: "urlp", Args: ArgSpec{Types: []ArgType{ArgStr, ArgStr}}, Out: TypeStr,
		Fn: fetchURLParam, Each: eachURLParam})
	RegisterFetch(FetchDef{Name: "urlp_val", Args: ArgSpec{Types: []ArgType{ArgStr, ArgStr}}, Out: TypeInt,
		Fn: func(t *Txn, a []Arg) (Value, bool) {
			v, ok := fetchURLParam(t, a)
			return Value{Type: TypeInt, Int: atoiPrefix(v.Str)}, ok
		}})

	// Headers: req.hdr splits values at commas, req.fhdr does not; hdr
	// reads the request, or the response in http-response rules.
	hdrArgs := ArgSpec{Types: []ArgType{ArgStr, ArgInt}}
	type side func(t *Txn) *Message
	req := func(t *Txn) *Message { return t.Req }
	res := func(t *Txn) *Message { return t.Res }
	chn := func(t *Txn) *Message {
		if t.InResponse {
			return t.Res
		}
		return t.Req
	}
	for _, d := range []struct {
		prefix string
		m      side
	}{{"req.", req}, {"res.", res}, {"", chn}, {"s", res}} {
		m := d.m
		hdrName := d.prefix + "hdr"
		if d.prefix == "res." {
			hdrName = "res.hdr"
		}
		RegisterFetch(FetchDef{Name: hdrName, Args: hdrArgs, Out: TypeStr,
			Fn: func(t *Txn, a []Arg) (Value, bool) {
				s, ok := hdrOcc(m(t), a, false)
				return Value{Type: TypeStr, Str: s}, ok
			},
			Each: func(t *Txn, a []Arg, out []Value) []Value {
				eachHdrOcc(m(t), a, false, func(s string) bool { out = append(out, Value{Type: TypeStr, Str: s}); return true })
				return out
			}})
		cnt := func(full bool) func(t *Txn, a []Arg) (Value, bool) {
			return func(t *Txn, a []Arg) (Value, bool) {
				msg := m(t)
				if msg == nil {
					return Value{}, false
				}
				n := 0
				eachHdr(msg, argStr(a, 0), full, func(string) bool { n++; return true })
				return Value{Type: TypeInt, Int: int64(n)}, true
			}
		}
		RegisterFetch(FetchDef{Name: hdrName + "_cnt", Args: ArgSpec{Types: []ArgType{ArgStr}}, Out: TypeInt, Fn: cnt(false)})
		RegisterFetch(FetchDef{Name: hdrName + "_val", Args: hdrArgs, Out: TypeInt,
			Fn: func(t *Txn, a []Arg) (Value, bool) {
				s, ok := hdrOcc(m(t), a, false)
				return Value{Type: TypeInt, Int: atoiPrefix(s)}, ok
			},
			Each: func(t *Txn, a []Arg, out []Value) []Value {
				eachHdrOcc(m(t), a, false, func(s string) bool { out = append(out, Value{Type: TypeInt, Int: atoiPrefix(s)}); return true })
				return out
			}})
		RegisterFetch(FetchDef{Name: hdrName + "_ip", Args: hdrArgs, Out: TypeIPv4,
			Fn: func(t *Txn, a []Arg) (Value, bool) {
				var out Value
				found := false
				// the last occurrence that is an address (haproxy moves
				// on to the previous one when the last is not)
				eachHdrOcc(m(t), a, false, func(s string) bool {
					if v, ok := hdrIP(s); ok {
						out, found = v, true
					}
					return true
				})
				return out, found
			},
			Each: func(t *Txn, a []Arg, out []Value) []Value {
				eachHdrOcc(m(t), a, false, func(s string) bool {
					if v, ok := hdrIP(s); ok {
						out = append(out, v)
						return true
					}
					return true
				})
				return out
			}})
		if d.prefix == "req." || d.prefix == "res." {
			fh := d.prefix + "fhdr"
			RegisterFetch(FetchDef{Name: fh, Args: hdrArgs, Out: TypeStr,
				Fn: func(t *Txn, a []Arg) (Value, bool) {
					s, ok := hdrOcc(m(t), a, true)
					return Value{Type: TypeStr, Str: s}, ok
				},
				Each: func(t *Txn, a []Arg, out []Value) []Value {
					eachHdrOcc(m(t), a, true, func(s string) bool { out = append(out, Value{Type: TypeStr, Str: s}); return true })
					return out
				}})
			RegisterFetch(FetchDef{Name: fh + "_cnt", Args: ArgSpec{Types: []ArgType{ArgStr}}, Out: TypeInt, Fn: cnt(true)})
		}
	}

	// Cookies.
	cook := func(name string, m side, set bool) {
		RegisterFetch(FetchDef{Name: name, Args: ArgSpec{Types: []ArgType{ArgStr}}, Out: TypeStr,
			Fn: func(t *Txn, a []Arg) (Value, bool) {
				var out string
				found := false
				first := argStr(a, 0) == ""
				eachCookie(m(t), set, argStr(a, 0), func(v string) bool {
					out, found = v, true
					return !first // no name: the first cookie; else the last
				})
				return Value{Type: TypeStr, Str: out}, found
			},
			Each: func(t *Txn, a []Arg, out []Value) []Value {
				eachCookie(m(t), set, argStr(a, 0), func(v string) bool { out = append(out, Value{Type: TypeStr, Str: v}); return true })
				return out
			}})
		RegisterFetch(FetchDef{Name: name + "_cnt", Args: ArgSpec{Types: []ArgType{ArgStr}}, Out: TypeInt,
			Fn: func(t *Txn, a []Arg) (Value, bool) {
				msg := m(t)
				if msg == nil {
					return Value{}, false
				}
				n := 0
				eachCookie(msg, set, argStr(a, 0), func(string) bool { n++; return true })
				return Value{Type: TypeInt, Int: int64(n)}, true
			}})
		RegisterFetch(FetchDef{Name: name + "_val", Args: ArgSpec{Types: []ArgType{ArgStr}}, Out: TypeInt,
			Fn: func(t *Txn, a []Arg) (Value, bool) {
				var out string
				found := false
				first := argStr(a, 0) == ""
				eachCookie(m(t), set, argStr(a, 0), func(v string) bool {
					out, found = v, true
					return !first // as the string fetch: no name, the first
				})
				return Value{Type: TypeInt, Int: atoiPrefix(out)}, found
			},
			Each: func(t *Txn, a []Arg, out []Value) []Value {
				eachCookie(m(t), set, argStr(a, 0), func(v string) bool { out = append(out, Value{Type: TypeInt, Int: atoiPrefix(v)}); return true })
				return out
			}})
	}
	cook("req.cook", req, false)
	cook("cook", req, false)
	cook("res.cook", res, true)
	cook("scook", res, true)

	for _, d := range []struct {
		name string
		m    side
	}{{"req.body", req}, {"res.body", res}} {
		m := d.m
		// without a buffered body haproxy gives what it has: nothing
		RegisterFetch(FetchDef{Name: d.name, Out: TypeBin, Fn: func(t *Txn, _ []Arg) (Value, bool) {
			msg := m(t)
			if msg == nil {
				return Value{}, false
			}
			return Value{Type: TypeBin, Str: string(msg.Body)}, true
		}})
		for _, n := range []string{d.name + "_len", d.name + "_size"} {
			RegisterFetch(FetchDef{Name: n, Out: TypeInt, Fn: func(t *Txn, _ []Arg) (Value, bool) {
				msg := m(t)
				if msg == nil {
					return Value{}, false
				}
				return Value{Type: TypeInt, Int: int64(len(msg.Body))}, true
			}})
		}
	}

	// ACL keywords reading HTTP fetches with their default match.
	for _, base := range []struct{ kw, fetch string }{
		{"base", "base"}, {"cook", "req.cook"}, {"hdr", "req.hdr"}, {"path", "path"},
		{"scook", "res.cook"}, {"shdr", "res.hdr"}, {"url", "url"}, {"urlp", "urlp"},
	} {
		RegisterACLKeyword(ACLKeyword{Name: base.kw, Fetch: base.fetch, Match: "str"})
		for _, m := range []string{"beg", "dir", "dom", "end", "len", "reg", "sub"} {
			RegisterACLKeyword(ACLKeyword{Name: base.kw + "_" + m, Fetch: base.fetch, Match: m})
		}
	}
	RegisterACLKeyword(ACLKeyword{Name: "req_ver", Fetch: "req.ver", Match: "str"})
	RegisterACLKeyword(ACLKeyword{Name: "resp_ver", Fetch: "res.ver", Match: "str"})
	RegisterACLKeyword(ACLKeyword{Name: "method", Fetch: "method", Match: "str"})
}

// httpVer strips "HTTP/" from a version.
func httpVer(v string) (string, bool) {
	if s, ok := strings.CutPrefix(v, "HTTP/"); ok {
		return s, true
	}
	return "", false
}

// uriPath is http_get_path: the path of an origin-form or absolute URI
// (up to '?' unless withQuery); ok is false when there is none.
func uriPath(uri string, withQuery bool) (string, bool) {
	p := uri
	if !strings.HasPrefix(p, "/") {
		i := strings.Index(p, "://")
		if i < 0 {
			return "", false
		}
		p = p[i+3:]
		j := strings.IndexByte(p, '/')
		if j < 0 {
			return "", false
		}
		p = p[j:]
	}
	if !withQuery {
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
	}
	return p, true
}

func reqPath(t *Txn, withQuery bool) (string, bool) {
	if t.Req == nil {
		return "", false
	}
	return uriPath(t.Req.URI, withQuery)
}

// reqBase is `base`: the first Host header's value then the path.
func reqBase(t *Txn) (string, bool) {
	if t.Req == nil {
		return "", false
	}
	host := ""
	// the first value of the first Host header (http_find_header, not full)
	eachHdr(t.Req, "host", false, func(v string) bool { host = v; return false })
	p, ok := uriPath(t.Req.URI, false)
	if !ok {
		if host == "" {
			return "", false
		}
		return host, true
	}
	return host + p, true
}

func argStr(a []Arg, i int) string {
	if i < len(a) {
		return a[i].Str
	}
	return ""
}

func argInt(a []Arg, i int) int64 {
	if i < len(a) {
		return a[i].Int
	}
	return 0
}

func isLWS(c byte) bool { return c == ' ' || c == '\t' }

// valueEnd is http_find_hdr_value_end: the next comma outside quotes.
func valueEnd(s string) int {
	quoted, pair := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case pair:
			pair = false
		case quoted:
			if c == '\\' {
				pair = true
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == ',':
			return i
		}
	}
	return len(s)
}

func trimLWS(s string) string {
	for len(s) > 0 && isLWS(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isLWS(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// eachHdr yields the values of the headers named name (any header when
// empty), split at commas unless full, as http_find_header does.
func eachHdr(m *Message, name string, full bool, y func(string) bool) {
	if m == nil {
		return
	}
	for _, h := range m.Headers {
		if name != "" && !strings.EqualFold(h.Name, name) {
			continue
		}
		v := h.Value
		if full {
			if !y(trimLWS(v)) {
				return
			}
			continue
		}
		for {
			for len(v) > 0 && isLWS(v[0]) {
				v = v[1:]
			}
			e := valueEnd(v)
			if !y(trimLWS(v[:e])) {
				return
			}
			if e >= len(v) {
				break
			}
			v = v[e+1:]
		}
	}
}

// hdrOcc is the single value of hdr(name[,occ]): the occ-th from the
// first (occ > 0) or from the last (occ < 0); the last by default.
func hdrOcc(m *Message, a []Arg, full bool) (string, bool) {
	if m == nil {
		return "", false
	}
	occ := argInt(a, 1)
	if occ == 0 {
		occ = -1
	}
	return nthHdr(m, argStr(a, 0), full, occ)
}

func nthHdr(m *Message, name string, full bool, occ int64) (string, bool) {
	if occ > 0 {
		var out string
		found := false
		i := int64(0)
		eachHdr(m, name, full, func(v string) bool {
			i++
			if i == occ {
				out, found = v, true
				return false
			}
			return true
		})
		return out, found
	}
	// from the end: keep the last -occ values
	ring := make([]string, 0, 4)
	n := int(-occ)
	eachHdr(m, name, full, func(v string) bool {
		if len(ring) == n {
			copy(ring, ring[1:])
			ring = ring[:n-1]
		}
		ring = append(ring, v)
		return true
	})
	if len(ring) < n {
		return "", false
	}
	return ring[0], true
}

// eachHdrOcc yields what an ACL tests: every value without occ, else the
// one occurrence.
func eachHdrOcc(m *Message, a []Arg, full bool, y func(string) bool) {
	if m == nil {
		return
	}
	occ := argInt(a, 1)
	if occ == 0 {
		eachHdr(m, argStr(a, 0), full, y)
		return
	}
	if v, ok := nthHdr(m, argStr(a, 0), full, occ); ok {
		y(v)
	}
}

// atoiPrefix is strl2ic: the leading decimal integer, 0 when none.
func atoiPrefix(s string) int64 {
	s = strings.TrimLeft(s, " \t")
	return readInt64(s)
}

// hdrIP is hdr_ip's parse: an IPv4 address (url2ipv4 accepts what follows
// the digits, e.g. a port), else an IPv6 address.
func hdrIP(s string) (Value, bool) {
	if v4, ok := parseIPv4Prefix(s); ok {
		return Value{Type: TypeAddr, Addr: v4}, true
	}
	if a, err := parseAddrStrict(s); err == nil && a.Is6() {
		return Value{Type: TypeAddr, Addr: a}, true
	}
	return Value{}, false
}

// eachCookie yields the values of cookie `name` (every cookie when name
// is empty): in Cookie headers (several per header, separated by ';' or
// ',') or, for set, the first pair of each Set-Cookie header.
func eachCookie(m *Message, set bool, name string, y func(string) bool) {
	if m == nil {
		return
	}
	hname := "cookie"
	if set {
		hname = "set-cookie"
	}
	for _, h := range m.Headers {
		if !strings.EqualFold(h.Name, hname) {
			continue
		}
		v := h.Value
		for len(v) > 0 {
			var pair string
			if set {
				pair, v = v, ""
				if i := strings.IndexByte(pair, ';'); i >= 0 {
					pair = pair[:i]
				}
			} else {
				i := strings.IndexAny(v, ";,")
				if i < 0 {
					pair, v = v, ""
				} else {
					pair, v = v[:i], v[i+1:]
				}
			}
			n, val, ok := strings.Cut(pair, "=")
			if !ok {
				continue
			}
			n = trimLWS(n)
			if n == "" || (name != "" && n != name) {
				continue
			}
			if !y(trimLWS(val)) {
				return
			}
		}
	}
}

// eachParam yields the values of query parameter name (any when empty)
// as http_find_next_url_param does: the list starts after the first
// delim ('?' by default), parameters are separated by '&', ';' or delim,
// and a named parameter must be followed by '='.
func eachParam(uri, name, delimArg string, y func(string) bool) {
	delim := byte('?')
	if delimArg != "" {
		delim = delimArg[0]
	}
	i := strings.IndexByte(uri, delim)
	if i < 0 {
		return
	}
	q := uri[i+1:]
	isDelim := func(c byte) bool { return c == '&' || c == ';' || c == delim }
	pos := 0
	for pos < len(q) {
		var vs int
		if name == "" {
			j := strings.IndexByte(q[pos:], '=')
			if j < 0 {
				return
			}
			vs = pos + j + 1
		} else {
			found := -1
			for p := pos; p < len(q); p++ {
				if p+len(name) < len(q) && q[p+len(name)] == '=' && q[p:p+len(name)] == name {
					found = p
					break
				}
				for p < len(q) && !isDelim(q[p]) {
					p++
				}
			}
			if found < 0 {
				return
			}
			vs = found + len(name) + 1
		}
		ve := vs
		for ve < len(q) && !isDelim(q[ve]) {
			ve++
		}
		if !y(q[vs:ve]) {
			return
		}
		pos = ve
	}
}

func fetchURLParam(t *Txn, a []Arg) (Value, bool) {
	if t.Req == nil {
		return Value{}, false
	}
	var out string
	found := false
	eachParam(t.Req.URI, argStr(a, 0), argStr(a, 1), func(v string) bool {
		out, found = v, true
		return false
	})
	return Value{Type: TypeStr, Str: out}, found
}

func eachURLParam(t *Txn, a []Arg, out []Value) []Value {
	if t.Req == nil {
		return out
	}
	eachParam(t.Req.URI, argStr(a, 0), argStr(a, 1), func(v string) bool {
		out = append(out, Value{Type: TypeStr, Str: v})
		return true
	})
	return out
}
