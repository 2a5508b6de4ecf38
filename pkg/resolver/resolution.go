package resolver

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"time"

	"github.com/miekg/dns"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/health"
	"hapair/pkg/proxy"
)

// status is the outcome of a resolution, haproxy's RSLV_STATUS_*.
type status int

const (
	statusNone status = iota
	statusValid
	statusNX
	statusRefused
	statusTimeout
	statusOther
)

// resolution is one name asked of one resolvers section with one
// preferred type, shared by the servers of that name (haproxy's
// resolv_resolution): the first server is told of an answer as coming
// from the name server, the others as from the "DNS cache".
type resolution struct {
	r      *Resolver
	sec    *section
	name   string // fully qualified, lower case
	prefer uint16 // dns.TypeA or dns.TypeAAAA
	reqs   []*requester
	wake   chan struct{}

	// Guarded by r.mu.
	status         status
	lastValid      time.Time
	lastResolution time.Time
	items          []*item // ordered by key, then arrival
	// srv is set for an SRV query (prefer is dns.TypeSRV).
	srv *srvState
	// stopped: an A/AAAA resolution for SRV targets left without
	// servers (guarded by r.mu).
	stopped bool
}

// requester is a server following the name.
type requester struct {
	srv  *proxy.Server
	dns  haproxycfg.ServerDNS
	item *item // the record whose address the server took; nil = none
	// maint is haproxy's SRV_ADMF_RMAINT: no address from DNS, the
	// server in maintenance (resolution). Servers start in it when
	// their name did not resolve at start.
	maint bool
	// Of a server filled from SRV records: its record, the name it took
	// from it, the record's port while it has no address, and the
	// A/AAAA resolution of the target when no additional record gave
	// the address.
	srvItem *srvItem
	fqdn    string
	follow  *resolution
}

// hostname is the server's name as haproxy's messages show it: the one
// an SRV record gave, else the configured one.
func (q *requester) hostname() string {
	if q.fqdn != "" {
		return q.fqdn
	}
	return q.dns.Hostname
}

// item is one address record of the answers, kept until it has been
// missing from them for `hold obsolete`.
type item struct {
	addr     netip.Addr
	typ      uint16
	key      uint32
	lastSeen time.Time
}

// loop resolves the name every `timeout resolve`, or sooner when a check
// asks (Trigger).
func (res *resolution) loop(ctx context.Context) {
	defer res.r.wg.Done()
	for {
		res.r.mu.Lock()
		stopped := res.stopped
		res.r.mu.Unlock()
		if stopped {
			return
		}
		start := res.r.opts.Now()
		res.resolve(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := res.sec.cfg.TimeoutResolve - res.r.opts.Now().Sub(start)
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-res.wake:
			t.Stop()
		}
	}
}

// answer is what one name server said.
type answer struct {
	ns  string
	msg *dns.Msg
	st  status
}

// resolve runs one resolution: up to `resolve_retries` queries of the
// preferred type, each followed at once by one of the other type when a
// name server answers without an address (haproxy's A/AAAA fallback),
// each waiting `timeout retry` for the name servers.
func (res *resolution) resolve(ctx context.Context) {
	cfg := res.sec.cfg
	last := statusTimeout
	for try := 0; try < max(cfg.ResolveRetries, 1); try++ {
		deadline := res.r.opts.Now().Add(cfg.TimeoutRetry)
		a, got := res.query(ctx, res.queryType(), cfg.TimeoutRetry)
		if ctx.Err() != nil {
			return
		}
		if a != nil {
			res.validAny(a)
			return
		}
		if got != statusNone {
			last = got
			// No A/AAAA fallback for an SRV query.
			if res.srv == nil {
				a, got2 := res.query(ctx, other(res.prefer), cfg.TimeoutRetry)
				if ctx.Err() != nil {
					return
				}
				if a != nil {
					res.valid(a)
					return
				}
				if got2 != statusNone {
					last = got2
				}
			}
			// Wait for the end of the retry period before the next try.
			if d := deadline.Sub(res.r.opts.Now()); d > 0 && try+1 < max(cfg.ResolveRetries, 1) {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
			}
		} else {
			last = statusTimeout
		}
	}
	if res.srv != nil {
		res.failedSRV(last)
		return
	}
	res.failed(last)
}

// validAny applies a valid answer of either kind.
func (res *resolution) validAny(a *answer) {
	if res.srv != nil {
		res.validSRV(a)
		return
	}
	res.valid(a)
}

func other(t uint16) uint16 {
	if t == dns.TypeA {
		return dns.TypeAAAA
	}
	return dns.TypeA
}

// query asks every name server at once and returns the first valid
// answer, or else the status of the last invalid one (statusNone when
// none answered within timeout).
func (res *resolution) query(ctx context.Context, typ uint16, timeout time.Duration) (*answer, status) {
	cfg := res.sec.cfg
	m := new(dns.Msg)
	m.SetQuestion(res.name, typ)
	m.RecursionDesired = true
	m.SetEdns0(uint16(cfg.AcceptedPayloadSize), false)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ch := make(chan *answer, len(res.sec.nameservers))
	for _, ns := range res.sec.nameservers {
		go func(ns haproxycfg.Nameserver) {
			c := &dns.Client{Net: "udp", UDPSize: uint16(cfg.AcceptedPayloadSize), Timeout: timeout}
			in, _, err := c.ExchangeContext(ctx, m.Copy(), net.JoinHostPort(ns.Addr.Addr().String(), fmt.Sprint(ns.Addr.Port())))
			if err != nil {
				ch <- nil
				return
			}
			ch <- &answer{ns: ns.Name, msg: in, st: classify(in, typ)}
		}(ns)
	}
	got := statusNone
	for range res.sec.nameservers {
		a := <-ch
		if a == nil {
			continue
		}
		if a.st == statusValid {
			return a, statusValid
		}
		got = a.st
	}
	return nil, got
}

// classify is the status of an answer to a query of type typ (haproxy's
// resolv_validate_dns_response): an address of that type makes it valid.
func classify(m *dns.Msg, typ uint16) status {
	switch {
	case m.Rcode == dns.RcodeNameError:
		return statusNX
	case m.Rcode == dns.RcodeRefused:
		return statusRefused
	case m.Rcode != dns.RcodeSuccess, m.Truncated && typ != dns.TypeSRV, len(m.Answer) == 0:
		// haproxy reads a truncated SRV answer as it is.
		return statusOther
	}
	for _, rr := range m.Answer {
		if rr.Header().Rrtype == typ {
			return statusValid
		}
	}
	return statusOther
}

// queryType is the type a resolution asks first.
func (res *resolution) queryType() uint16 {
	if res.srv != nil {
		return dns.TypeSRV
	}
	return res.prefer
}

// valid applies a valid answer: the records are merged into the kept
// ones, those missing for longer than `hold obsolete` dropped, and each
// server given an address.
func (res *resolution) valid(a *answer) {
	r := res.r
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opts.Now()
	res.status, res.lastValid, res.lastResolution = statusValid, now, now
	for _, rr := range a.msg.Answer {
		var ip netip.Addr
		switch v := rr.(type) {
		case *dns.A:
			ip, _ = netip.AddrFromSlice(v.A.To4())
		case *dns.AAAA:
			ip, _ = netip.AddrFromSlice(v.AAAA.To16())
		default:
			continue
		}
		typ := rr.Header().Rrtype
		found := false
		for _, it := range res.items {
			if it.typ == typ && it.addr == ip {
				it.lastSeen, found = now, true
				break
			}
		}
		if !found {
			b := ip.AsSlice()
			it := &item{addr: ip, typ: typ, key: xxh32(b, uint32(typ)), lastSeen: now}
			// After the items of an equal key, as haproxy's tree does.
			i := sort.Search(len(res.items), func(i int) bool { return res.items[i].key > it.key })
			res.items = append(res.items, nil)
			copy(res.items[i+1:], res.items[i:])
			res.items[i] = it
		}
	}
	kept := res.items[:0]
	for _, it := range res.items {
		if it.lastSeen.Add(res.sec.cfg.HoldObsolete).Before(now) {
			for _, q := range res.reqs {
				if q.item == it {
					q.item = nil
				}
			}
			continue
		}
		kept = append(kept, it)
	}
	res.items = kept
	updater := res.sec.cfg.Name + "/" + a.ns
	for _, q := range res.reqs {
		res.apply(q, updater, now)
		updater = "DNS cache"
	}
}

// apply gives one server its address from the kept records (haproxy's
// snr_resolution_cb): a server keeps the record it holds; otherwise it
// takes the best scored one, the preferred family first, then one no
// other server of the backend holds, then its current address.
func (res *resolution) apply(q *requester, updater string, now time.Time) {
	if q.item != nil {
		res.update(q, false, now)
		return
	}
	cur, _ := netip.ParseAddr(q.srv.Host())
	var best, best4, best6 *item
	bestScore, curFound := -1, false
	for _, it := range res.items {
		score := 0
		if it.typ == res.prefer {
			score += 8
		}
		used := false
		for _, o := range res.reqs {
			if o != q && o.item == it && o.srv.Backend() == q.srv.Backend() {
				used = true
				break
			}
		}
		if used {
			if !q.dns.AllowDupIP {
				continue
			}
		} else {
			score += 2
		}
		isCur := cur.IsValid() && it.addr == cur
		if isCur {
			score++
		}
		if score > bestScore {
			if it.typ == dns.TypeA {
				best4 = it
			} else {
				best6 = it
			}
			best, bestScore, curFound = it, score, isCur
		}
	}
	if best == nil {
		res.update(q, true, now)
		return
	}
	chosen := best6
	if res.prefer == dns.TypeA && best4 != nil || best6 == nil {
		chosen = best4
	}
	q.item = best
	if !curFound {
		res.setAddr(q, chosen.addr, updater)
	}
	res.update(q, false, now)
}

// setAddr changes a server's address with haproxy's log line.
func (res *resolution) setAddr(q *requester, a netip.Addr, updater string) {
	old := q.srv.Host()
	if old == a.String() {
		return
	}
	if old == "" {
		old = "(none)"
	}
	px := q.srv.Backend().Proxy()
	q.srv.SetAddr(a)
	res.r.log(px, levelNotice, fmt.Sprintf("%s/%s changed its IP from %s to %s by %s.", px.Name, q.srv.Name(), old, a, updater))
}

// failed applies a resolution that got no valid answer.
func (res *resolution) failed(st status) {
	r := res.r
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opts.Now()
	res.status, res.lastResolution = st, now
	keep := false
	for _, q := range res.reqs {
		if !res.update(q, true, now) {
			keep = true
		} else {
			q.item = nil
		}
	}
	if !keep {
		res.items = nil
	}
}

// update sets a server's maintenance from the resolution's status
// (haproxy's snr_update_srv_status) and reports whether it changed. A
// failure takes the server's address away only once it has lasted
// longer than its `hold` period since the last valid answer.
func (res *resolution) update(q *requester, noIP bool, now time.Time) bool {
	cfg := res.sec.cfg
	maint := q.maint
	var hold time.Duration
	var why string
	switch res.status {
	case statusNone:
		return false
	case statusValid:
		if noIP {
			if maint {
				return false
			}
			res.enterMaint(q, "No IP for server ")
			return true
		}
		if !maint {
			return false
		}
		q.maint = false
		px := q.srv.Backend().Proxy()
		// The address was set by the answer; the server is back.
		res.r.log(px, levelNotice, fmt.Sprintf("Server %s/%s ('%s') is UP/READY (resolves again).", px.Name, q.srv.Name(), q.hostname()))
		res.r.log(px, levelNotice, fmt.Sprintf("Server %s/%s administratively READY thanks to valid DNS answer.", px.Name, q.srv.Name()))
		return true
	case statusNX:
		hold, why = cfg.HoldNX, "DNS NX status"
	case statusTimeout:
		hold, why = cfg.HoldTimeout, "DNS timeout status"
	case statusRefused:
		hold, why = cfg.HoldRefused, "DNS refused status"
	default:
		hold, why = cfg.HoldOther, "unspecified DNS error"
	}
	if !res.lastValid.IsZero() && now.Before(res.lastValid.Add(hold)) {
		return false
	}
	if maint {
		return false
	}
	res.enterMaint(q, why)
	return true
}

// enterMaint takes the server's address away: maintenance (resolution).
func (res *resolution) enterMaint(q *requester, why string) {
	s := q.srv
	b := s.Backend()
	px := b.Proxy()
	st := s.Stats()
	s.SetAddr(netip.Addr{})
	q.item, q.maint = nil, true
	kind := "Server"
	if s.Backup() {
		kind = "Backup Server"
	}
	act, bck := usable(b)
	res.r.log(px, levelAlert, fmt.Sprintf("%s %s/%s is going DOWN for maintenance (%s). %s %d sessions active, %d requeued, %d remaining in queue.",
		kind, px.Name, s.Name(), why, health.ServersLeft(act, bck), st.CurSessions, 0, st.QueueCur))
	if act+bck == 0 {
		// haproxy names a listen section "proxy" there.
		kind := "backend"
		if px.Kind == haproxycfg.KindListen {
			kind = "proxy"
		}
		res.r.log(px, levelEmerg, fmt.Sprintf("%s %s has no server available!", kind, px.Name))
	}
}
