package proxy

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"hapair/pkg/accesslog"

	"hapair/pkg/balance"
	"hapair/pkg/haproxycfg"
)

// newPolicy builds the backend's load-balancing policy from its `balance`,
// `hash-type` and `hash-balance-factor` lines. Hash policies know every
// server by id, as haproxy places them by it.
func newPolicy(b *Backend) (balance.Policy, error) {
	px := b.px
	kind := balance.KeySource
	switch px.Balance {
	case haproxycfg.Source:
	case haproxycfg.URI:
		kind = balance.KeyURI
	case haproxycfg.URLParam:
		kind = balance.KeyParam
	case haproxycfg.Hdr:
		kind = balance.KeyHeader
	case haproxycfg.Random:
		kind = balance.KeyRandom
	case haproxycfg.HashExpr, haproxycfg.RDPCookie:
		kind = balance.KeySample
	default:
		return balance.New(string(px.Balance))
	}
	a, ht := px.BalanceArgs, px.HashType
	cfg := balance.HashConfig{
		Kind:          kind,
		Consistent:    ht.Consistent,
		Avalanche:     ht.Avalanche,
		URIWhole:      a.URIWhole,
		URIPathOnly:   a.URIPathOnly,
		URILen:        a.URILen,
		URIDepth:      a.URIDepth,
		Param:         a.Param,
		Header:        a.Header,
		DomainOnly:    a.UseDomainOnly,
		Draws:         a.Draws,
		BalanceFactor: px.HashBalanceFactor,
	}
	switch ht.Func {
	case "djb2":
		cfg.Func = balance.DJB2
	case "wt6":
		cfg.Func = balance.WT6
	case "crc32":
		cfg.Func = balance.CRC32
	}
	ms := make([]balance.Member, len(b.Servers()))
	for i, s := range b.Servers() {
		ms[i] = balance.Member{Server: s, ID: s.id, Weight: s.cfg.Weight}
	}
	return balance.NewHash(cfg, ms), nil
}

// The request as the hash policies see it (balance.Request).

// Method is the request method.
func (r *httpRequest) Method() string { return r.method }

// URI is the request target as received.
func (r *httpRequest) URI() string { return r.uri }

// Header is the value of the first field named name.
func (r *httpRequest) Header(name string) (string, bool) {
	for _, h := range r.headers {
		if strings.EqualFold(h.name, name) {
			return h.value, true
		}
	}
	return "", false
}

// Body is the start of the body already received (balance.Request), set
// by peekBody.
func (r *httpRequest) Body() []byte { return r.bodyStart }

// peekBody lets `balance url_param` see, in a POST, the part of the body
// that came with the head, as haproxy sees the first data block of its
// buffer when it chooses the server (a chunked body is not looked into).
func peekBody(be *Backend, br *bufio.Reader, req *httpRequest) {
	if be.px.Balance != haproxycfg.URLParam || req.method != http.MethodPost || req.chunked || req.contentLength <= 0 {
		return
	}
	n := br.Buffered()
	if int64(n) > req.contentLength {
		n = int(req.contentLength)
	}
	req.bodyStart, _ = br.Peek(n)
}

// retryServer applies haproxy's choice for a failed connection in mode
// http (stream_choose_redispatch): with `option redispatch`, the retry
// goes back to load balancing when the server is not usable, on the last
// retry, or at each retry for an algorithm that is not a hash, over more
// than one usable server, when no cookie chose the server; otherwise it
// retries the same server. (haproxy 2.6.0's code read "roundrobin kind";
// 2.6.12 redispatches `balance first` and leastconn at once too,
// measured: %rc "+1" with retries 2.) It updates *srv, the counters and the log, and reports
// whether to wait haproxy's turn-around time first; err when no server
// can be had (the caller answers 503).
func retryServer(ctx context.Context, be *Backend, srv **Server, req *httpRequest, s *accesslog.Session, attempt int, timedOut bool) (wait bool, err error) {
	cur := *srv
	active := usableActives(be)
	direct := req.persist.direct(cur) || req.direct == cur
	if !be.px.Options.Redispatch || !(!cur.Usable() || attempt+1 == be.px.Retries || (!direct && active > 1 && !be.hash)) {
		be.ctr.retries.Add(1)
		cur.ctr.retries.Add(1)
		return !timedOut, nil
	}
	be.release(cur)
	*srv = nil
	req.direct = nil
	a, err := be.acquire(ctx, balance.Key{Client: s.Client.Addr(), Req: req}, cur, be.px.Timeouts.EffectiveQueue())
	if err != nil {
		return false, err
	}
	next := a.srv
	*srv = next
	req.persist.redispatched(next != cur)
	if req.persist != nil {
		req.persist.chosen = next
	}
	if next != cur {
		be.ctr.redispatches.Add(1)
		cur.ctr.redispatches.Add(1)
		s.Redisp = true
		s.ServerName = next.Name()
		next.ctr.total.Add(1)
		be.ctr.lbConns.Add(1)
		next.ctr.lastSession.Store(time.Now().UnixNano())
	} else {
		be.ctr.retries.Add(1)
		cur.ctr.retries.Add(1)
	}
	// No turn-around wait when load balancing moved the request on.
	return !timedOut && (be.hash || active <= 1), nil
}

// errStaticWeight is haproxy's answer to `set weight` on a backend whose
// algorithm cannot change weights at run time.
var errStaticWeight = errors.New("Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.")

// staticLB reports whether the algorithm takes no weight but 0 and the
// configured one at run time: static-rr and map-based hashing (haproxy's
// algorithms without BE_LB_PROP_DYN).
func (b *Backend) staticLB() bool {
	return b.px.Balance == haproxycfg.StaticRR || b.px.Balance.Hashed() && !b.px.HashType.Consistent
}
