package proxy

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hapair/pkg/accesslog"
)

// Protocol upgrades (WebSocket and others, RFC 9110 section 7.8) as
// haproxy 2.6's HTTP/1 layer does them: a request with "Connection:
// upgrade" and an Upgrade header goes to the server with both; a 101
// answer is passed on and the two connections become a tunnel, bytes
// relayed both ways until either side closes or `timeout tunnel` passes
// without traffic. A WebSocket handshake must carry a 24-character
// Sec-WebSocket-Key (400 otherwise), its 101 a Sec-WebSocket-Accept (502
// otherwise).

// upgradeRequested reports whether the fields ask for a protocol upgrade:
// HTTP/1.1, a Connection token "upgrade" and an Upgrade header.
func (r *httpRequest) upgradeRequested(fields []header) bool {
	if !r.http11() {
		return false
	}
	conn, upg := false, false
	for _, f := range fields { // names are tokens: ASCII case folding
		switch {
		case strings.EqualFold(f.name, "connection"):
			for v, more := f.value, true; more; {
				var tok string
				tok, v, more = strings.Cut(v, ",")
				if strings.EqualFold(strings.Trim(tok, " \t"), "upgrade") {
					conn = true
				}
			}
		case strings.EqualFold(f.name, "upgrade"):
			upg = true
		}
	}
	return conn && upg
}

// isWebSocket reports whether an Upgrade value names websocket.
func isWebSocket(upgrade string) bool {
	for _, v := range strings.Split(upgrade, ",") {
		if strings.EqualFold(strings.Trim(v, " \t"), "websocket") {
			return true
		}
	}
	return false
}

// checkWebSocketKey refuses a WebSocket handshake without a key of the
// length of 16 bytes in base64, as haproxy 2.6 does.
func (r *httpRequest) checkWebSocketKey() error {
	if r.upgrade == "" || !isWebSocket(r.upgrade) {
		return nil
	}
	for _, h := range r.headers {
		if h.name == "sec-websocket-key" && len(h.value) == 24 {
			return nil
		}
	}
	return errBadRequest
}

// hasField reports whether fields hold one named name (lower case).
func hasField(fields []header, name string) bool {
	for _, f := range fields {
		if f.name == name {
			return true
		}
	}
	return false
}

// newWebSocketKey makes a Sec-WebSocket-Key: 16 random bytes in base64
// (RFC 6455 section 4.1).
func newWebSocketKey() string {
	var k [16]byte
	_, _ = rand.Read(k[:])
	return base64.StdEncoding.EncodeToString(k[:])
}

// webSocketAccept is the Sec-WebSocket-Accept answering key (RFC 6455
// section 4.2.2).
func webSocketAccept(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// webSocketAccepted checks a server's answer to an upgrade as haproxy
// 2.6 was seen checking it: a 101 to a WebSocket handshake must carry a
// Sec-WebSocket-Accept; when the proxy made the key (an HTTP/2 client),
// a 101 or a response with "connection: upgrade" and "upgrade:
// websocket" must carry the one answering that key (the first field is
// read).
func webSocketAccepted(resp *http.Response, wsRequest bool, key string) bool {
	accept := resp.Header["Sec-Websocket-Accept"]
	if key != "" && (resp.StatusCode == http.StatusSwitchingProtocols || hasToken(resp.Header["Connection"], "upgrade") && hasToken(resp.Header["Upgrade"], "websocket")) {
		return len(accept) > 0 && strings.EqualFold(accept[0], webSocketAccept(key))
	}
	return resp.StatusCode != http.StatusSwitchingProtocols || !wsRequest || len(accept) > 0 && accept[0] != ""
}

// hasToken reports whether one of the comma-separated values is tok
// (compared without case).
func hasToken(values []string, tok string) bool {
	for _, vs := range values {
		for _, v := range strings.Split(vs, ",") {
			if strings.EqualFold(strings.Trim(v, " \t"), tok) {
				return true
			}
		}
	}
	return false
}

// upgradeHead is the head sent to the server for an upgrade request: the
// request as received (its Connection and Upgrade fields included), then
// the added fields; never "connection: close", which would deny the
// upgrade.
func (r *httpRequest) upgradeHead(extra []header) []byte {
	b := make([]byte, 0, r.size+64)
	b = append(b, r.method...)
	b = append(b, ' ')
	b = append(b, r.uri...)
	b = append(b, " HTTP/1.1\r\n"...)
	for _, hs := range [][]header{r.headers, extra} {
		for _, h := range hs {
			v := h.value
			if h.name == "te" {
				var ok bool
				if v, ok = teTrailers(v); !ok {
					continue
				}
			}
			b = append(b, h.name...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	return append(b, "\r\n"...)
}

// maxResponseHead bounds the server's response head (haproxy's bufsize).
const maxResponseHead = 16384

// readResponseHead reads a response head up to its empty line, raw.
func readResponseHead(br *bufio.Reader) ([]byte, error) {
	var head []byte
	for {
		line, err := br.ReadSlice('\n')
		head = append(head, line...)
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) && len(head) < maxResponseHead {
				continue
			}
			return head, err
		}
		if len(head) > maxResponseHead {
			return head, errBadRequest
		}
		if len(line) <= 2 && strings.TrimRight(string(line), "\r\n") == "" {
			return head, nil
		}
	}
}

// forwardUpgrade sends an upgrade request to srv on a connection of its
// own and, after a 101, relays the tunnel. It returns whether the client
// connection may serve another request (only when the server refused the
// upgrade with a final response that allows it).
func (h *h1Frontend) forwardUpgrade(c *h1Conn, req *httpRequest, s *accesslog.Session, be *Backend, rt *route, srv *Server, tAssigned time.Time, rr *ruleRun) bool {
	e := h.e
	bt := be.px.Timeouts
	srvTimeout, tunTimeout := streamTimeouts(rr, bt)
	d := be.dialer
	sc, err := dialServer(e.killed, d, "tcp", srv.target(s.Frontend))
	tConn := e.now()
	if err != nil {
		srv.ctr.connErrors.Add(1)
		be.ctr.connErrors.Add(1)
		s.Status, s.TermCause, s.TermState = http.StatusServiceUnavailable, termServer, stateConnect
		if isTimeout(err) {
			s.TermCause = termServerTimeout
		}
		return h.errorPage(c, s, page503, false)
	}
	defer sc.Close()
	if err := sendProxy(sc, srv.cfg, ppClient{src: s.Client, dst: s.Frontend, conn: c.nc, uid: s.UniqueID}, bt.Connect); err != nil {
		srv.ctr.connErrors.Add(1)
		be.ctr.connErrors.Add(1)
		s.Status, s.TermCause, s.TermState = http.StatusServiceUnavailable, termServer, stateConnect
		return h.errorPage(c, s, page503, false)
	}
	s.Tc = tConn.Sub(tAssigned)
	established(rr, s, bt)
	extra := extraHeaders(rt.fwd, req, s.Client.Addr())
	if rt.orig != nil {
		extra = append(extra, originalTo(rt.orig, s.Frontend.Addr())...)
	}
	wsKey := ""
	if sc, ok := c.nc.(*h2StreamConn); ok && sc.extConnect && isWebSocket(req.upgrade) && !hasField(req.headers, "sec-websocket-key") && !hasField(extra, "sec-websocket-key") {
		// An HTTP/2 client has no key to give: haproxy's HTTP/1 layer
		// makes one for the server and checks its answer.
		wsKey = newWebSocketKey()
		extra = append(extra, header{"Sec-Websocket-Key", wsKey}) // haproxy's spelling
	}
	head := req.upgradeHead(extra)
	if name := be.px.SendNameHeader; name != "" {
		head = withServerName(head, name, srv.Name())
	}
	setDeadline(sc.SetWriteDeadline, e.now(), srvTimeout)
	if _, err := sc.Write(head); err != nil {
		s.Status, s.TermCause, s.TermState = http.StatusBadGateway, termServer, 'H'
		return h.errorPage(c, s, page502, false)
	}
	// A body (rare with an upgrade) goes before the tunnel, framed as the
	// head announces it (the body reader gives it decoded).
	if req.contentLength > 0 || req.chunked {
		var err error
		if req.chunked {
			bw := bufio.NewWriter(sc)
			_, err = io.Copy(&chunkWriter{w: bw}, c.body)
			if err == nil {
				_, err = bw.WriteString("0\r\n\r\n")
			}
			if err == nil {
				err = bw.Flush()
			}
		} else {
			_, err = io.Copy(sc, c.body)
		}
		if err != nil {
			s.Status, s.TermCause, s.TermState = -1, termClient, 'L'
			return false
		}
	}
	sbr := bufio.NewReaderSize(sc, 4096)
	setDeadline(sc.SetReadDeadline, e.now(), srvTimeout)
	raw, err := readResponseHead(sbr)
	if err == nil {
		// Interim responses other than 101 go on to the client.
		for code := statusOf(raw); code/100 == 1 && code != http.StatusSwitchingProtocols && err == nil; code = statusOf(raw) {
			serverResponse(srv, code)
			c.interimResponse(code, raw)
			raw, err = readResponseHead(sbr)
		}
	}
	if err != nil {
		s.TermCause, s.TermState = termServer, 'H'
		page, status := page502, http.StatusBadGateway
		if isTimeout(err) {
			s.TermCause, page, status = termServerTimeout, page504, http.StatusGatewayTimeout
		}
		s.Status = status
		be.ctr.failedResp.Add(1)
		srv.ctr.failedResp.Add(1)
		return h.errorPage(c, s, page, false)
	}
	_ = sc.SetReadDeadline(time.Time{})
	tResp := e.now()
	s.Tr = tResp.Sub(tConn)
	resp, perr := http.ReadResponse(bufio.NewReader(io.MultiReader(bytes.NewReader(raw), sbr)), nil)
	if perr != nil || !webSocketAccepted(resp, isWebSocket(req.upgrade), wsKey) {
		s.Status, s.TermCause, s.TermState = http.StatusBadGateway, termServer, 'H'
		be.ctr.failedResp.Add(1)
		srv.ctr.failedResp.Add(1)
		// A handshake answer refused for its accept key leaves the
		// client's connection open in haproxy 2.6 (seen with an HTTP/1.1
		// client); the request was whole and sent.
		return h.errorPage(c, s, page502, perr == nil && req.keepAlive && !req.chunked && req.contentLength <= 0)
	}
	serverResponse(srv, resp.StatusCode)
	s.Status = resp.StatusCode
	if resp.StatusCode != http.StatusSwitchingProtocols {
		// No upgrade: an ordinary response; the server's connection
		// (offered an upgrade) is not reused, the client's goes on as
		// after any response.
		defer resp.Body.Close()
		keep := req.keepAlive && !req.chunked && req.contentLength <= 0
		c.upgradeAnswer = true
		n, err := c.writeResponse(req, resp, raw, nil, &keep)
		c.upgradeAnswer = false
		s.BytesToClient = n
		if err != nil {
			s.TermCause, s.TermState = termServer, stateData
			return false
		}
		s.TermCause, s.TermState = termNormal, termNormal
		return keep
	}
	n, denied, err := c.writeSwitching(resp, raw, s)
	s.BytesToClient = n
	if denied {
		return false
	}
	if err != nil {
		s.TermCause, s.TermState = termClient, stateData
		return false
	}
	toClient, _, cause := h.tunnel(c, sc, sbr, tunTimeout, h.f.px.Timeouts.Client, srvTimeout)
	s.BytesToClient += toClient
	c.cnt.wn.Add(toClient) // written past the counting connection
	if cause != 0 {
		s.TermCause, s.TermState = cause, stateData
	} else {
		s.TermCause, s.TermState = termNormal, termNormal
	}
	return false
}

// statusOf reads the status code of a raw response head (0 if none).
func statusOf(raw []byte) int {
	line, _, _ := bytes.Cut(raw, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// writeSwitching writes a 101 head to the client with the fields as the
// server sent them (names in lower case, as haproxy writes them), after
// the http-response rules, which haproxy runs on a 101 too, and returns
// its size as haproxy counts it (the head as the server sent it). denied
// is true when a rule denied the response: the client got the error page
// instead and there is no tunnel.
func (c *h1Conn) writeSwitching(resp *http.Response, raw []byte, s *accesslog.Session) (size int64, denied bool, err error) {
	reason := strings.TrimLeft(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)), " ")
	size = htxStartLine + int64(len("HTTP/1.1")+3+len(reason))
	lines := strings.Split(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n")
	fields := make([]header, 0, len(lines))
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		name, value = strings.ToLower(name), strings.Trim(value, " \t")
		fields = append(fields, header{name, value})
		size += int64(len(name) + len(value))
	}
	size += htxEOH
	code := http.StatusSwitchingProtocols
	if c.rules != nil {
		var page *errorPage
		if code, reason, fields, page = c.rules.responseRules(c.h, code, reason, fields); page != nil {
			keep := false
			n, err := c.deniedResponse(*page, &keep, size, http.NoBody)
			c.rules.logResponse(s)
			return n, true, err
		}
	}
	c.startResponse()
	bw := c.writer()
	bw.WriteString("HTTP/1.1 ")
	bw.WriteString(strconv.Itoa(code))
	bw.WriteByte(' ')
	bw.WriteString(reason)
	bw.WriteString("\r\n")
	for _, f := range fields {
		bw.WriteString(f.name)
		bw.WriteString(": ")
		bw.WriteString(f.value)
		bw.WriteString("\r\n")
	}
	bw.WriteString("\r\n")
	if err := bw.Flush(); err != nil {
		return size, false, &clientWriteError{err}
	}
	return size, false, nil
}

// tunnel relays bytes both ways until both sides have closed, or until
// neither has sent anything for `timeout tunnel`; without it, as haproxy,
// `timeout client` bounds the wait for the client and `timeout server`
// the wait for the server. It returns the bytes sent to the client and
// from it, and the termination cause of a timeout (0 on a normal end).
func (h *h1Frontend) tunnel(c *h1Conn, sc net.Conn, sbr *bufio.Reader, tun, cliTimeout, srvTimeout time.Duration) (toClient, fromClient int64, cause byte) {
	cliIdle, srvIdle := tun, tun
	if tun <= 0 {
		cliIdle, srvIdle = cliTimeout, srvTimeout
	}
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	var timedOut, srvSide atomic.Bool
	var wg sync.WaitGroup
	// A read that waits past the deadline ends the tunnel only if the
	// other direction was quiet too.
	pump := func(dst net.Conn, src io.Reader, setRead func(time.Time) error, idle time.Duration, n *int64) {
		defer wg.Done()
		buf := make([]byte, 16384)
		for {
			if idle > 0 {
				_ = setRead(time.Unix(0, last.Load()).Add(idle))
			}
			k, err := src.Read(buf)
			if k > 0 {
				last.Store(time.Now().UnixNano())
				if _, werr := dst.Write(buf[:k]); werr != nil {
					break
				}
				*n += int64(k)
			}
			if err != nil {
				if isTimeout(err) && time.Since(time.Unix(0, last.Load())) < idle {
					continue
				}
				if isTimeout(err) {
					if timedOut.CompareAndSwap(false, true) {
						srvSide.Store(idle == srvIdle && tun <= 0 && src == io.Reader(sbr))
					}
					// Stop the other direction too.
					_ = c.nc.SetReadDeadline(time.Now())
					_ = sc.SetReadDeadline(time.Now())
				}
				break
			}
		}
		if cw, ok := dst.(interface{ CloseWrite() error }); ok && !timedOut.Load() {
			_ = cw.CloseWrite()
		} else {
			_ = dst.SetReadDeadline(time.Now())
		}
	}
	// The deadlines are this function's from now on.
	c.cnt.idle.Store(0)
	_ = c.nc.SetWriteDeadline(time.Time{})
	wg.Add(2)
	var fromSrv, fromCli int64
	go pump(c.nc, sbr, sc.SetReadDeadline, srvIdle, &fromSrv)
	go pump(sc, c.br, c.nc.SetReadDeadline, cliIdle, &fromCli)
	wg.Wait()
	if timedOut.Load() {
		// A `timeout tunnel` expiry is logged as the client's, as haproxy.
		cause = termClientTimeout
		if srvSide.Load() {
			cause = termServerTimeout
		}
	}
	return fromSrv, fromCli, cause
}
