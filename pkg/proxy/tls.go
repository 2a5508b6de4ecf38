package proxy

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http/httptrace"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/sample"
	"hapair/pkg/sticktable"
	"hapair/pkg/tlsconf"
)

// TLS termination on `bind ... ssl` listeners: the accepted connection is
// wrapped at once (no I/O in the accept loop); its handshake runs on the
// session's goroutine, bounded by `timeout client` as haproxy bounds an
// embryonic session, and a failed one is logged with haproxy's
// "fe/1: SSL handshake failure" line instead of a session line.

// tlsListener wraps the accepted connections of one `ssl` bind.
type tlsListener struct {
	net.Listener
	cfg   *tls.Config
	store *tlsconf.Store
	bind  *tlsconf.Bind
}

// tlsServerConn is an accepted TLS connection; hello is set once the
// ClientHello was read and parsed (haproxy's "empty handshake" test).
type tlsServerConn struct {
	*tls.Conn
	raw net.Conn
	// ownSID is the session id OpenSSL would make up for the session
	// (ssl_fc_session_id), drawn at the first fetch.
	ownSID     []byte
	ownSIDOnce sync.Once
	noTickets  bool // the bind sends no session tickets
	// helloRaw is the start of the ClientHello as read, until onHello.
	helloRaw []byte
	hello    atomic.Bool
	luid     int // the bind's number in its frontend (haproxy's listener id)
	// local is the certificate presented (ssl_f_*), set with hello.
	local *x509.Certificate
	// verify is the client certificate's verification result, kept
	// when crt-ignore-err/ca-ignore-err let errors through.
	verify tlsconf.VerifyResult
	closed sync.Once
	// errCode and sslErr are fc_err and ssl_fc_err, set when the
	// handshake failed (before the failure is logged).
	errCode int
	sslErr  int64
	// helloVers is the highest version the ClientHello offered: %sslv
	// when no version was agreed, as OpenSSL reports the client's.
	helloVers uint16
	// sniRefused is a handshake refused by strict-sni.
	sniRefused bool
	// helloSNI is the ClientHello's server name, for a handshake refused
	// in onHello, before crypto/tls records it (ssl_fc_sni in its log).
	helloSNI string
	// rand holds the first bytes each way, for the hellos' randoms.
	rand helloRandoms
}

// helloRandoms follows the first records read and written on a
// connection under TLS to the ClientHello's and ServerHello's randoms
// (ssl_fc_client_random, ...), which crypto/tls does not report.
type helloRandoms struct {
	in, out helloScan
}

func (r *helloRandoms) read(p []byte)  { r.in.feed(p) }
func (r *helloRandoms) wrote(p []byte) { r.out.feed(p) }

// helloRetryRandom is the random of a TLS 1.3 HelloRetryRequest, a
// ServerHello in form (RFC 8446, section 4.1.3): OpenSSL reports the
// ServerHello's that follows it.
var helloRetryRandom = [32]byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// helloScan reads the records of one direction until the first hello
// that is not a HelloRetryRequest, skipping ChangeCipherSpec records
// (sent after a HelloRetryRequest for middlebox compatibility) and
// HelloRetryRequests; head then holds its first 43 bytes: record header
// (5), handshake header (4), version (2), random (32).
type helloScan struct {
	head [43]byte
	n    int  // bytes of head filled
	skip int  // bytes of a skipped record still to come
	done bool // head holds the hello, or a record that is none
	// sid is the hello's session id after the random: its length byte,
	// then the id; sn bytes of it filled, left bytes of the hello's
	// record not read yet (ssl_fc_session_id).
	sid  [33]byte
	sn   int
	left int
}

// sidWant is how many bytes of sid the hello's session id takes.
func (s *helloScan) sidWant() int {
	if s.sn == 0 {
		return 1
	}
	return 1 + int(min(s.sid[0], 32))
}

// full tells whether the scan wants no more bytes.
func (s *helloScan) full() bool {
	return s.done && (s.random(s.head[5]) == nil || s.left <= 0 || s.sn >= s.sidWant())
}

func (s *helloScan) feed(p []byte) {
	if s.done {
		// The session id, within the hello's record.
		for len(p) > 0 && !s.full() {
			k := copy(s.sid[s.sn:s.sidWant()], p[:min(len(p), s.left)])
			s.sn += k
			s.left -= k
			p = p[k:]
		}
		return
	}
	for !s.done && len(p) > 0 {
		if s.skip > 0 {
			k := min(s.skip, len(p))
			s.skip -= k
			p = p[k:]
			continue
		}
		k := copy(s.head[s.n:], p)
		s.n += k
		p = p[k:]
		if s.n < 5 {
			continue // p is used up
		}
		switch {
		case s.head[0] == 0x14: // ChangeCipherSpec
		case s.n < len(s.head):
			continue // p is used up
		case s.head[0] == 0x16 && s.head[5] == 2 && [32]byte(s.head[11:43]) == helloRetryRandom:
		default:
			s.done = true
			s.left = 5 + (int(s.head[3])<<8 | int(s.head[4])) - len(s.head)
			s.feed(p)
			return
		}
		// Skip the record; bytes of head past it start the next one.
		size := 5 + (int(s.head[3])<<8 | int(s.head[4]))
		if s.n <= size {
			s.skip, s.n = size-s.n, 0
			continue
		}
		next := append([]byte(nil), s.head[size:s.n]...)
		s.n = 0
		s.feed(next)
	}
}

// sessionID is the session id of the hello of type typ (1 client, 2
// server); ok false when not seen whole.
func (s *helloScan) sessionID(typ byte) (id []byte, ok bool) {
	if s.random(typ) == nil || s.sn == 0 || s.sid[0] > 32 || s.sn < s.sidWant() {
		return nil, false
	}
	return append([]byte(nil), s.sid[1:1+s.sid[0]]...), true
}

// random is the random of the hello of type typ (1 client, 2 server)
// found; nil when there was none.
func (s *helloScan) random(typ byte) []byte {
	if !s.done || s.n < len(s.head) || s.head[0] != 0x16 || s.head[5] != typ {
		return nil
	}
	return append([]byte(nil), s.head[11:43]...)
}

// randomsConn feeds the bytes of a connection to a server to its
// helloRandoms.
type randomsConn struct {
	net.Conn
	r *helloRandoms
}

func (c randomsConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if !c.r.in.full() {
		c.r.read(p[:n])
	}
	return n, err
}

func (c randomsConn) Write(p []byte) (int, error) {
	if !c.r.out.full() {
		c.r.wrote(p)
	}
	return c.Conn.Write(p)
}

// The process's TLS connections, both sides, as haproxy's `show info`
// CurrSslConns and CumSslConns count them (process-wide, as haproxy's
// global counters).
var sslCur, sslCum atomic.Int64

func sslOpened() { sslCur.Add(1); sslCum.Add(1) }
func sslClosed() { sslCur.Add(-1) }

// SSLConns are the current and cumulated TLS connections (show info).
func SSLConns() (cur, cum int64) { return sslCur.Load(), sslCum.Load() }

// The process's TLS rates (show info): TLS connections accepted, and full
// (not resumed) handshakes on each side, with their highest per-second
// counts, as haproxy's global ssl_per_sec, ssl_fe/be_keys_per_sec.
var (
	sslSess, sslFeKeys, sslBeKeys          rate
	sslSessMax, sslFeKeysMax, sslBeKeysMax atomic.Int64
)

func countRate(r *rate, max *atomic.Int64) {
	r.add(time.Now())
	storeMax(max, r.cur.Load())
}

// SSLRates are show info's SslRate, MaxSslRate, SslFrontendKeyRate,
// SslFrontendMaxKeyRate, SslFrontendSessionReuse_pct, SslBackendKeyRate
// and SslBackendMaxKeyRate.
type SSLRates struct {
	Sess, SessMax, FeKeys, FeKeysMax, ReusePct, BeKeys, BeKeysMax int64
}

// ReadSSLRates reads the TLS rates at now.
func ReadSSLRates(now time.Time) SSLRates {
	r := SSLRates{
		Sess: sslSess.read(now), SessMax: sslSessMax.Load(),
		FeKeys: sslFeKeys.read(now), FeKeysMax: sslFeKeysMax.Load(),
		BeKeys: sslBeKeys.read(now), BeKeysMax: sslBeKeysMax.Load(),
	}
	if r.FeKeys < r.Sess {
		r.ReusePct = int64(100 * (1 - float64(r.FeKeys)/float64(r.Sess)))
	}
	return r
}

// serverTLSConn is a TLS connection to a server, counted like the
// client side ones.
type serverTLSConn struct {
	*tls.Conn
	closed sync.Once
	rand   helloRandoms
}

func (c *serverTLSConn) Close() error {
	c.closed.Do(sslClosed)
	return c.Conn.Close()
}

func (l *tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &tlsServerConn{raw: c, noTickets: l.cfg.SessionTicketsDisabled}
	sslOpened()
	countRate(&sslSess, &sslSessMax)
	// One tls.Config for every connection of the bind: its session
	// ticket keys must be shared for resumption (a per-connection clone
	// would have its own), and cloning costs. The connection is found
	// again from the ClientHello by its raw conn.
	tc.Conn = tls.Server(&helloConn{Conn: c, owner: tc}, l.cfg)
	return tc, nil
}

// Close closes the connection, counting it out of CurrSslConns once.
func (tc *tlsServerConn) Close() error {
	tc.closed.Do(sslClosed)
	return tc.Conn.Close()
}

// helloConn is the raw connection under a tlsServerConn, leading the
// ClientHello callback back to it.
type helloConn struct {
	net.Conn
	owner *tlsServerConn
}

func (h *helloConn) Read(p []byte) (int, error) {
	n, err := h.Conn.Read(p)
	if r := &h.owner.rand; !r.in.full() {
		r.read(p[:n])
	}
	if o := h.owner; !o.hello.Load() && len(o.helloRaw) < maxHelloRaw {
		// The ClientHello's first record, for its key shares.
		o.helloRaw = append(o.helloRaw, p[:min(n, maxHelloRaw-len(o.helloRaw))]...)
	}
	return n, err
}

// maxHelloRaw bounds the ClientHello bytes kept: a record's most.
const maxHelloRaw = 5 + 16384

func (h *helloConn) Write(p []byte) (int, error) {
	if r := &h.owner.rand; !r.out.full() {
		r.wrote(p)
	}
	return h.Conn.Write(p)
}

// onHello records the ClientHello's arrival and the certificate the
// store picks for it (GetCertificate picks the same), for the handshake
// error and ssl_f_* fetches.
func (l *tlsListener) onHello(h *tls.ClientHelloInfo) (*tls.Config, error) {
	if hc, ok := h.Conn.(*helloConn); ok {
		bind, base := l.bind, l.cfg
		c, byName, pickErr := l.store.PickNamed(h.ServerName, tlsconf.ClientOf(h))
		if pickErr == nil {
			hc.owner.local = c.TLS.Leaf
			if e := c.Entry; e != nil && e.Bind != nil {
				// A crt-list line with options: its verify, CAs and ALPN,
				// and its versions when picked by name, as haproxy
				// switches to the line's context.
				byNameCfg, defCfg := e.Configs(l.cfg)
				bind, base = e.Bind, defCfg
				if byName {
					base = byNameCfg
				}
			}
		}
		for _, v := range h.SupportedVersions {
			hc.owner.helloVers = max(hc.owner.helloVers, v)
		}
		hc.owner.helloSNI = h.ServerName
		hc.owner.hello.Store(true)
		if pickErr != nil {
			// strict-sni without a match: refused here, before crypto/tls
			// could resume a session without asking GetCertificate (as
			// haproxy refuses in its ClientHello callback).
			return nil, pickErr
		}
		// A CA file committed on the stats socket since the listener
		// started, or a verification result to keep, needs this
		// handshake's own config.
		var record func(tlsconf.VerifyResult)
		if bind.RecordsResults() {
			owner := hc.owner
			record = func(r tlsconf.VerifyResult) { owner.verify = r }
		}
		hs := bind.ForHandshake(base, record)
		if base.ClientAuth != tls.NoClientCert && offersTLS12Only(h, base) && bind.NeedsClientGroups(h.SupportedCurves) {
			// OpenSSL also refuses a TLS 1.2 client certificate on a
			// curve the client's own supported_groups leave out: this
			// handshake's check needs them.
			if hs == nil {
				hs = base.Clone()
				hs.GetConfigForClient = nil
			}
			hs.VerifyConnection = bind.CurveCheck(h.SupportedCurves)
		}
		eff := hs
		if eff == nil {
			eff = base
		}
		// The TLS 1.3 suite can be chosen for crypto/tls only when it
		// sends no HelloRetryRequest (see tlsconf.ClientOrder).
		shares, sharesOK := tlsconf.KeyShares(hc.owner.helloRaw)
		hc.owner.helloRaw = nil
		rewrite13 := sharesOK && !tlsconf.RetryPossible(h, eff, shares)
		if tlsconf.Restricts13(bind.Suites13) && !offersTLS12Only(h, eff) {
			// `ciphersuites` naming fewer than three TLS 1.3 suites: the
			// others are taken out of the ClientHello. Not possible when
			// a HelloRetryRequest may follow (crypto/tls would find the
			// second ClientHello changed): then a client offering a suite
			// left out is refused, where OpenSSL would pick one of the
			// list; crypto/tls might pick the other.
			if !rewrite13 {
				if tlsconf.Offers13Outside(h, bind.Suites13) {
					return nil, errRestrict13Retry
				}
			} else {
				tlsconf.RestrictSuites13(h, bind.Suites13)
			}
		}
		if bind.PreferClientCiphers && pickErr == nil {
			// prefer-client-ciphers: the client's first usable suite.
			if pc := tlsconf.ClientOrder(h, eff, c, rewrite13); pc != nil {
				return pc, nil
			}
		} else if rewrite13 {
			// The bind's TLS 1.3 order, as OpenSSL follows it.
			tlsconf.ServerOrder13(h, eff, bind.Suites13)
		}
		if hs != nil {
			return hs, nil
		}
		if base != l.cfg {
			return base, nil
		}
	}
	return nil, nil
}

// errRestrict13Retry refuses a handshake whose TLS 1.3 suite the bind's
// `ciphersuites` could not choose (onHello).
var errRestrict13Retry = errors.New("tls: the bind's TLS 1.3 'ciphersuites' cannot be applied to a ClientHello a HelloRetryRequest may follow")

// offersTLS12Only tells whether a handshake with the client of h under c
// can settle on TLS 1.2 rather than 1.3.
func offersTLS12Only(h *tls.ClientHelloInfo, c *tls.Config) bool {
	if c.MaxVersion != 0 && c.MaxVersion < tls.VersionTLS13 {
		return true
	}
	return !slices.Contains(h.SupportedVersions, tls.VersionTLS13)
}

// wrapTLS returns the listener of bind number i of f, TLS-terminating
// when the bind has `ssl`.
func (e *Engine) wrapTLS(f *Frontend, i int, ln net.Listener) net.Listener {
	if i >= len(f.px.Binds) || f.px.Binds[i].TLS == nil {
		return ln
	}
	set := f.px.Binds[i].TLS.Settings
	if set.Store == nil {
		// Parsed without reading files (haproxycfg.Parse): no certificate,
		// every handshake fails rather than the engine.
		set.Store = tlsconf.NewStore(nil, true)
	}
	if set.Now == nil {
		set.Now = e.now
	}
	for _, c := range set.Store.Certs() {
		if c.Entry != nil && c.Entry.Bind != nil && c.Entry.Bind.Now == nil {
			c.Entry.Bind.Now = set.Now
		}
	}
	tl := &tlsListener{Listener: ln, cfg: set.Config(), store: set.Store, bind: &set}
	tl.cfg.GetConfigForClient = tl.onHello
	return &luidListener{Listener: tl, luid: i + 1}
}

// luidListener stamps the listener id on accepted TLS connections.
type luidListener struct {
	net.Listener
	luid int
}

func (l *luidListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*tlsServerConn); ok {
		tc.luid = l.luid
	}
	return c, err
}

// tlsOf finds the TLS connection under the engine's wrappers; nil for a
// clear-text connection.
func tlsOf(c net.Conn) *tlsServerConn {
	for {
		switch v := c.(type) {
		case *tlsServerConn:
			return v
		case *gatedConn:
			c = v.Conn
		case *h2StreamConn:
			c = v.parent
		default:
			return nil
		}
	}
}

// TLSState is the connection's TLS state (ssl_fc_* fetches); nil for a
// clear-text connection.
func TLSState(c net.Conn) *tls.ConnectionState {
	tc := tlsOf(c)
	if tc == nil {
		return nil
	}
	st := tc.state()
	return &st
}

// state is the connection's TLS state with the ClientHello's server name
// when strict-sni refused the handshake in onHello, before crypto/tls
// recorded it (OpenSSL has it then; not when it refuses the version).
func (c *tlsServerConn) state() tls.ConnectionState {
	st := c.ConnectionState()
	if st.ServerName == "" && c.sniRefused {
		st.ServerName = c.helloSNI
	}
	return st
}

// Handshake errors as haproxy names them (connection error codes
// CO_ER_SSL_*), logged instead of a session line.
const ()

// handshake runs the TLS handshake of an accepted connection, if it is
// one; it returns the handshake time (%Th) and false, after logging,
// when it failed.
func (e *Engine) handshake(f *Frontend, c net.Conn, accept time.Time) (time.Duration, bool) {
	tc := tlsOf(c)
	if tc == nil {
		return 0, true
	}
	ctx := e.killed
	if t := f.px.Timeouts.Client; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, accept.Add(t))
		defer cancel()
	}
	err := tc.HandshakeContext(ctx)
	if err == nil {
		if !tc.ConnectionState().DidResume {
			countRate(&sslFeKeys, &sslFeKeysMax)
		}
		return e.now().Sub(accept), true
	}
	code := tlsconf.ConnErrSSLHandshake
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		code = tlsconf.ConnErrSSLTimeout
	case errors.Is(err, tlsconf.ErrClientCert):
		code = tlsconf.ConnErrSSLCrtFail
	case !tc.hello.Load() && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
		code = tlsconf.ConnErrSSLEmpty
	case !tc.hello.Load() && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)):
		code = tlsconf.ConnErrSSLAbort
	case e.killed.Err() != nil:
		return 0, false
	}
	tc.errCode = code
	tc.sniRefused = errors.Is(err, tlsconf.ErrNoCertificate)
	if code == tlsconf.ConnErrSSLHandshake || code == tlsconf.ConnErrSSLCrtFail {
		tc.sslErr = tlsconf.SSLErrCode(tlsconf.HandshakeReason(err))
	}
	if (code == tlsconf.ConnErrSSLEmpty || code == tlsconf.ConnErrSSLAbort) && f.px.Options.DontLogNull {
		return 0, false
	}
	if e.opts.ConnError != nil && len(f.px.Logs) > 0 {
		e.opts.ConnError(f.px, ConnError{
			Client: c.RemoteAddr(), Accept: accept, Listener: tc.luid, Msg: tlsconf.ConnErrText(code),
			Conn: c, Env: WithTLS(e, c), Now: e.now(),
			ActConn: int(e.actconn.Load()), FeConn: int(f.ctr.cur.Load()),
		})
	}
	return 0, false
}

// ConnError is a connection that ended before it became a session, as
// haproxy logs it: "ip:port [accept date] frontend/listener: Msg".
type ConnError struct {
	Client   net.Addr
	Accept   time.Time
	Listener int // the bind's number in its frontend, from 1
	Msg      string
	// Conn is the failed connection and Env its facts for the fetches
	// of an error-log-format (fc_err, ssl_fc_*); Now is when it failed.
	Conn net.Conn
	Env  sample.Env
	Now  time.Time
	// ActConn and FeConn are %ac and %fc when it failed.
	ActConn, FeConn int
}

// handshakeTCP is handshake for the mode tcp accept loop: on failure it
// gives back the slots the loop took. It returns the accept date, before
// the handshake (zero in clear text): haproxy's tcplog counts the
// handshake in %Tw and %Tt.
func (e *Engine) handshakeTCP(f *Frontend, c net.Conn, accept time.Time) (time.Time, bool) {
	if tlsOf(c) == nil {
		return time.Time{}, true
	}
	if accept.IsZero() {
		accept = e.now()
	}
	_, ok := e.handshake(f, c, accept)
	if !ok {
		c.Close()
		f.gate.release()
		e.global.release()
		e.wg.Done()
	}
	return accept, ok
}

// sessionCaches are the TLS session caches of servers with ssl-reuse.
var sessionCaches sync.Map // *haproxycfg.Server -> tls.ClientSessionCache

func sessionCache(s *haproxycfg.Server) tls.ClientSessionCache {
	if c, ok := sessionCaches.Load(s); ok {
		return c.(tls.ClientSessionCache)
	}
	c, _ := sessionCaches.LoadOrStore(s, tls.NewLRUClientSessionCache(64))
	return c.(tls.ClientSessionCache)
}

// dialTLS wraps a new connection to addr, one of be's servers, in TLS
// when that server has `ssl` (the HTTP transport's dial).
func dialTLS(ctx context.Context, be *Backend, network, addr string, c net.Conn, timeout time.Duration) (net.Conn, error) {
	servers := be.Servers()
	if t := dialTargetOf(ctx); t != nil && t.srv != nil {
		// The request's server: others at the same address may send
		// another SNI or certificate.
		servers = []*Server{t.srv}
	}
	for _, s := range servers {
		sc := s.cfg
		if !s.TLSOn() {
			continue
		}
		if s.dialsTo(addr) {
			var dl time.Time
			if timeout > 0 {
				dl = time.Now().Add(timeout)
			}
			tc, err := serverTLS(sc, c, "", sessionCache(sc), dl)
			if err != nil {
				// A failed handshake is a failed connection, retried and
				// answered 503 as haproxy does: tell the request's trace.
				if tr := httptrace.ContextClientTrace(ctx); tr != nil && tr.ConnectDone != nil {
					tr.ConnectDone(network, addr, err)
				}
			}
			return tc, err
		}
	}
	return c, nil
}

// serverTLS wraps a connection to a server in TLS when the server has
// `ssl`; sni is the client's SNI for `sni ssl_fc_sni`.
func serverTLS(s *haproxycfg.Server, c net.Conn, clientSNI string, cache tls.ClientSessionCache, deadline time.Time) (net.Conn, error) {
	if s.TLS == nil {
		return c, nil
	}
	name := s.TLS.SNI
	if s.TLS.SNIFromClient {
		name = clientSNI
	}
	tc := &serverTLSConn{}
	tc.Conn = tls.Client(randomsConn{Conn: c, r: &tc.rand}, s.TLS.Settings.Config(name, cache))
	sslOpened()
	if !deadline.IsZero() {
		_ = c.SetDeadline(deadline)
	}
	if err := tc.Handshake(); err != nil {
		tc.Close()
		if code, r := tlsconf.ServerHandshakeError(err); r != 0 {
			err = serverHandshakeError{err, code, r}
		}
		return nil, err
	}
	if !tc.ConnectionState().DidResume {
		countRate(&sslBeKeys, &sslBeKeysMax)
	}
	_ = c.SetDeadline(time.Time{})
	return tc, nil
}

// serverTLS wraps the session's new server connection in TLS when the
// server has `ssl`, within what is left of `timeout connect`.
func (s *session) serverTLS(c net.Conn) (net.Conn, error) {
	sc := s.srv.cfg
	if !s.srv.TLSOn() {
		return c, nil
	}
	sni := ""
	if st := TLSState(s.cli); st != nil {
		sni = st.ServerName
	}
	var dl time.Time
	if s.bt.Connect > 0 {
		dl = time.Now().Add(s.bt.Connect)
	}
	return serverTLS(sc, c, sni, sessionCache(sc), dl)
}

// WithTLS extends env with the TLS facts of the client connection c
// (tlsconf.TLSFacts, read by the ssl_fc and ssl_c/ssl_f fetches); a clear
// connection answers ssl_fc false and no sample for the others.
func WithTLS(env sample.Env, c net.Conn) sample.Env {
	return tlsEnv{engineEnv: engineEnv{env}, c: tlsOf(c)}
}

// envFor is the sample environment of the streams of connection c: the
// engine's, with the TLS facts when c is TLS (ssl_fc and friends in rules).
func envFor(e *Engine, c net.Conn) sample.Env {
	if tlsOf(c) == nil {
		return e
	}
	return WithTLS(e, c)
}

type tlsEnv struct {
	engineEnv
	c *tlsServerConn
}

// engineEnv is a sample environment that wraps the engine's (TLS facts
// added): the engine's extensions of sample.Env pass through.
type engineEnv struct{ sample.Env }

func (v engineEnv) SrvID(backend, server string) int {
	if e := engineOf(v.Env); e != nil {
		return e.SrvID(backend, server)
	}
	return 0
}

func (v engineEnv) CheckUser(list, user, pass string) bool {
	if e := engineOf(v.Env); e != nil {
		return e.CheckUser(list, user, pass)
	}
	return false
}

func (v engineEnv) UserGroups(list, user string) []string {
	if e := engineOf(v.Env); e != nil {
		return e.UserGroups(list, user)
	}
	return nil
}

func (v engineEnv) StickTables() *sticktable.Set {
	if e := engineOf(v.Env); e != nil {
		return e.StickTables()
	}
	return nil
}

func (v engineEnv) ProxyTimeouts(name string) (server, tunnel time.Duration, ok bool) {
	if e := engineOf(v.Env); e != nil {
		return e.ProxyTimeouts(name)
	}
	return 0, 0, false
}

func (t tlsEnv) TLS() *tls.ConnectionState {
	if t.c == nil {
		return nil
	}
	st := t.c.state()
	if !st.HandshakeComplete && t.c.errCode == 0 {
		return nil
	}
	return &st
}

// ConnErr is fc_err and ssl_fc_err (tlsconf.ConnErrFacts).
func (t tlsEnv) ConnErr() (int, int64) {
	if t.c == nil {
		return 0, 0
	}
	return t.c.errCode, t.c.sslErr
}

func (t tlsEnv) TLSLocalCert() *x509.Certificate {
	if t.c == nil {
		return nil
	}
	return t.c.local
}

// TLSSessionID is ssl_fc_session_id as OpenSSL under haproxy 2.6 has
// it (tlsconf.SessionIDFacts), measured: a resumed TLS 1.2 session's id
// is the one the client offered (echoed in the ServerHello); a new TLS
// 1.2 session has none when a ticket carries it (the client offered the
// ticket extension, which crypto/tls does not report: assumed, as every
// usual client does) and else a random id of the server's; a TLS 1.3
// session always has a random id of the server's, never sent.
func (t tlsEnv) TLSSessionID() ([]byte, bool) {
	if t.c == nil {
		return nil, false
	}
	st := t.c.ConnectionState()
	if !st.HandshakeComplete {
		return nil, false
	}
	if st.Version <= tls.VersionTLS12 {
		if st.DidResume {
			id, ok := t.c.rand.out.sessionID(2)
			if !ok || len(id) == 0 {
				return nil, false
			}
			return id, true
		}
		if !t.c.noTickets {
			return nil, false
		}
	}
	t.c.ownSIDOnce.Do(func() {
		t.c.ownSID = make([]byte, 32)
		_, _ = rand.Read(t.c.ownSID)
	})
	return t.c.ownSID, true
}

// TLSRandoms are the hellos' randoms (tlsconf.RandomFacts).
func (t tlsEnv) TLSRandoms() (client, server []byte) {
	if t.c == nil {
		return nil, nil
	}
	return t.c.rand.in.random(1), t.c.rand.out.random(2)
}

func (t tlsEnv) TLSVerify() tlsconf.VerifyResult {
	if t.c == nil {
		return tlsconf.VerifyResult{}
	}
	return t.c.verify
}

// tlsLogFields are %sslc and %sslv of a connection ("" in clear text).
func tlsLogFields(c net.Conn) (cipher, version string) {
	tc := tlsOf(c)
	if tc == nil {
		return "", ""
	}
	st := tc.ConnectionState()
	if !st.HandshakeComplete {
		// A failed handshake: OpenSSL has no current cipher, and names
		// the client's version when none was agreed.
		v := st.Version
		switch {
		case tc.sniRefused || (v == 0 && !tc.hello.Load()):
			// Refused by haproxy's ClientHello callback, before any
			// version was chosen, or no ClientHello: OpenSSL names
			// its method's highest version (TLSv1.3 with OpenSSL 3).
			v = tls.VersionTLS13
		case v == 0:
			v = tc.helloVers
		}
		return "(NONE)", tlsconf.VersionName(v)
	}
	return tlsconf.SuiteName(st.CipherSuite), tlsconf.VersionName(st.Version)
}

// TLSLogFields are %sslc and %sslv of a client connection ("" in clear
// text), also after a failed handshake.
func TLSLogFields(c net.Conn) (cipher, version string) { return tlsLogFields(c) }

// serverTLSEnv adds the TLS facts of the server connection to a stream's
// sample environment (tlsconf.ServerTLSFacts: ssl_bc_*, ssl_s_*).
type serverTLSEnv struct {
	engineEnv
	c *serverTLSConn
}

func (t serverTLSEnv) ServerTLS() *tls.ConnectionState {
	st := t.c.ConnectionState()
	return &st
}

// ServerTLSRandoms are the server connection's hellos' randoms.
func (t serverTLSEnv) ServerTLSRandoms() (client, server []byte) {
	return t.c.rand.out.random(1), t.c.rand.in.random(2)
}

// The client side's facts pass through.

func (t serverTLSEnv) TLSRandoms() (client, server []byte) {
	if f, ok := t.Env.(tlsconf.RandomFacts); ok {
		return f.TLSRandoms()
	}
	return nil, nil
}

func (t serverTLSEnv) TLS() *tls.ConnectionState {
	if f, ok := t.Env.(tlsconf.TLSFacts); ok {
		return f.TLS()
	}
	return nil
}

func (t serverTLSEnv) TLSLocalCert() *x509.Certificate {
	if f, ok := t.Env.(tlsconf.TLSFacts); ok {
		return f.TLSLocalCert()
	}
	return nil
}

func (t serverTLSEnv) TLSVerify() tlsconf.VerifyResult {
	if f, ok := t.Env.(tlsconf.TLSFacts); ok {
		return f.TLSVerify()
	}
	return tlsconf.VerifyResult{}
}

func (t serverTLSEnv) ConnErr() (int, int64) {
	if f, ok := t.Env.(tlsconf.ConnErrFacts); ok {
		return f.ConnErr()
	}
	return 0, 0
}

// serverHandshakeError is a failed handshake with a server whose OpenSSL
// reason gproxy knows: the stream keeps it for bc_err and ssl_bc_err, as
// haproxy keeps the failed connection.
type serverHandshakeError struct {
	error
	code, reason int // haproxy's connection error code, OpenSSL's reason
}

func (e serverHandshakeError) Unwrap() error { return e.error }

// srvConnFacts is what bc_err and ssl_bc_err read of a stream's server
// connection c (nil for none) or, without one, of its last connect's
// error: nil when haproxy would have no connection either.
func srvConnFacts(c net.Conn, dialErr error) *sample.SrvConn {
	if c == nil {
		var he serverHandshakeError
		if errors.As(dialErr, &he) {
			return &sample.SrvConn{Err: he.code, TLS: true, SSLErr: tlsconf.SSLErrCode(he.reason)}
		}
		return nil
	}
	if _, isTLS := withServerTLS(nil, c).(serverTLSEnv); isTLS {
		return &tlsSrvConn
	}
	return &plainSrvConn
}

// The facts of every established server connection, shared (readers
// never write them): a session allocates none.
var plainSrvConn, tlsSrvConn = sample.SrvConn{}, sample.SrvConn{TLS: true}

// remoteAlert reports whether err is a TLS alert the server sent.
func remoteAlert(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error"
}

// withServerTLS is env with the facts of server connection c when it is
// TLS, else env itself.
func withServerTLS(env sample.Env, c net.Conn) sample.Env {
	for {
		switch v := c.(type) {
		case *serverTLSConn:
			return serverTLSEnv{engineEnv: engineEnv{env}, c: v}
		case *headConn:
			c = v.Conn
		case *sessConn:
			c = v.Conn
		case *h1CountConn:
			c = v.Conn
		case *h2CountedConn:
			c = v.Conn
		default:
			return env
		}
	}
}
