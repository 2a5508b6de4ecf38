package logformat

import (
	"net/netip"
	"strconv"
	"time"

	"hapair/pkg/accesslog"
	"hapair/pkg/sample"
)

// Encoding maps (haproxy's log.c init_log): bytes a log or a header
// value cannot carry as they are.
var (
	urlEncode  [256]bool // %r and its parts: controls, >= 127, '"', '#'
	hdrEncode  [256]bool // captures: as urlEncode plus '{', '|', '}'
	httpEncode [256]bool // sample values in HTTP headers: controls but HTAB, DEL
	escape5424 [256]bool // +E: '"', '\', ']'
)

func init() {
	for c := 0; c < 256; c++ {
		ctl := c < 32 || c >= 127
		urlEncode[c] = ctl || c == '"' || c == '#'
		hdrEncode[c] = urlEncode[c] || c == '{' || c == '|' || c == '}'
		httpEncode[c] = (c < 32 && c != '\t') || c == 0x7f
		escape5424[c] = c == '"' || c == '\\' || c == ']'
	}
}

const hexDigits = "0123456789ABCDEF"

// maxRequestLine: haproxy keeps the first 1023 bytes of the request line
// for the log (tune.http.logurilen 1024, less the NUL).
const maxRequestLine = 1023

var empty accesslog.Session

func (f formatImpl) appendTo(b []byte, t *sample.Txn, l *accesslog.Session) []byte {
	if l == nil {
		l = &empty
	}
	if t == nil && f.exprs {
		t = l.Txn
		if t == nil {
			t = &sample.Txn{Src: l.Client, Dst: l.Frontend, Frontend: l.FrontendName, Backend: l.BackendName, SrvConn: l.SrvFacts}
			if f.http && l.Method == "" {
				// No request was parsed: haproxy logs it without a
				// stream, so without a backend.
				t.Backend = ""
			}
		}
	}
	lastSpace := true
	for i := range f.nodes {
		n := &f.nodes[i]
		switch n.kind {
		case kSep:
			if !lastSpace {
				b = append(b, ' ')
				lastSpace = true
			}
			continue
		case kText:
			b = append(b, n.text...)
		case kExpr:
			b = f.appendExpr(b, n, t)
		case kVar:
			var printed bool
			b, printed = f.appendVar(b, n, t, l)
			if !printed {
				continue
			}
		}
		lastSpace = false
	}
	return b
}

func (f formatImpl) appendExpr(b []byte, n *node, t *sample.Txn) []byte {
	var s string
	if t != nil && n.expr != nil {
		if v, ok := n.expr.Eval(t); ok {
			// As haproxy's sample_fetch_as_type(SMP_T_STR): a sample that
			// cannot be a string is no sample.
			if sv, ok := sample.Cast(v, sample.TypeStr); ok {
				s = sv.Str
			}
		}
	}
	if f.value {
		// LOG_OPT_HTTP: %-encoded, no quotes, nothing for no sample.
		return encode(b, s, '%', &httpEncode, n.opts)
	}
	return appendText(b, s, n.opts)
}

// appendText is haproxy's lf_text_len: optional quotes, '-' for nothing
// when mandatory and unquoted, text cut at its first NUL, and with +E
// '"', '\' and ']' escaped with a backslash.
func appendText(b []byte, s string, opts uint8) []byte {
	if opts&optQuote != 0 {
		b = append(b, '"')
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			s = s[:i]
			break
		}
	}
	switch {
	case s != "" && opts&optEscape != 0:
		for i := 0; i < len(s); i++ {
			if c := s[i]; escape5424[c] {
				b = append(b, '\\', c)
			} else {
				b = append(b, c)
			}
		}
	case s != "":
		b = append(b, s...)
	case opts&(optQuote|optMandatory) == optMandatory:
		b = append(b, '-')
	}
	if opts&optQuote != 0 {
		b = append(b, '"')
	}
	return b
}

// encode is lf_encode_chunk: bytes in the map become esc and two hex
// digits; with +E the bytes '"', '\' and ']' are escaped with '\'.
func encode(b []byte, s string, esc byte, m *[256]bool, opts uint8) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case m[c]:
			b = append(b, esc, hexDigits[c>>4], hexDigits[c&15])
		case opts&optEscape != 0 && escape5424[c]:
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return b
}

// encodeStr is lf_encode_string: the same, stopping at a NUL.
func encodeStr(b []byte, s string, esc byte, m *[256]bool, opts uint8) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			s = s[:i]
			break
		}
	}
	return encode(b, s, esc, m, opts)
}

func quoted(b []byte, opts uint8) []byte {
	if opts&optQuote != 0 {
		b = append(b, '"')
	}
	return b
}

func appendHex(b []byte, v uint64, width int) []byte {
	s := strconv.FormatUint(v, 16)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' {
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

func appendIP(b []byte, ap netip.AddrPort, opts uint8) []byte {
	if !ap.IsValid() {
		return appendText(b, "", opts)
	}
	a := ap.Addr()
	if opts&optHexa != 0 {
		for _, c := range a.AsSlice() {
			b = append(b, hexDigits[c>>4], hexDigits[c&15])
		}
		return b
	}
	if a.Zone() == "" {
		// Digits, dots, colons and hex letters: nothing to escape, and
		// appended without a string made per line.
		if opts&optQuote != 0 {
			b = append(b, '"')
		}
		b = a.AppendTo(b)
		if opts&optQuote != 0 {
			b = append(b, '"')
		}
		return b
	}
	return appendText(b, a.String(), opts)
}

func appendPort(b []byte, ap netip.AddrPort, opts uint8) []byte {
	if !ap.IsValid() {
		return appendText(b, "", opts)
	}
	if opts&optHexa != 0 {
		return appendHex(b, uint64(ap.Port()), 4)
	}
	return strconv.AppendUint(b, uint64(ap.Port()), 10)
}

func appendCounter(b []byte, v uint64, opts uint8, width int) []byte {
	if opts&optHexa != 0 {
		return appendHex(b, v, width)
	}
	return strconv.AppendUint(b, v, 10)
}

// ms is a duration in whole milliseconds, -1 when never reached.
func ms(d time.Duration) int64 {
	if d < 0 {
		return -1
	}
	return d.Milliseconds()
}

// timers are haproxy's stream timers in milliseconds from the accept
// (t_request, t_queue, t_connect, t_data, t_close; -1 when not reached),
// rebuilt from the Session's steps so that the printed differences are
// the ones option httplog and tcplog print.
type timers struct {
	handshake, idle, request, queue, connect, data, close int64
}

func (f formatImpl) timers(l *accesslog.Session) timers {
	t := timers{handshake: max(ms(l.Th), 0), idle: ms(l.Ti), request: -1, queue: -1, connect: -1, data: -1}
	t.close = ms(l.Tt)
	if !f.http {
		// No request in mode tcp: %Tw counts from -1 (see accesslog.TCPLog).
		if l.Tw >= 0 {
			t.queue = ms(l.Tw)
			if l.Tc >= 0 {
				t.connect = ms(l.Tw + l.Tc)
			}
		}
		return t
	}
	base := max(t.idle, 0) + t.handshake
	if l.TR >= 0 {
		t.request = base + ms(l.TR)
		if l.Tw >= 0 {
			t.queue = t.request + ms(l.Tw)
			if l.Tc >= 0 {
				t.connect = t.queue + ms(l.Tc)
				if l.Tr >= 0 {
					t.data = t.connect + ms(l.Tr)
				}
			}
		}
	}
	return t
}

// diff is a - b when a was reached, else -1.
func diff(a, b int64) int64 {
	if a < 0 {
		return -1
	}
	return a - b
}

func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

// appendVar prints one variable; printed is false for the capture
// variables when the frontend captures nothing (haproxy then leaves the
// separators around them merged).
func (f formatImpl) appendVar(b []byte, n *node, t *sample.Txn, l *accesslog.Session) ([]byte, bool) {
	o := n.opts
	switch n.v {
	case vci:
		return appendIP(b, client(t, l), o), true
	case vcp:
		return appendPort(b, client(t, l), o), true
	case vfi:
		return appendIP(b, frontAddr(t, l), o), true
	case vfp:
		return appendPort(b, frontAddr(t, l), o), true
	case vbi:
		return appendIP(b, l.BackendSrc, o), true
	case vbp:
		return appendPort(b, l.BackendSrc, o), true
	case vsi:
		return appendIP(b, l.ServerAddr, o), true
	case vsp:
		return appendPort(b, l.ServerAddr, o), true
	case vt:
		return accesslog.AppendDate(b, l.Accept), true
	case vtr:
		return accesslog.AppendDate(b, f.requestDate(l)), true
	case vT:
		return appendGMT(b, l.Accept), true
	case vtrg:
		return appendGMT(b, f.requestDate(l)), true
	case vTl:
		return appendLocal(b, l.Accept), true
	case vtrl:
		return appendLocal(b, f.requestDate(l)), true
	case vTs:
		if o&optHexa != 0 {
			return appendHex(b, uint64(l.Accept.Unix()), 4), true
		}
		return appendInt(b, l.Accept.Unix()), true
	case vms:
		m := uint64(l.Accept.Nanosecond() / 1e6)
		if o&optHexa != 0 {
			return appendHex(b, m, 2), true
		}
		return append(b, byte('0'+m/100), byte('0'+m/10%10), byte('0'+m%10)), true
	case vf:
		return appendText(b, frontName(t, l), o), true
	case vft:
		b = quoted(b, o)
		b = append(b, frontName(t, l)...)
		if l.SSL {
			b = append(b, '~')
		}
		return quoted(b, o), true
	case vb:
		name := l.BackendName
		if name == "" && t != nil {
			name = t.Backend
		}
		return appendText(b, name, o), true
	case vs:
		name := l.ServerName
		if name == "" {
			name = "<NOSRV>"
		}
		return appendText(b, name, o), true
	case vsslc:
		return appendText(b, l.SSLCipher, o), true
	case vsslv:
		return appendText(b, l.SSLVersion, o), true
	case vTh:
		return appendInt(b, f.timers(l).handshake), true
	case vTi:
		return appendInt(b, f.timers(l).idle), true
	case vTR:
		if !f.http {
			return appendInt(b, -1), true
		}
		return appendInt(b, ms(l.TR)), true
	case vTq:
		return appendInt(b, f.timers(l).request), true
	case vTw:
		if f.http {
			return appendInt(b, ms(l.Tw)), true
		}
		tm := f.timers(l)
		return appendInt(b, diff(tm.queue, tm.request)), true
	case vTc:
		if f.http {
			return appendInt(b, ms(l.Tc)), true
		}
		tm := f.timers(l)
		return appendInt(b, diff(tm.connect, tm.queue)), true
	case vTr:
		return appendInt(b, ms(l.Tr)), true
	case vTd:
		tm := f.timers(l)
		if f.http {
			return appendInt(b, dataToClose(tm.data, tm.close)), true
		}
		return appendInt(b, dataToClose(tm.connect, tm.close)), true
	case vTa:
		if f.asap {
			b = append(b, '+')
		}
		if f.http {
			return appendInt(b, ms(l.Ta)), true
		}
		tm := f.timers(l)
		return appendInt(b, tm.close-max(tm.idle, 0)-tm.handshake), true
	case vTt:
		if f.asap {
			b = append(b, '+')
		}
		return appendInt(b, f.timers(l).close), true
	case vTu:
		if f.asap {
			b = append(b, '+')
		}
		tm := f.timers(l)
		return appendInt(b, tm.close-max(tm.idle, 0)), true
	case vST:
		return appendInt(b, int64(l.Status)), true
	case vB:
		if f.asap {
			b = append(b, '+')
		}
		return appendInt(b, l.BytesToClient), true
	case vU:
		return appendInt(b, l.BytesFromClient), true
	case vCC:
		return appendText(b, l.CookieClient, o), true
	case vCS:
		return appendText(b, l.CookieServer, o), true
	case vts:
		return append(b, termChar(l.TermCause), termChar(l.TermState)), true
	case vtsc:
		return append(b, termChar(l.TermCause), termChar(l.TermState), termChar(l.CookieState), termChar(l.SetCookieState)), true
	case vac:
		return appendInt(b, int64(l.ActConn)), true
	case vfc:
		return appendInt(b, int64(l.FeConn)), true
	case vbc:
		return appendInt(b, int64(l.BeConn)), true
	case vsc:
		return appendInt(b, int64(l.SrvConn)), true
	case vrc:
		if l.Redisp {
			b = append(b, '+')
		}
		return appendInt(b, int64(l.Retries)), true
	case vsq:
		return appendInt(b, int64(l.SrvQueue)), true
	case vbq:
		return appendInt(b, int64(l.BeQueue)), true
	case vhr:
		return appendCaptures(b, l.ReqCaptures, o)
	case vhs:
		return appendCaptures(b, l.ResCaptures, o)
	case vhrl:
		return appendCaptureList(b, l.ReqCaptures, o)
	case vhsl:
		return appendCaptureList(b, l.ResCaptures, o)
	case vr:
		b = quoted(b, o)
		if l.Method == "" {
			b = encode(b, "<BADREQ>", '#', &urlEncode, o)
		} else {
			b = encodeStr(b, requestLine(l), '#', &urlEncode, o)
		}
		return quoted(b, o), true
	case vHM, vHP, vHPO, vHQ, vHU, vHV:
		b = quoted(b, o)
		b = encode(b, requestPart(n.v, l), '#', &urlEncode, o)
		return quoted(b, o), true
	case vrt:
		return appendCounter(b, l.ReqCounter, o, 4), true
	case vlc:
		return appendCounter(b, l.LogCount, o, 4), true
	case vpid:
		return appendCounter(b, uint64(l.PID), o, 4), true
	case vH:
		return appendText(b, l.Hostname, o), true
	case vID:
		return appendText(b, l.UniqueID, o), true
	}
	return b, true
}

// dataToClose is t_close - from, -1 when from was not reached.
func dataToClose(from, close int64) int64 {
	if from < 0 {
		return -1
	}
	return close - from
}

func termChar(c byte) byte {
	if c == 0 {
		return '-'
	}
	return c
}

func client(t *sample.Txn, l *accesslog.Session) netip.AddrPort {
	if l.Client.IsValid() || t == nil {
		return l.Client
	}
	return t.Src
}

func frontAddr(t *sample.Txn, l *accesslog.Session) netip.AddrPort {
	if l.Frontend.IsValid() || t == nil {
		return l.Frontend
	}
	return t.Dst
}

func frontName(t *sample.Txn, l *accesslog.Session) string {
	if l.FrontendName == "" && t != nil {
		return t.Frontend
	}
	return l.FrontendName
}

func (f formatImpl) requestDate(l *accesslog.Session) time.Time {
	return accesslog.RequestDate(*l)
}

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// appendDateZone is "24/Nov/2026:23:40:01 +0000": haproxy's %T (UTC) and
// %Tl (local time with its offset).
func appendDateZone(b []byte, t time.Time) []byte {
	b = append(b, byte('0'+t.Day()/10), byte('0'+t.Day()%10), '/')
	b = append(b, months[t.Month()-1]...)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(t.Year()), 10)
	b = append(b, ':', byte('0'+t.Hour()/10), byte('0'+t.Hour()%10), ':',
		byte('0'+t.Minute()/10), byte('0'+t.Minute()%10), ':',
		byte('0'+t.Second()/10), byte('0'+t.Second()%10), ' ')
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	h, m := off/3600, off/60%60
	return append(b, sign, byte('0'+h/10), byte('0'+h%10), byte('0'+m/10), byte('0'+m%10))
}

func appendGMT(b []byte, t time.Time) []byte   { return appendDateZone(b, t.UTC()) }
func appendLocal(b []byte, t time.Time) []byte { return appendDateZone(b, t) }

// appendCaptures is %hr / %hs: "{v1|v2}", each value encoded; nothing at
// all without capture slots.
func appendCaptures(b []byte, caps []accesslog.Capture, o uint8) ([]byte, bool) {
	if len(caps) == 0 {
		return b, false
	}
	b = quoted(b, o)
	b = append(b, '{')
	for i, c := range caps {
		if i > 0 {
			b = append(b, '|')
		}
		if c.Set {
			b = encodeStr(b, c.Value, '#', &hdrEncode, o)
		}
	}
	b = append(b, '}')
	return quoted(b, o), true
}

// appendCaptureList is %hrl / %hsl: the values separated by spaces, each
// quoted with +Q, '-' for an empty slot without it.
func appendCaptureList(b []byte, caps []accesslog.Capture, o uint8) ([]byte, bool) {
	if len(caps) == 0 {
		return b, false
	}
	for i, c := range caps {
		if i > 0 {
			b = append(b, ' ')
		}
		b = quoted(b, o)
		if c.Set {
			b = encodeStr(b, c.Value, '#', &hdrEncode, o)
		} else if o&optQuote == 0 {
			b = append(b, '-')
		}
		b = quoted(b, o)
	}
	return b, true
}

// requestLine is the logged request line, cut as haproxy keeps it.
func requestLine(l *accesslog.Session) string {
	line := l.Method + " " + l.URI + " " + l.Version
	if len(line) > maxRequestLine {
		line = line[:maxRequestLine]
	}
	return line
}

func isSpHt(c byte) bool { return c == ' ' || c == '\t' }

const badReq = "<BADREQ>"

// requestPart splits the logged request line as haproxy 2.6 does for
// %HM %HU %HP %HPO %HQ %HV.
func requestPart(v varID, l *accesslog.Session) string {
	if l.Method == "" {
		return badReq
	}
	line := requestLine(l)
	end := len(line)
	// method
	i := 0
	for i < end && !isSpHt(line[i]) {
		i++
	}
	if v == vHM {
		if i == end {
			return badReq
		}
		return line[:i]
	}
	if v == vHQ {
		q := 0
		for q < end && line[q] != '?' {
			q++
		}
		e := q
		for e < end && !isSpHt(line[e]) {
			e++
		}
		return line[q:e]
	}
	spaces := 0
	for i < end && isSpHt(line[i]) {
		i++
		spaces++
	}
	if spaces == 0 {
		return badReq
	}
	u := i
	for i < end && !isSpHt(line[i]) {
		i++
	}
	uri := line[u:i]
	switch v {
	case vHU:
		return uri
	case vHP:
		for k := 0; k < len(uri); k++ {
			if uri[k] == '?' {
				return uri[:k]
			}
		}
		return uri
	case vHPO:
		p := uriPath(uri)
		for k := 0; k < len(p); k++ {
			if p[k] == '?' {
				return p[:k]
			}
		}
		return p
	}
	// vHV
	for i < end && isSpHt(line[i]) {
		i++
	}
	if i == end {
		return "HTTP/0.9"
	}
	return line[i:end]
}

// uriPath is the path of a request target: origin-form as it is, the
// path of an absolute-form "scheme://authority/path", "" for an
// authority-form target.
func uriPath(uri string) string {
	if uri == "" || uri[0] == '/' || uri == "*" {
		if uri == "*" {
			return ""
		}
		return uri
	}
	// scheme
	k := 0
	for k < len(uri) && (isAlnum(uri[k]) || uri[k] == '+' || uri[k] == '-' || uri[k] == '.') {
		k++
	}
	if k+2 < len(uri) && uri[k] == ':' && uri[k+1] == '/' && uri[k+2] == '/' {
		rest := uri[k+3:]
		for j := 0; j < len(rest); j++ {
			if rest[j] == '/' {
				return rest[j:]
			}
		}
		return ""
	}
	return ""
}
