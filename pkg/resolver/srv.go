package resolver

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// srvItem is one SRV record of the answers (haproxy's answer item of
// type SRV), kept until missing for `hold obsolete`, with the address
// record of its target found in the additional section, if any.
type srvItem struct {
	target   string // fully qualified, as received (haproxy compares it byte for byte)
	port     uint16
	weight   uint16
	key      uint32
	lastSeen time.Time
	ar       *item
	servers  []*requester // attached servers, in attachment order
}

// srvState is the SRV part of a resolution of a `_service._proto.name`
// (haproxy's resolv_srvrq): the servers of the template, the free ones
// first in configuration order.
type srvState struct {
	items []*srvItem
	free  []*requester
}

// dnLabelKey is haproxy's key of an SRV record: the hash of its target
// in DNS label form without the final empty label, seeded with the type.
func dnLabelKey(name string) uint32 {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(name, buf, 0, nil, false)
	if err != nil || n == 0 {
		return 0
	}
	return xxh32(buf[:n-1], uint32(dns.TypeSRV))
}

// validSRV applies a valid answer to an SRV query, as haproxy's
// resolv_validate_dns_response and resolv_check_response do.
func (res *resolution) validSRV(a *answer) {
	r := res.r
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opts.Now()
	st := res.srv
	res.status, res.lastValid, res.lastResolution = statusValid, now, now
	for _, rr := range a.msg.Answer {
		v, ok := rr.(*dns.SRV)
		if !ok {
			continue
		}
		target := dns.Fqdn(v.Target)
		found := false
		for _, it := range st.items {
			if it.target == target && it.port == v.Port {
				it.weight, it.lastSeen, found = v.Weight, now, true
				break
			}
		}
		if found {
			continue
		}
		it := &srvItem{target: target, port: v.Port, weight: v.Weight, key: dnLabelKey(target), lastSeen: now}
		i := sort.Search(len(st.items), func(i int) bool { return st.items[i].key > it.key })
		st.items = append(st.items, nil)
		copy(st.items[i+1:], st.items[i:])
		st.items[i] = it
	}
	for _, rr := range a.msg.Extra {
		var ip netip.Addr
		switch v := rr.(type) {
		case *dns.A:
			ip, _ = netip.AddrFromSlice(v.A.To4())
		case *dns.AAAA:
			ip, _ = netip.AddrFromSlice(v.AAAA.To16())
		default:
			continue
		}
		name := dns.Fqdn(rr.Header().Name)
		typ := rr.Header().Rrtype
		found := false
		for _, it := range st.items {
			if it.ar != nil && it.ar.typ == typ && !it.ar.lastSeen.Equal(now) && it.target == name && it.ar.addr == ip {
				it.ar.lastSeen, found = now, true
				break
			}
		}
		if found {
			continue
		}
		for _, it := range st.items {
			if it.ar == nil && it.target == name {
				it.ar = &item{addr: ip, typ: typ, lastSeen: now}
				break
			}
		}
	}
	res.checkSRV(now)
}

// checkSRV drops the obsolete records, freeing their servers, and gives
// each record a server: the one already attached, else the first free
// one (haproxy's resolv_check_response).
func (res *resolution) checkSRV(now time.Time) {
	st := res.srv
	hold := res.sec.cfg.HoldObsolete
	kept := st.items[:0]
	for _, it := range st.items {
		if it.ar != nil && it.ar.lastSeen.Add(hold).Before(now) {
			it.ar = nil
		}
		if it.lastSeen.Add(hold).Before(now) {
			for _, q := range it.servers {
				res.cleanupSRV(q)
			}
			continue
		}
		kept = append(kept, it)
		var q *requester
		if len(it.servers) > 0 {
			q = it.servers[0]
		} else if len(st.free) > 0 {
			q, st.free = st.free[0], st.free[1:]
			it.servers = append(it.servers, q)
		} else {
			continue
		}
		q.srvItem = it
		port := int(it.port)
		if it.ar != nil {
			res.setAddrPort(q, it.ar.addr, q.srv.Port(), "DNS additional record")
			res.r.unfollow(q)
		}
		if q.fqdn == "" {
			px := q.srv.Backend().Proxy()
			name := strings.TrimSuffix(it.target, ".")
			q.srv.SetFQDN(name)
			res.r.log(px, levelNotice, fmt.Sprintf("%s/%s changed its FQDN from (null) to %s by 'SRV record'", px.Name, q.srv.Name(), name))
			q.fqdn = name
		}
		if it.ar == nil && q.follow == nil {
			res.r.follow(res.sec, q, it.target)
		}
		has := q.srv.Host() != ""
		if has && q.maint {
			q.maint = false
			q.srv.SetAddrPort(mustAddr(q.srv.Host()), port)
			px := q.srv.Backend().Proxy()
			// haproxy's srvrq_update_srv_status clears the flag without
			// the "administratively READY thanks to valid DNS answer"
			// line of a server's own resolution (measured).
			res.r.log(px, levelNotice, fmt.Sprintf("Server %s/%s ('%s') is UP/READY (resolves again).", px.Name, q.srv.Name(), q.fqdn))
		} else if !has && !q.maint {
			res.enterMaint(q, "entry removed from SRV record")
		}
		// svc_port: the record's port, with or without an address.
		q.srv.SetAddrPort(mustAddr(q.srv.Host()), port)
		if !q.dns.IgnoreWeight {
			_ = q.srv.SetWeight((int(it.weight) + 255) / 256)
		}
	}
	st.items = kept
}

// cleanupSRV frees a server whose record is gone: maintenance, no name,
// no address, no port (haproxy's resolv_srvrq_cleanup_srv); it goes last
// in the free list.
func (res *resolution) cleanupSRV(q *requester) {
	if q.follow != nil {
		res.r.unfollow(q)
	}
	if !q.maint {
		res.enterMaint(q, "entry removed from SRV record")
	}
	q.srv.SetFQDN("")
	q.srv.SetAddrPort(netip.Addr{}, 0)
	q.fqdn, q.srvItem, q.item = "", nil, nil
	res.srv.free = append(res.srv.free, q)
}

// setAddrPort is setAddr keeping a port.
func (res *resolution) setAddrPort(q *requester, a netip.Addr, port int, updater string) {
	old := q.srv.Host()
	if old == a.String() {
		return
	}
	if old == "" {
		old = "(none)"
	}
	px := q.srv.Backend().Proxy()
	q.srv.SetAddrPort(a, port)
	res.r.log(px, levelNotice, fmt.Sprintf("%s/%s changed its IP from %s to %s by %s.", px.Name, q.srv.Name(), old, a, updater))
}

// mustAddr is the address of a server's Host; the zero Addr for none.
func mustAddr(s string) netip.Addr { a, _ := netip.ParseAddr(s); return a }

// follow links a server filled from an SRV record without an additional
// record to an A/AAAA resolution of the record's target, shared with
// the other servers asking the same name of the same section (haproxy's
// resolv_link_resolution from resolv_check_response). Called with r.mu.
func (r *Resolver) follow(sec *section, q *requester, target string) {
	typ := dns.TypeAAAA
	if q.dns.PreferIPv4 {
		typ = dns.TypeA
	}
	k := resKey{sec, strings.ToLower(target), typ}
	res := r.byKey[k]
	if res == nil {
		res = &resolution{r: r, sec: sec, name: k.name, prefer: typ, wake: make(chan struct{}, 1)}
		r.byKey[k] = res
		if r.ctx != nil {
			r.wg.Add(1)
			go res.loop(r.ctx)
		}
	}
	res.reqs = append(res.reqs, q)
	q.follow = res
}

// unfollow unlinks a server from its A/AAAA resolution; a resolution
// left without servers stops (haproxy aborts it). Called with r.mu.
func (r *Resolver) unfollow(q *requester) {
	res := q.follow
	if res == nil {
		return
	}
	q.follow, q.item = nil, nil
	for i, o := range res.reqs {
		if o == q {
			res.reqs = append(res.reqs[:i:i], res.reqs[i+1:]...)
			break
		}
	}
	if len(res.reqs) == 0 {
		for k, v := range r.byKey {
			if v == res {
				delete(r.byKey, k)
			}
		}
		res.stopped = true
	}
}

// failedSRV applies an SRV resolution without a valid answer: once the
// hold period of its status has passed since the last valid answer, the
// servers lose their records (haproxy's srvrq_resolution_error_cb, then
// resolv_detach_from_resolution_answer_items).
func (res *resolution) failedSRV(st status) {
	r := res.r
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opts.Now()
	res.status, res.lastResolution = st, now
	cfg := res.sec.cfg
	var hold time.Duration
	switch st {
	case statusNX:
		hold = cfg.HoldNX
	case statusTimeout:
		hold = cfg.HoldTimeout
	case statusRefused:
		hold = cfg.HoldRefused
	default:
		hold = cfg.HoldOther
	}
	if !res.lastValid.IsZero() && now.Before(res.lastValid.Add(hold)) {
		return
	}
	for _, it := range res.srv.items {
		for _, q := range it.servers {
			res.cleanupSRV(q)
		}
	}
	res.srv.items = nil
}
