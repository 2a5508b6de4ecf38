package balance

import "strings"

// The parts of an HTTP request the L7 hash policies hash, cut as haproxy
// 2.6's backend.c cuts them (get_server_uh, get_server_ph, get_server_hh).

// URIKey is what `balance uri` hashes: the request target (its path only,
// without scheme and authority, with path-only), up to the '?' unless
// whole, at most n bytes when n > 0, and up to the depth-th '/' excluded
// when depth > 0.
func URIKey(uri string, whole, pathOnly bool, n, depth int) string {
	if pathOnly {
		uri = uriPath(uri)
	}
	if n > 0 && len(uri) > n {
		uri = uri[:n]
	}
	slashes := 0
	for i := 0; i < len(uri); i++ {
		switch uri[i] {
		case '/':
			slashes++
			if depth > 0 && slashes == depth+1 {
				return uri[:i]
			}
		case '?':
			if !whole {
				return uri[:i]
			}
		}
	}
	return uri
}

// uriPath is the path of a request target and what follows it: the target
// itself in origin form, the part after the authority in absolute form,
// "" for "*" and the authority form (haproxy's http_parse_path).
func uriPath(uri string) string {
	if uri == "" || uri == "*" || uri[0] == '/' {
		if uri == "*" {
			return ""
		}
		return uri
	}
	i := strings.Index(uri, "://")
	if i <= 0 {
		return "" // authority form: no path
	}
	for _, c := range uri[:i] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return ""
		}
	}
	rest := uri[i+3:]
	j := strings.IndexByte(rest, '/')
	if j < 0 {
		return ""
	}
	return rest[j:]
}

// ParamKey is what `balance url_param NAME` hashes: the value of the first
// NAME= parameter of the query string (possibly empty), and whether there
// is one.
func ParamKey(uri, name string) (string, bool) {
	q := strings.IndexByte(uri, '?')
	if q < 0 {
		return "", false
	}
	params := uri[q+1:]
	for len(params) > len(name) {
		if params[len(name)] == '=' && params[:len(name)] == name {
			v := params[len(name)+1:]
			if e := strings.IndexByte(v, '&'); e >= 0 {
				v = v[:e]
			}
			return v, true
		}
		a := strings.IndexByte(params, '&')
		if a < 0 {
			return "", false
		}
		params = params[a+1:]
	}
	return "", false
}

// firstValue is the first comma-separated element of a header value
// (commas inside quoted strings do not count), without the blanks around
// it, as haproxy's header lookup returns it.
func firstValue(v string) string {
	v = strings.TrimLeft(v, " \t")
	quoted, pair := false, false
	end := len(v)
loop:
	for i := 0; i < len(v); i++ {
		c := v[i]
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
			end = i
			break loop
		}
	}
	return strings.TrimRight(v[:end], " \t")
}

// domainOnly is `hdr(NAME) use_domain_only`: the label before the last
// dot ("example" of "www.example.com"), or the whole value without a dot.
func domainOnly(v string) string {
	p, end := len(v), len(v)
	dohash := false
	for n := len(v); n > 0; n-- {
		if dohash {
			if v[p-1] == '.' {
				break
			}
		} else if p < len(v) && v[p] == '.' {
			end = p
			dohash = true
		}
		p--
	}
	return v[p:end]
}

// PostParamKey is what `balance url_param NAME` hashes in a POST whose
// URI lacks the parameter: the value of NAME= in the body received so far.
// As haproxy 2.6 (get_server_ph_post), a value whose first byte is not a
// token character is empty when that byte is a blank and absent
// otherwise; any other value runs to the next '&'.
func PostParamKey(body []byte, name string) (string, bool) {
	for len(body) > len(name) {
		if body[len(name)] == '=' && string(body[:len(name)]) == name {
			v := body[len(name)+1:]
			if len(v) > 0 && !isToken(v[0]) {
				if v[0] == ' ' || v[0] == '\t' || v[0] == '\r' || v[0] == '\n' {
					return "", true
				}
				return "", false
			}
			end := 0
			for end < len(v) && v[end] != '&' {
				end++
			}
			return string(v[:end]), true
		}
		a := bytesIndex(body, '&')
		if a < 0 {
			return "", false
		}
		body = body[a+1:]
	}
	return "", false
}

func bytesIndex(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// isToken reports whether c is an HTTP token character (RFC 9110 tchar).
func isToken(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
