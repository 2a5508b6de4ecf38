package sample

import (
	"net/netip"
	"strings"
)

// Layer 4 and internal fetches (configuration manual 7.3.2, 7.3.3).

// UserlistChecker is implemented by an Env that knows the userlists:
// http_auth(L) and http_auth_group(L) ask it. user and pass are from the
// request's Basic Authorization header.
type UserlistChecker interface {
	// CheckUser reports whether user/pass are valid in userlist list.
	CheckUser(list, user, pass string) bool
	// UserGroups lists the groups of user in list.
	UserGroups(list, user string) []string
}

func init() {
	addr := func(name string, fn func(t *Txn) netip.AddrPort) {
		RegisterFetch(FetchDef{Name: name, Out: TypeIPv4, Fn: func(t *Txn, _ []Arg) (Value, bool) {
			ap := fn(t)
			if !ap.IsValid() {
				return Value{}, false
			}
			return Value{Type: TypeAddr, Addr: ap.Addr()}, true
		}})
		RegisterFetch(FetchDef{Name: name + "_port", Out: TypeInt, Fn: func(t *Txn, _ []Arg) (Value, bool) {
			ap := fn(t)
			if !ap.IsValid() {
				return Value{}, false
			}
			return Value{Type: TypeInt, Int: int64(ap.Port())}, true
		}})
	}
	src := func(t *Txn) netip.AddrPort { return t.Src }
	dst := func(t *Txn) netip.AddrPort { return t.Dst }
	addr("src", src)
	addr("dst", dst)
	addr("fc_src", func(t *Txn) netip.AddrPort {
		if t.FcSrc.IsValid() {
			return t.FcSrc
		}
		return t.Src
	})
	addr("fc_dst", func(t *Txn) netip.AddrPort {
		if t.FcDst.IsValid() {
			return t.FcDst
		}
		return t.Dst
	})

	boolConst := func(name string, b bool) {
		RegisterFetch(FetchDef{Name: name, Out: TypeBool, Fn: func(*Txn, []Arg) (Value, bool) {
			return Value{Type: TypeBool, Bool: b}, true
		}})
	}
	boolConst("always_true", true)
	boolConst("always_false", false)
	// wait_end is true once the inspect delay is over; rules evaluate it
	// when they run, i.e. with the data they will decide on.
	boolConst("wait_end", true)
	// ssl_fc stays false until the TLS package registers the real one.
	boolConst("ssl_fc", false)

	for name, typ := range map[string]uint8{"fc_pp_authority": 0x02, "fc_pp_unique_id": 0x05} {
		RegisterFetch(FetchDef{Name: name, Out: TypeStr, Fn: func(t *Txn, _ []Arg) (Value, bool) {
			if t.ProxyTLV == nil {
				return Value{}, false
			}
			v, ok := t.ProxyTLV(typ)
			return Value{Type: TypeStr, Str: string(v)}, ok
		}})
	}
	RegisterFetch(FetchDef{Name: "so_name", Out: TypeStr, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		return Value{Type: TypeStr, Str: t.SoName}, t.SoName != ""
	}})
	RegisterFetch(FetchDef{Name: "fe_name", Out: TypeStr, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		return Value{Type: TypeStr, Str: t.Frontend}, t.Frontend != ""
	}})
	RegisterFetch(FetchDef{Name: "be_name", Out: TypeStr, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		return Value{Type: TypeStr, Str: t.Backend}, t.Backend != ""
	}})
	RegisterFetch(FetchDef{Name: "srv_name", Out: TypeStr, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		return Value{Type: TypeStr, Str: t.Server}, t.Server != ""
	}})
	RegisterFetch(FetchDef{Name: "srv_id", Out: TypeInt, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		e, ok := t.Env.(SrvIDEnv)
		if !ok || t.Server == "" {
			return Value{}, false
		}
		id := e.SrvID(t.Backend, t.Server)
		return Value{Type: TypeInt, Int: int64(id)}, id > 0
	}})

	// Constants: str(), int(), bool(), ipv4(), ipv6(), bin(), meth().
	RegisterFetch(FetchDef{Name: "str", Args: ArgSpec{Types: []ArgType{ArgStr}, Min: 1}, Out: TypeStr,
		Fn: func(_ *Txn, a []Arg) (Value, bool) { return Value{Type: TypeStr, Str: a[0].Str}, true }})
	RegisterFetch(FetchDef{Name: "int", Args: ArgSpec{Types: []ArgType{ArgInt}, Min: 1}, Out: TypeInt,
		Fn: func(_ *Txn, a []Arg) (Value, bool) { return Value{Type: TypeInt, Int: a[0].Int}, true }})
	RegisterFetch(FetchDef{Name: "ipv4", Args: ArgSpec{Types: []ArgType{ArgIPv4}, Min: 1}, Out: TypeIPv4,
		Fn: func(_ *Txn, a []Arg) (Value, bool) { return Value{Type: TypeAddr, Addr: a[0].Addr}, true }})
	RegisterFetch(FetchDef{Name: "ipv6", Args: ArgSpec{Types: []ArgType{ArgIPv6}, Min: 1}, Out: TypeIPv6,
		Fn: func(_ *Txn, a []Arg) (Value, bool) { return Value{Type: TypeAddr, Addr: a[0].Addr}, true }})
	RegisterFetch(FetchDef{Name: "bool", Args: ArgSpec{Types: []ArgType{ArgStr}, Min: 1}, Out: TypeBool,
		Check: func(a []Arg, _ *ParseOptions) error {
			switch a[0].Str {
			case "true", "1":
				a[0].Int = 1
			case "false", "0":
			default:
				return syntaxErr("Expects 'true', 'false', '0' or '1'")
			}
			return nil
		},
		Fn: func(_ *Txn, a []Arg) (Value, bool) { return Value{Type: TypeBool, Bool: a[0].Int != 0}, true }})
	RegisterFetch(FetchDef{Name: "bin", Args: ArgSpec{Types: []ArgType{ArgStr}, Min: 1}, Out: TypeBin,
		Check: func(a []Arg, _ *ParseOptions) error {
			s, err := parseHex(a[0].Str)
			if err != nil {
				return err
			}
			a[0].Data = s
			return nil
		},
		Fn: func(_ *Txn, a []Arg) (Value, bool) { return Value{Type: TypeBin, Str: a[0].Data.(string)}, true }})

	// Process state, through Env.
	RegisterFetch(FetchDef{Name: "nbsrv", Args: ArgSpec{Types: []ArgType{ArgBE}, Min: 1}, Out: TypeInt,
		Fn: func(t *Txn, a []Arg) (Value, bool) {
			if t.Env == nil {
				return Value{}, false
			}
			return Value{Type: TypeInt, Int: int64(t.Env.NbSrv(beArg(t, a)))}, true
		}})
	RegisterFetch(FetchDef{Name: "be_conn", Args: ArgSpec{Types: []ArgType{ArgBE}, Min: 1}, Out: TypeInt,
		Fn: func(t *Txn, a []Arg) (Value, bool) {
			if t.Env == nil {
				return Value{}, false
			}
			return Value{Type: TypeInt, Int: int64(t.Env.BeConn(beArg(t, a)))}, true
		}})
	RegisterFetch(FetchDef{Name: "fe_conn", Args: ArgSpec{Types: []ArgType{ArgFE}, Min: 1}, Out: TypeInt,
		Fn: func(t *Txn, a []Arg) (Value, bool) {
			if t.Env == nil {
				return Value{}, false
			}
			fe := argStr(a, 0)
			if fe == "" {
				fe = t.Frontend
			}
			return Value{Type: TypeInt, Int: int64(t.Env.FeConn(fe))}, true
		}})
	RegisterFetch(FetchDef{Name: "srv_is_up", Args: ArgSpec{Types: []ArgType{ArgSrv}, Min: 1}, Out: TypeBool,
		Fn: func(t *Txn, a []Arg) (Value, bool) {
			if t.Env == nil {
				return Value{}, false
			}
			be, srv := splitSrv(t, a[0].Str)
			return Value{Type: TypeBool, Bool: t.Env.SrvIsUp(be, srv)}, true
		}})

	RegisterFetch(FetchDef{Name: "last_rule_file", Out: TypeStr, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		return Value{Type: TypeStr, Str: t.LastRuleFile}, t.LastRuleFile != ""
	}})
	RegisterFetch(FetchDef{Name: "last_rule_line", Out: TypeInt, Fn: func(t *Txn, _ []Arg) (Value, bool) {
		return Value{Type: TypeInt, Int: int64(t.LastRuleLine)}, t.LastRuleFile != ""
	}})
	RegisterFetch(FetchDef{Name: "var", Args: ArgSpec{Types: []ArgType{ArgStr, ArgStr}, Min: 1}, Out: TypeAny,
		Check: func(a []Arg, _ *ParseOptions) error { return checkVarName(a[0].Str) },
		Fn: func(t *Txn, a []Arg) (Value, bool) {
			if v, ok := t.LookupVar(a[0].Str); ok {
				return v, true
			}
			if len(a) > 1 && a[1].Str != "" {
				// the default value, as a string
				return Value{Type: TypeStr, Str: a[1].Str}, true
			}
			return Value{}, false
		}})

	RegisterFetch(FetchDef{Name: "http_auth", Args: ArgSpec{Types: []ArgType{ArgUsr}, Min: 1}, Out: TypeBool,
		Fn: func(t *Txn, a []Arg) (Value, bool) {
			uc, ok := t.Env.(UserlistChecker)
			if !ok {
				return Value{}, false
			}
			u, p, ok := basicAuth(t)
			if !ok {
				return Value{Type: TypeBool}, true
			}
			return Value{Type: TypeBool, Bool: uc.CheckUser(a[0].Str, u, p)}, true
		}})
	RegisterFetch(FetchDef{Name: "http_auth_group", Args: ArgSpec{Types: []ArgType{ArgUsr}, Min: 1}, Out: TypeStr,
		Fn: func(t *Txn, a []Arg) (Value, bool) {
			uc, ok := t.Env.(UserlistChecker)
			if !ok {
				return Value{}, false
			}
			u, p, ok := basicAuth(t)
			if !ok || !uc.CheckUser(a[0].Str, u, p) {
				return Value{}, false
			}
			return Value{Type: TypeStr, Str: u}, true
		},
		Each: func(t *Txn, a []Arg, out []Value) []Value {
			uc, ok := t.Env.(UserlistChecker)
			if !ok {
				return out
			}
			u, p, ok := basicAuth(t)
			if !ok || !uc.CheckUser(a[0].Str, u, p) {
				return out
			}
			// the ACL's patterns are group names: test each group
			for _, g := range uc.UserGroups(a[0].Str, u) {
				out = append(out, Value{Type: TypeStr, Str: g})
			}
			return out
		}})
	for _, n := range []string{"http_auth_user", "http_auth_pass", "http_auth_type"} {
		n := n
		RegisterFetch(FetchDef{Name: n, Out: TypeStr, Fn: func(t *Txn, _ []Arg) (Value, bool) {
			if n == "http_auth_type" {
				v, ok := nthHdr(t.Req, "authorization", true, -1)
				if !ok || t.Req == nil {
					return Value{}, false
				}
				typ, _, _ := strings.Cut(v, " ")
				return Value{Type: TypeStr, Str: typ}, true
			}
			u, p, ok := basicAuth(t)
			if n == "http_auth_pass" {
				u = p
			}
			return Value{Type: TypeStr, Str: u}, ok
		}})
	}
}

// beArg is the backend argument, or the current backend.
func beArg(t *Txn, a []Arg) string {
	if s := argStr(a, 0); s != "" {
		return s
	}
	return t.Backend
}

// splitSrv splits "[backend/]server".
func splitSrv(t *Txn, s string) (string, string) {
	if b, sv, ok := strings.Cut(s, "/"); ok {
		return b, sv
	}
	return t.Backend, s
}

// checkVarName accepts "scope.name" with haproxy's scopes.
func checkVarName(s string) error {
	scope, name, ok := strings.Cut(s, ".")
	switch scope {
	case "proc", "sess", "txn", "req", "res", "check":
	default:
		ok = false
	}
	if !ok || name == "" {
		return syntaxErr("invalid variable name '%s'. A variable name must be start by its scope. The scope can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'", s)
	}
	return nil
}

// parseAddrStrict parses an address without zone.
func parseAddrStrict(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err == nil && a.Zone() != "" {
		return netip.Addr{}, errZone
	}
	return a, err
}

var errZone = syntaxErr("zone not allowed")

// parseIPv4Prefix is url2ipv4: a dotted IPv4 address at the start of s
// (four decimal parts 0-255); what follows is ignored.
func parseIPv4Prefix(s string) (netip.Addr, bool) {
	var b [4]byte
	i := 0
	for part := 0; part < 4; part++ {
		if part > 0 {
			if i >= len(s) || s[i] != '.' {
				return netip.Addr{}, false
			}
			i++
		}
		start, n := i, 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' && i-start < 3 {
			n = n*10 + int(s[i]-'0')
			i++
		}
		if i == start || n > 255 {
			return netip.Addr{}, false
		}
		b[part] = byte(n)
	}
	return netip.AddrFrom4(b), true
}

// SrvIDEnv is the part of Env the srv_id fetch reads: the id of a server
// of a backend (0 when unknown).
type SrvIDEnv interface {
	SrvID(backend, server string) int
}
