// Package stats renders the counters of a running gproxy as haproxy 2.6
// does: the stats CSV (management guide, section 9.1), the HTML stats page
// (configuration manual, "stats enable" and friends) and the Prometheus
// exporter's text (`http-request use-service prometheus-exporter`).
package stats

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/health"
	"hapair/pkg/proxy"
)

// Version is what the page and `show info` report as haproxy's version:
// the release gproxy matches.
const (
	Version     = "2.6.12-1+deb12u4"
	ReleaseDate = "2026/10/17"
)

// Source is where the statistics come from.
type Source struct {
	Config *haproxycfg.Config
	Engine *proxy.Engine
	Checks *health.Monitor // nil when no server is checked
	PID    int             // the OS process id
	Start  time.Time       // when the process started
	Now    func() time.Time
	// UserWeight is the weight an operator set (runtimeapi), shown for
	// servers whose effective weight is 0 while draining; nil means the
	// configured weight.
	UserWeight func(*proxy.Server) int
	// Admin applies the stats page's admin form (`stats admin`); nil
	// leaves every server as it is.
	Admin AdminFunc

	legends bool // addr and algo: the CLI always, HTTP with `stats show-legends`
}

func (s *Source) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Kind is the type of a row (the CSV's "type" field).
type Kind int

// The row kinds, numbered as the CSV's type field.
const (
	KindFrontend Kind = 0
	KindBackend  Kind = 1
	KindServer   Kind = 2
)

// Row is one line of the stats: a frontend, a backend or a server.
type Row struct {
	Kind     Kind
	Proxy    *haproxycfg.Proxy
	Frontend *proxy.Frontend // KindFrontend
	Backend  *proxy.Backend  // KindBackend and KindServer
	Server   *proxy.Server   // KindServer
	Stats    proxy.Stats
	Check    *health.Snapshot // checked servers
	Fields   map[string]string
}

// Name is the svname: FRONTEND, BACKEND or the server's name.
func (r *Row) Name() string { return r.Fields["svname"] }

// Get returns a field as the CSV shows it ("" when empty).
func (r *Row) Get(name string) string {
	i := ColumnIndex(name)
	if i < 0 {
		return ""
	}
	return r.value(i)
}

func (r *Row) value(i int) string {
	c := columns[i]
	v, ok := r.Fields[c.name]
	if c.kinds == "" {
		return ""
	}
	if strings.Contains(c.kinds, "?") && ok {
		return v
	}
	mode := "t"
	if r.Proxy.Mode == haproxycfg.ModeHTTP {
		mode = "h"
	}
	tag := string("FBS"[r.Kind]) + mode
	if !strings.Contains(c.kinds, tag) {
		return ""
	}
	if !ok {
		return "0"
	}
	return v
}

// Rows are the rows haproxy prints, in its order: per proxy in file order,
// its FRONTEND, its servers, its BACKEND.
func (s *Source) Rows() []*Row {
	var rows []*Row
	for _, px := range s.Config.Proxies {
		if px.Kind.HasFrontend() {
			if f := s.Engine.Frontend(px.Name); f != nil && f.Proxy() == px {
				rows = append(rows, s.frontendRow(f))
			}
		}
		if px.Kind.HasBackend() {
			if b := s.Engine.Backend(px.Name); b != nil && b.Proxy() == px {
				for _, sv := range b.Servers() {
					rows = append(rows, s.serverRow(b, sv))
				}
				rows = append(rows, s.backendRow(b))
			}
		}
	}
	return rows
}

func itoa[T ~int | ~int64](v T) string { return strconv.FormatInt(int64(v), 10) }

func secondsSince(now, t time.Time) string {
	if t.IsZero() {
		return "-1"
	}
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	return itoa(int64(d / time.Second))
}

// common fills the fields every kind shares.
func (s *Source) common(px *haproxycfg.Proxy, st proxy.Stats, svname string, kind Kind, sid int) map[string]string {
	return map[string]string{
		"pxname": px.Name, "svname": svname,
		"scur": itoa(st.CurSessions), "smax": itoa(st.MaxSessions), "stot": itoa(st.TotalSessions),
		"bin": itoa(st.BytesIn), "bout": itoa(st.BytesOut),
		"pid": "1", "iid": itoa(px.ID), "sid": itoa(sid), "type": itoa(kind),
		"rate": itoa(st.SessionRate), "rate_max": itoa(st.MaxSessionRate),
		"mode": px.Mode.String(), "-": "-",
		"hrsp_1xx": itoa(st.Responses[1]), "hrsp_2xx": itoa(st.Responses[2]), "hrsp_3xx": itoa(st.Responses[3]),
		"hrsp_4xx": itoa(st.Responses[4]), "hrsp_5xx": itoa(st.Responses[5]), "hrsp_other": itoa(st.Responses[0]),
		"dresp": itoa(st.DeniedResp), "wrew": itoa(st.FailedRewrites), "eint": itoa(st.InternalErrors),
	}
}

func (s *Source) frontendRow(f *proxy.Frontend) *Row {
	px, st := f.Proxy(), f.Stats()
	m := s.common(px, st, "FRONTEND", KindFrontend, 0)
	m["slim"] = itoa(f.MaxConn())
	m["status"] = "OPEN"
	if st.Status == proxy.StatusStop {
		m["status"] = "STOP"
	}
	m["dcon"], m["dses"] = itoa(st.Denied), itoa(st.DeniedSess)
	m["dreq"], m["ereq"], m["intercepted"] = itoa(st.DeniedReq), itoa(st.FailedReq), itoa(st.Intercepted)
	m["comp_in"], m["comp_out"], m["comp_byp"], m["comp_rsp"] = itoa(st.CompIn), itoa(st.CompOut), itoa(st.CompBypassed), itoa(st.CompResponses)
	m["conn_rate"], m["conn_rate_max"], m["conn_tot"] = itoa(st.SessionRate), itoa(st.MaxSessionRate), itoa(st.Conns)
	m["req_rate"], m["req_rate_max"], m["req_tot"] = itoa(st.ReqRate), itoa(st.MaxReqRate), itoa(st.Requests)
	if px.Mode == haproxycfg.ModeHTTP {
		m["h1_total_connections"], m["h1_total_streams"] = itoa(st.TotalSessions), itoa(st.H1.TotalStreams)
		m["h1_open_connections"], m["h1_open_streams"] = itoa(st.CurSessions), itoa(st.CurSessions)
		m["h1_bytes_in"], m["h1_bytes_out"] = itoa(st.H1.BytesIn), itoa(st.H1.BytesOut)
		h2Fields(m, st.H2)
	}
	return &Row{Kind: KindFrontend, Proxy: px, Frontend: f, Stats: st, Fields: m}
}

func (s *Source) backendRow(b *proxy.Backend) *Row {
	px, st, now := b.Proxy(), b.Stats(), s.now()
	m := s.common(px, st, "BACKEND", KindBackend, 0)
	m["qcur"], m["qmax"] = itoa(st.QueueCur), itoa(st.QueueMax)
	m["slim"] = itoa(b.FullConn())
	m["econ"], m["wretr"], m["wredis"] = itoa(st.ConnErrors), itoa(st.Retries), itoa(st.Redispatches)
	m["status"] = "UP"
	// haproxy reports a backend without servers (a stats listen) UP.
	if len(b.Servers()) > 0 && !backendUp(b) {
		m["status"] = "DOWN"
	}
	act, bck, weight := b.InUse()
	m["weight"], m["uweight"] = itoa(weight), itoa(weight)
	m["act"], m["bck"] = itoa(act), itoa(bck)
	m["chkdown"] = itoa(s.Checks.BackendDowns(b))
	m["lastchg"] = secondsSince(now, st.LastChange)
	if st.LastChange.IsZero() {
		m["lastchg"] = secondsSince(now, s.Start)
	}
	if len(b.Servers()) > 0 {
		m["downtime"] = "0"
		if m["status"] == "DOWN" && !st.LastChange.IsZero() {
			m["downtime"] = secondsSince(now, st.LastChange)
		}
	}
	m["lbtot"], m["connect"], m["reuse"] = itoa(st.LBConns), itoa(st.Connects), itoa(st.Reuses)
	if px.Mode == haproxycfg.ModeHTTP {
		// The server side's HTTP/1 connections (h2 servers not counted).
		m["h1_open_connections"], m["h1_total_connections"] = itoa(st.H1.OpenConns), itoa(st.H1.TotalConns)
		m["h1_total_streams"] = itoa(st.H1.TotalStreams)
		m["h1_bytes_in"], m["h1_bytes_out"] = itoa(st.H1.BytesIn), itoa(st.H1.BytesOut)
		h2Fields(m, st.H2)
	}
	m["cli_abrt"], m["srv_abrt"] = itoa(st.ClientAborts), itoa(st.ServerAborts)
	m["dreq"], m["eresp"] = itoa(st.DeniedReq), itoa(st.FailedResp)
	m["comp_in"], m["comp_out"], m["comp_byp"], m["comp_rsp"] = itoa(st.CompIn), itoa(st.CompOut), itoa(st.CompBypassed), itoa(st.CompResponses)
	m["lastsess"] = secondsSince(now, st.LastSession)
	if s.legends {
		m["algo"] = b.Policy()
	}
	m["req_tot"] = itoa(st.Requests)
	return &Row{Kind: KindBackend, Proxy: px, Backend: b, Stats: st, Fields: m}
}

// serverStatus is the status column of a server.
func serverStatus(sv *proxy.Server, st proxy.Stats, snap *health.Snapshot) string {
	switch st.Status {
	case proxy.StatusMaint:
		if sv.Unresolved() {
			return "MAINT (resolution)"
		}
		if via := sv.InheritedMaint(); via != nil {
			// The server it tracks, even when that one inherits it.
			return "MAINT (via " + via.Backend().Name() + "/" + via.Name() + ")"
		}
		return "MAINT"
	case proxy.StatusDrain:
		if snap == nil || snap.State.Up() {
			return "DRAIN"
		}
	case proxy.StatusNolb:
		// haproxy: "NOLB", or "NOLB 1/3" while checks take it down.
		if snap != nil && snap.State.Health < snap.State.Rise+snap.State.Fall-1 {
			return fmt.Sprintf("NOLB %d/%d", snap.State.Health-snap.State.Rise+1, snap.State.Fall)
		}
		return "NOLB"
	}
	if snap == nil {
		if st.Status == proxy.StatusDown {
			return "DOWN"
		}
		return "no check"
	}
	return snap.State.Text()
}

func (s *Source) serverRow(b *proxy.Backend, sv *proxy.Server) *Row {
	px, st, now := b.Proxy(), sv.Stats(), s.now()
	m := s.common(px, st, sv.Name(), KindServer, sv.ID())
	cfg := sv.Config()
	m["qcur"], m["qmax"] = itoa(st.QueueCur), itoa(st.QueueMax)
	if mc := sv.MaxConn(); mc > 0 {
		m["slim"] = itoa(mc)
	}
	if cfg.MaxQueue > 0 {
		m["qlimit"] = itoa(cfg.MaxQueue)
	}
	if st.Throttle > 0 {
		m["throttle"] = itoa(st.Throttle)
	}
	m["econ"], m["wretr"], m["wredis"] = itoa(st.ConnErrors), itoa(st.Retries), itoa(st.Redispatches)
	w, uw := st.Weight, sv.ConfigWeight()
	if s.UserWeight != nil {
		uw = s.UserWeight(sv)
	}
	if sv.AdminState() == proxy.AdminDrain || sv.Stopping() {
		// haproxy shows the user weight of a draining or soft-stopping
		// server.
		w = uw
	}
	m["weight"], m["uweight"] = itoa(w), itoa(uw)
	if sv.Backup() {
		m["act"], m["bck"] = "0", "1"
	} else {
		m["act"], m["bck"] = "1", "0"
	}
	m["lastchg"] = secondsSince(now, st.LastChange)
	if st.LastChange.IsZero() {
		m["lastchg"] = secondsSince(now, s.Start)
	}
	m["lbtot"], m["connect"], m["reuse"] = itoa(st.TotalSessions), itoa(st.Connects), itoa(st.Reuses)
	m["cli_abrt"], m["srv_abrt"] = itoa(st.ClientAborts), itoa(st.ServerAborts)
	m["eresp"] = itoa(st.FailedResp)
	m["lastsess"] = secondsSince(now, st.LastSession)
	if s.legends {
		m["addr"] = sv.StatsAddr()
	}
	m["req_tot"] = itoa(st.Requests)
	m["srv_icur"], m["used_conn_cur"] = itoa(st.IdleConns+st.SafeConns), itoa(st.CurSessions)
	m["idle_conn_cur"], m["safe_conn_cur"] = itoa(st.IdleConns), itoa(st.SafeConns)
	if n := cfg.Pool().MaxConn; n != -1 {
		m["src_ilim"] = itoa(n) // pool-max-conn, when set
	}
	m["need_conn_est"] = itoa(st.NeedConns)
	var snapp *health.Snapshot
	if snap, ok := s.Checks.Snapshot(sv); ok && !snap.Disabled {
		snapp = &snap
		m["chkfail"], m["chkdown"] = itoa(snap.Failures), itoa(snap.Downs)
		down := snap.Downtime
		if st.Status == proxy.StatusMaint && !st.LastChange.IsZero() {
			down += now.Sub(st.LastChange)
		}
		m["downtime"] = itoa(int64(down / time.Second))
		// haproxy pauses the check of a server in maintenance and
		// blanks its columns (the counters above stay).
		if snap.Last.Code != health.CodeNone && sv.AdminState() != proxy.AdminMaint {
			m["check_status"] = snap.Last.Code.String()
			if snap.InProgress {
				m["check_status"] = "* " + m["check_status"]
			}
			m["check_duration"] = itoa(snap.Last.Duration.Milliseconds())
			if snap.Last.Duration < 0 {
				// No check made it (HANA): haproxy prints its -1 as
				// an unsigned 64-bit number.
				m["check_duration"] = "18446744073709551615"
			}
			m["check_desc"] = snap.Last.Code.Desc()
			if snap.Last.Code.HasData() {
				m["check_code"] = itoa(snap.Last.HTTP)
				if snap.InProgress && snap.Probe.Type != haproxycfg.CheckExternal {
					m["check_code"] = "0" // haproxy resets the code when a check starts
				}
			}
			if snap.Last.Info != "" && !snap.InProgress {
				m["last_chk"] = snap.Last.Info
			}
			m["check_rise"], m["check_fall"], m["check_health"] = itoa(snap.State.Rise), itoa(snap.State.Fall), itoa(snap.State.Health)
		}
	}
	statusSnap := snapp
	root := sv
	for r := s.Checks.Tracked(root); r != nil; r = s.Checks.Tracked(r) {
		root = r
	}
	if root.Config().Observe != haproxycfg.ObserveNone {
		// haproxy fills hanafail when the end of the tracking chain
		// has `observe`; the count is the server's own.
		var n int64
		if snapp != nil {
			n = snapp.HanaFails
		}
		m["hanafail"] = itoa(n)
	}
	if ref := s.Checks.Tracked(sv); ref != nil {
		// haproxy's tracked column, and the status computed with the
		// health of the server at the end of the tracking chain.
		m["tracked"] = ref.Backend().Name() + "/" + ref.Name()
		for r := s.Checks.Tracked(ref); r != nil; r = s.Checks.Tracked(r) {
			ref = r
		}
		if snap, ok := s.Checks.Snapshot(ref); ok && !snap.Disabled {
			statusSnap = &snap
		}
	}
	ag, hasAgent := s.Checks.Agent(sv)
	if hasAgent && ag.Enabled {
		status := ag.Last.Code.String()
		if ag.InProgress {
			status = "* " + status
		}
		m["agent_status"] = status
		if ag.Last.Code.HasData() {
			m["agent_code"] = itoa(ag.Last.HTTP)
		}
		m["agent_duration"] = itoa(ag.Last.Duration.Milliseconds())
		m["agent_desc"] = ag.Last.Code.Desc()
		if !ag.InProgress {
			m["last_agt"] = ag.Last.Info
		}
		m["agent_rise"], m["agent_fall"], m["agent_health"] = itoa(ag.State.Rise), itoa(ag.State.Fall), itoa(ag.State.Health)
	}
	m["status"] = serverStatus(sv, st, statusSnap)
	if hasAgent && ag.Enabled {
		switch {
		case st.Status == proxy.StatusDown && ag.State.Health == 0:
			m["status"] = "DOWN (agent)"
		case st.Status == proxy.StatusDrain:
			m["status"] = "DRAIN (agent)"
		}
	}
	return &Row{Kind: KindServer, Proxy: px, Backend: b, Server: sv, Stats: st, Check: snapp, Fields: m}
}

// csvField encodes a field as haproxy's csv_enc_append with automatic
// quoting: a field holding a comma, a quote or a line break is quoted,
// its quotes doubled ("Detected 2 consecutive errors, last one was: ..."
// in last_chk, seen on haproxy 2.6.12).
func csvField(s string) string {
	if !strings.ContainsAny(s, "\n\r,\"") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// Filter selects rows as `show stat <iid> <type> <sid>` does: -1 means
// any; Types is a mask of 1 << Kind.
type Filter struct {
	IID, Types, SID int
	Scope           string // proxies whose name holds it, in any case (the page's scope)
	// HideDown (`up`, `;up`) hides the servers in maintenance and those
	// down for good; HideMaint (`no-maint`, `;no-maint`) those in
	// maintenance. With either, a backend's status shows how many of its
	// servers are up, "UP (1/2)", as haproxy's stats_fill_be_stats does.
	HideDown, HideMaint bool
}

// filtered returns the rows f selects, with the backend statuses the
// hiding filters change.
func (s *Source) filtered(f Filter) []*Row {
	var out []*Row
	for _, r := range s.Rows() {
		if !f.match(r) {
			continue
		}
		if r.Kind == KindBackend && (f.HideDown || f.HideMaint) {
			up, all := 0, 0
			for _, sv := range r.Backend.Servers() {
				all++
				if st := sv.Stats().Status; st != proxy.StatusDown && st != proxy.StatusMaint {
					up++
				}
			}
			r.Fields["status"] += fmt.Sprintf(" (%d/%d)", up, all)
		}
		out = append(out, r)
	}
	return out
}

// hiddenServer tells whether the hiding filters drop a server row: as
// haproxy, `no-maint` drops the servers in maintenance, `up` those too and
// the down ones that no check or agent is bringing back (health 0).
func (f Filter) hiddenServer(r *Row) bool {
	if r.Kind != KindServer || !f.HideDown && !f.HideMaint {
		return false
	}
	maint := r.Stats.Status == proxy.StatusMaint
	if maint {
		return true
	}
	if !f.HideDown || r.Stats.Status != proxy.StatusDown {
		return false
	}
	check := r.Check != nil
	agent := r.Fields["agent_health"] != ""
	return !check && !agent || agent && r.Fields["agent_health"] == "0" || check && r.Check.State.Health == 0
}

func (f Filter) match(r *Row) bool {
	if f.IID != -1 && r.Proxy.ID != f.IID {
		return false
	}
	if f.Scope != "" && !strings.Contains(strings.ToLower(r.Proxy.Name), strings.ToLower(f.Scope)) {
		return false
	}
	if f.Types != -1 && f.Types&(1<<r.Kind) == 0 {
		return false
	}
	if f.hiddenServer(r) {
		return false
	}
	return f.SID == -1 || r.Kind != KindServer || r.Server.ID() == f.SID
}

// WriteCSV writes the header and every row, as `;csv` and `show stat` do.
// legends adds the server addresses and balancing algorithms, which haproxy
// shows on the stats socket and, over HTTP, only with `stats show-legends`.
func (s *Source) WriteCSV(w io.Writer, legends bool) error {
	return s.WriteCSVFiltered(w, legends, Filter{IID: -1, Types: -1, SID: -1})
}

// WriteCSVFiltered writes the header and the rows the filter selects.
func (s *Source) WriteCSVFiltered(w io.Writer, legends bool, f Filter) error {
	c := *s
	c.legends = legends
	s = &c
	var b strings.Builder
	b.WriteString(Header())
	b.WriteByte('\n')
	for _, r := range s.filtered(f) {
		for i := range columns {
			b.WriteString(csvField(r.value(i)))
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("stats: writing CSV: %w", err)
	}
	return nil
}

// backendUp reports whether some server takes new traffic; haproxy counts
// a backend whose only servers drain as DOWN.
func backendUp(b *proxy.Backend) bool {
	for _, sv := range b.Servers() {
		if sv.Usable() && sv.Weight() > 0 {
			return true
		}
	}
	return false
}

// h2Fields are the h2_* columns: the HTTP/2 multiplexer's counters of a
// frontend (its clients) or a backend (its servers).
func h2Fields(m map[string]string, h2 proxy.H2Stats) {
	m["h2_headers_rcvd"], m["h2_data_rcvd"], m["h2_settings_rcvd"] = itoa(h2.HeadersRcvd), itoa(h2.DataRcvd), itoa(h2.SettingsRcvd)
	m["h2_rst_stream_rcvd"], m["h2_goaway_rcvd"] = itoa(h2.RstRcvd), itoa(h2.GoawayRcvd)
	m["h2_detected_conn_protocol_errors"], m["h2_detected_strm_protocol_errors"] = itoa(h2.ConnProtoErr), itoa(h2.StrmProtoErr)
	m["h2_rst_stream_resp"], m["h2_goaway_resp"] = itoa(h2.RstResp), itoa(h2.GoawayResp)
	m["h2_open_connections"], m["h2_backend_open_streams"] = itoa(h2.OpenConns), itoa(h2.OpenStreams)
	m["h2_total_connections"], m["h2_backend_total_streams"] = itoa(h2.TotalConns), itoa(h2.TotalStreams)
}
