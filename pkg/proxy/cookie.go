package proxy

import (
	"net/http"
	"strings"
	"time"

	"hapair/pkg/haproxycfg"
)

// Cookie persistence (`cookie NAME insert|rewrite|prefix ...` and server
// `cookie VALUE`), as haproxy 2.6's http_ana.c does it: the request's
// cookie names a server, which takes the request while it is up; insert
// mode then strips the cookie (indirect) and sets it on responses from a
// server the client was not sent to by its cookie; rewrite and prefix
// modes edit the application's own cookie. The states go to the log's
// %tsc.

// Cookie states of the log (haproxy's sess_cookie and sess_set_cookie).
const (
	ckNone    = 'N'
	ckInvalid = 'I'
	ckDown    = 'D'
	ckValid   = 'V'
	ckExpired = 'E'
	ckOld     = 'O'

	sckNone     = 'N'
	sckFound    = 'P'
	sckDeleted  = 'D'
	sckInserted = 'I'
	sckReplaced = 'R'
	sckUpdated  = 'U'
)

// persistence is the cookie state of one request.
type persistence struct {
	ck       *haproxycfg.Cookie
	method   string
	srv      *Server // the usable server the cookie names; nil if none
	chosen   *Server // the server the request went to
	ckState  byte
	sckState byte
	// now is the time in seconds; lastDate and firstDate are the dates
	// a dated cookie (maxidle, maxlife) carried, 0 if none.
	now                 int64
	lastDate, firstDate int64
}

// newPersistence reads (and, per the mode, strips) the persistence cookie
// of req for backend be; nil when be has no `cookie` line.
func newPersistence(be *Backend, req *httpRequest, now time.Time) *persistence {
	ck := be.px.Cookie
	if ck == nil {
		return nil
	}
	p := &persistence{ck: ck, method: req.method, ckState: ckNone, sckState: sckNone, now: now.Unix()}
	kept := req.headers[:0]
	for _, h := range req.headers {
		if strings.EqualFold(h.name, "cookie") {
			v := p.requestCookies(be, []byte(h.value))
			if len(v) == 0 {
				continue // nothing left: the whole header goes
			}
			h.value = string(v)
		}
		kept = append(kept, h)
	}
	req.headers = kept
	return p
}

func isSPHT(c byte) bool { return c == ' ' || c == '\t' }

// cookieValueEnd is the end of a cookie value from i: the first ';' or ','
// outside a quoted string.
func cookieValueEnd(v []byte, i int) int {
	quoted, pair := false, false
	for ; i < len(v); i++ {
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
		case c == ',' || c == ';':
			return i
		}
	}
	return i
}

// delValue removes v[*from:next] with the delimiter that goes with it (the
// following one for the first value, else the preceding one, keeping a
// space after it), and returns the new slice and the change in length.
func delValue(v []byte, from *int, next int) ([]byte, int) {
	prev, end := *from, len(v)
	if prev == 0 {
		if next < end {
			next++
		}
		for next < end && isSPHT(v[next]) {
			next++
		}
	} else {
		for prev > 0 && isSPHT(v[prev-1]) {
			prev--
		}
		*from = prev
		if next < end {
			v[prev] = v[next]
			prev++
			next++
			if prev+1 < next {
				v[prev] = ' '
				prev++
			}
			for next < end && isSPHT(v[next]) {
				next++
			}
		}
	}
	n := copy(v[prev:], v[next:])
	return v[:prev+n], prev - next
}

// requestCookies walks one Cookie header value: finds the persistence
// cookie, picks its server, removes it (insert indirect) or its server
// prefix (prefix mode), and returns what remains of the value.
func (p *persistence) requestCookies(be *Backend, v []byte) []byte {
	ck := p.ck
	first, preserve := true, false
	delFrom := -1
	var next int
	for prev := 0; prev < len(v); prev = next {
		attBeg := prev
		if !first {
			attBeg++
		}
		first = false
		for attBeg < len(v) && isSPHT(v[attBeg]) {
			attBeg++
		}
		equal, attEnd := attBeg, attBeg
		for equal < len(v) {
			c := v[equal]
			if c == '=' || c == ',' || c == ';' {
				break
			}
			equal++
			if !isSPHT(c) {
				attEnd = equal
			}
		}
		var valBeg, valEnd int
		if equal < len(v) && v[equal] == '=' {
			valBeg = equal + 1
			for valBeg < len(v) && isSPHT(v[valBeg]) {
				valBeg++
			}
			next = cookieValueEnd(v, valBeg)
			valEnd = next
			for valEnd > valBeg && isSPHT(v[valEnd-1]) {
				valEnd--
			}
		} else {
			valBeg, valEnd, next = equal, equal, equal
		}
		if attBeg < len(v) && v[attBeg] == '$' {
			continue // an attribute of the previous cookie
		}
		if equal == next { // no '=': not ours, kept
			preserve = true
			if delFrom >= 0 {
				var d int
				v, d = delValue(v, &delFrom, prev)
				next += d
				delFrom = -1
			}
			continue
		}
		// Spaces around '=' are removed.
		if attEnd != equal || valBeg > equal+1 {
			n := copy(v[attEnd:], v[equal:])
			v = v[:attEnd+n]
			d := attEnd - equal
			equal += d
			valBeg += d
			valEnd += d
			next += d
			if valBeg > equal+1 {
				n := copy(v[equal+1:], v[valBeg:])
				v = v[:equal+1+n]
				d := equal + 1 - valBeg
				valBeg += d
				valEnd += d
				next += d
			}
		}
		if string(v[attBeg:attEnd]) != ck.Name {
			preserve = true
			if delFrom >= 0 {
				var d int
				v, d = delValue(v, &delFrom, prev)
				next += d
				delFrom = -1
			}
			continue
		}
		// NAME=SRV, NAME=SRV|dates, or NAME=SRV~VALUE in prefix mode.
		delim := valEnd
		if ck.Prefix {
			if i := strings.IndexByte(string(v[valBeg:valEnd]), '~'); i >= 0 {
				delim = valBeg + i
			}
		} else if i := strings.IndexByte(string(v[valBeg:valEnd]), '|'); i >= 0 {
			// SRV|last-seen|first-seen, dates in 4-second units.
			delim = valBeg + i
			bar := delim + 1
			if valEnd-bar >= 5 {
				if d := b64tos30(v[bar:]); d > 0 {
					p.lastDate = int64(d) << 2
				}
			}
			if j := strings.IndexByte(string(v[bar:valEnd]), '|'); j >= 0 && valEnd-(bar+j) > 5 {
				if d := b64tos30(v[bar+j+1:]); d > 0 {
					p.firstDate = int64(d) << 2
				}
			}
		}
		// Too old or idle too long (or dated more than a day ahead): as if
		// there were no cookie.
		switch {
		case p.firstDate != 0 && ck.MaxLife > 0 && (int32(p.now-p.firstDate) > int32(ck.MaxLife) || int32(p.firstDate-p.now) > 86400):
			p.ckState, delim, p.firstDate, p.lastDate = ckOld, valBeg, 0, 0
		case p.lastDate != 0 && ck.MaxIdle > 0 && (int32(p.now-p.lastDate) > int32(ck.MaxIdle) || int32(p.lastDate-p.now) > 86400):
			p.ckState, delim, p.firstDate, p.lastDate = ckExpired, valBeg, 0, 0
		}
		p.pick(be, string(v[valBeg:delim]), delim == valBeg)
		switch {
		case ck.Prefix && delim != valEnd:
			// The server's part goes; the application's cookie stays.
			n := copy(v[valBeg:], v[delim+1:])
			d := valBeg - (delim + 1)
			v = v[:valBeg+n]
			next += d
			delFrom = -1
			preserve = true
		case delFrom < 0 && ck.Insert && ck.Indirect:
			delFrom = prev
		}
	}
	if delFrom >= 0 {
		if preserve {
			v = v[:delFrom]
		} else {
			v = v[:0]
		}
	}
	return v
}

// pick finds the first server whose cookie is value: a usable one takes
// the request; a stopped one marks the cookie "down" and the search goes
// on. Once a server is chosen, later cookies change nothing (haproxy
// 2.6.12 logs "SRV=c1; SRV=c3" as V).
func (p *persistence) pick(be *Backend, value string, empty bool) {
	if p.srv != nil {
		return
	}
	found := false
	if !empty {
		for _, s := range be.Servers() {
			if s.cfg.Cookie == "" || s.cfg.Cookie != value {
				continue
			}
			if s.Usable() {
				p.srv, p.ckState = s, ckValid
				return
			}
			if be.px.Options.Persist {
				// option persist: the cookie's server takes the request
				// though it is down (a redispatch may move it on).
				p.srv, p.ckState = s, ckDown
				return
			}
			p.ckState, found = ckDown, true
		}
	}
	if !found && p.ckState != ckDown && p.ckState != ckExpired && p.ckState != ckOld {
		p.ckState = ckInvalid
	}
}

// logStates are the %tsc cookie characters: '-' unless the backend has a
// cookie mode.
func (p *persistence) logStates() (byte, byte) {
	if p == nil || !p.ck.Any() {
		return 0, 0
	}
	return p.ckState, p.sckState
}

// response edits the server's response fields for srv: the server's own
// persistence cookie (Set-Cookie) is deleted, rewritten or prefixed, then
// in insert mode the cookie naming srv is added, with "Cache-control:
// private" for a cacheable response with nocache.
func (p *persistence) response(status int, fields []header) []header {
	srv := p.chosen
	if srv == nil || status < 200 && status != 101 {
		return fields
	}
	ck := p.ck
	direct := p.srv != nil && p.srv == srv
	out := fields[:0:0]
	for _, f := range fields {
		if f.name == "set-cookie" {
			var keep bool
			f.value, keep = p.serverCookie(srv, direct, f.value)
			if !keep {
				continue
			}
		}
		out = append(out, f)
	}
	// A direct request gets a cookie again only to refresh or fix its
	// dates.
	refresh := (ck.MaxIdle > 0 || p.lastDate != 0) && (p.lastDate == 0 || p.lastDate-p.now < 0) ||
		ck.MaxLife > 0 && p.firstDate == 0 || ck.MaxLife == 0 && p.firstDate != 0
	if !ck.Insert || (p.sckState == sckFound && ck.Preserve) || (direct && !refresh) ||
		(ck.PostOnly && p.method != http.MethodPost) {
		return out
	}
	var b strings.Builder
	b.WriteString(ck.Name)
	if srv.cfg.Cookie == "" {
		// A server without a cookie clears the client's.
		b.WriteString("=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/")
	} else {
		b.WriteByte('=')
		b.WriteString(srv.cfg.Cookie)
		if ck.MaxIdle > 0 || ck.MaxLife > 0 {
			b.WriteByte('|')
			b.WriteString(s30tob64((p.now + 3) >> 2))
			if ck.MaxLife > 0 {
				first := (p.now + 3) >> 2
				if p.firstDate != 0 {
					first = p.firstDate >> 2
				}
				b.WriteByte('|')
				b.WriteString(s30tob64(first))
			}
		}
		b.WriteString("; path=/")
	}
	if ck.Domain != "" {
		b.WriteString("; domain=")
		b.WriteString(ck.Domain)
	}
	if ck.HTTPOnly {
		b.WriteString("; HttpOnly")
	}
	if ck.Secure {
		b.WriteString("; Secure")
	}
	if ck.Attrs != "" {
		b.WriteString("; ")
		b.WriteString(ck.Attrs)
	}
	out = append(out, header{"set-cookie", b.String()})
	p.sckState = sckInserted
	if srv.cfg.Cookie != "" && direct {
		p.sckState = sckUpdated // the same server, new dates
	}
	if ck.NoCache && cacheable(p.method, status, out) {
		out = append(out, header{"cache-control", "private"})
	}
	return out
}

// serverCookie handles one Set-Cookie of the server's response; keep is
// false when it is deleted.
func (p *persistence) serverCookie(srv *Server, direct bool, value string) (string, bool) {
	ck := p.ck
	v := []byte(value)
	attBeg := 0
	for attBeg < len(v) && isSPHT(v[attBeg]) {
		attBeg++
	}
	equal, attEnd := attBeg, attBeg
	for equal < len(v) {
		c := v[equal]
		if c == '=' || c == ';' {
			break
		}
		equal++
		if !isSPHT(c) {
			attEnd = equal
		}
	}
	var valBeg, valEnd int
	if equal < len(v) && v[equal] == '=' {
		valBeg = equal + 1
		for valBeg < len(v) && isSPHT(v[valBeg]) {
			valBeg++
		}
		valEnd = cookieValueEnd(v, valBeg)
		for valEnd > valBeg && isSPHT(v[valEnd-1]) {
			valEnd--
		}
	} else {
		valBeg, valEnd = equal, equal
	}
	if equal == valEnd {
		return value, true
	}
	if attEnd != equal || valBeg > equal+1 {
		rest := append([]byte(nil), v[valBeg:]...)
		v = append(append(v[:attEnd], '='), rest...)
		valEnd -= valBeg - (attEnd + 1)
		valBeg = attEnd + 1
	}
	if string(v[attBeg:attEnd]) != ck.Name {
		return string(v), true
	}
	p.sckState = sckFound
	switch {
	case ck.Preserve:
	case ck.Insert || (direct && ck.Indirect):
		p.sckState = sckDeleted
		return "", false
	case srv.cfg.Cookie != "" && ck.Rewrite:
		p.sckState = sckReplaced
		return string(v[:valBeg]) + srv.cfg.Cookie + string(v[valEnd:]), true
	case srv.cfg.Cookie != "" && ck.Prefix:
		p.sckState = sckReplaced
		return string(v[:valBeg]) + srv.cfg.Cookie + "~" + string(v[valBeg:]), true
	}
	return string(v), true
}

// cacheable is haproxy 2.6.12's TX_CACHEABLE for a response: a safe
// method and a status cacheable by default, unless Pragma or Cache-Control
// say otherwise ("public" says yes), and only with freshness information
// (max-age, s-maxage, Expires) or a validator (ETag, Last-Modified).
func cacheable(method string, status int, fields []header) bool {
	ok := false
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		switch status {
		case 200, 203, 204, 206, 300, 301, 404, 405, 410, 414, 501:
			ok = true
		}
	}
	has := func(name string) bool {
		for _, f := range fields {
			if f.name == name {
				return true
			}
		}
		return false
	}
	for _, f := range fields {
		if f.name == "pragma" {
			if strings.EqualFold(f.value, "no-cache") {
				return false
			}
			break
		}
	}
	fresh := false
	for _, f := range fields {
		if f.name != "cache-control" {
			continue
		}
		for _, v := range splitValues(f.value) {
			l := strings.ToLower(v)
			switch {
			case l == "public":
				ok = true
			case l == "private" || l == "no-cache" || l == "no-store" || l == "max-age=0" || l == "s-maxage=0":
				ok = false
			case strings.HasPrefix(l, `no-cache="set-cookie`):
			case strings.HasPrefix(l, "s-maxage") || strings.HasPrefix(l, "max-age"):
				fresh = true
			}
		}
	}
	if !fresh && !has("expires") && !has("etag") && !has("last-modified") {
		return false
	}
	return ok
}

// splitValues splits a header value at the commas outside quotes, each
// element without the blanks around it.
func splitValues(v string) []string {
	var out []string
	b := []byte(v)
	for i := 0; i <= len(b); {
		j := i
		quoted, pair := false, false
		for ; j < len(b); j++ {
			c := b[j]
			if pair {
				pair = false
			} else if quoted {
				if c == '\\' {
					pair = true
				} else if c == '"' {
					quoted = false
				}
			} else if c == '"' {
				quoted = true
			} else if c == ',' {
				break
			}
		}
		out = append(out, strings.Trim(v[i:j], " \t"))
		i = j + 1
	}
	return out
}

// redispatched records that a retry went back to load balancing: the
// request is no longer direct (the response gets a new cookie), and a
// valid cookie's state becomes D when the server changed (haproxy 2.6.12
// logs a valid cookie redispatched from a refusing server as "DI"; a
// request without a cookie stays N, as in its assign_server_and_queue).
func (p *persistence) redispatched(moved bool) {
	if p == nil {
		return
	}
	p.srv = nil
	if moved && p.ckState == ckValid {
		p.ckState = ckDown
	}
}

// direct reports whether the cookie chose srv (haproxy's SF_DIRECT).
func (p *persistence) direct(srv *Server) bool { return p != nil && p.srv != nil && p.srv == srv }

const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// s30tob64 writes the low 30 bits of v as 5 base64 digits, most
// significant first, unpadded (haproxy's cookie date format).
func s30tob64(v int64) string {
	var out [5]byte
	for i := 0; i < 5; i++ {
		out[i] = b64[(v>>24)&0x3f]
		v <<= 6
	}
	return string(out[:])
}

// b64tos30 reads 5 base64 digits written by s30tob64; -1 if one is not
// a base64 digit.
func b64tos30(in []byte) int {
	out := 0
	for i := 0; i < 5; i++ {
		d := strings.IndexByte(b64, in[i])
		if d < 0 {
			return -1
		}
		out = out<<6 + d
	}
	return out
}
