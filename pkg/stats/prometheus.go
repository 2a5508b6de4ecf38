package stats

import (
	"fmt"
	"io"
	"strings"
	"time"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/health"
	"hapair/pkg/proxy"
)

// metric is one series family of haproxy 2.6's Prometheus exporter (its
// names, labels and types; gproxy keeps a subset of its counters).
type metric struct {
	name, typ, help string
	value           func(r *Row) string // nil with states
	states          []string            // per-state series ("state" label)
	state           func(r *Row) string
	// httpOnly: only mode http proxies have the family; codes: one
	// series per status class ("code" label, the class outermost, as
	// haproxy prints them), value then unused.
	httpOnly, codes bool
}

// codeLabels are the "code" label values of http_responses_total, with
// the index of their class in proxy.Stats.Responses.
var codeLabels = []struct {
	label string
	i     int
}{{"1xx", 1}, {"2xx", 2}, {"3xx", 3}, {"4xx", 4}, {"5xx", 5}, {"other", 0}}

const sinceStart = " since the worker process started"

// httpMetrics are the HTTP counter families a frontend or backend shares.
func httpMetrics(prefix string) []metric {
	return []metric{
		{name: prefix + "http_requests_total", typ: "counter", httpOnly: true, help: "Total number of HTTP requests processed by this object" + sinceStart, value: num(func(s proxy.Stats) int64 { return s.Requests })},
		{name: prefix + "http_responses_total", typ: "counter", httpOnly: true, codes: true, help: "Total number of HTTP responses with status 100-199 returned by this object" + sinceStart},
		{name: prefix + "http_comp_bytes_in_total", typ: "counter", httpOnly: true, help: "Total number of bytes submitted to the HTTP compressor for this object" + sinceStart, value: num(func(s proxy.Stats) int64 { return s.CompIn })},
		{name: prefix + "http_comp_bytes_out_total", typ: "counter", httpOnly: true, help: "Total number of bytes emitted by the HTTP compressor for this object" + sinceStart, value: num(func(s proxy.Stats) int64 { return s.CompOut })},
		{name: prefix + "http_comp_bytes_bypassed_total", typ: "counter", httpOnly: true, help: "Total number of bytes that bypassed HTTP compression for this object" + sinceStart + " (CPU/memory/bandwidth limitation)", value: num(func(s proxy.Stats) int64 { return s.CompBypassed })},
		{name: prefix + "http_comp_responses_total", typ: "counter", httpOnly: true, help: "Total number of HTTP responses that were compressed for this object" + sinceStart, value: num(func(s proxy.Stats) int64 { return s.CompResponses })},
	}
}

func num(f func(st proxy.Stats) int64) func(r *Row) string {
	return func(r *Row) string { return itoa(f(r.Stats)) }
}

func field(name string) func(r *Row) string {
	return func(r *Row) string {
		if v := r.Fields[name]; v != "" {
			return v
		}
		return "0"
	}
}

var (
	serverStates = []string{"DOWN", "UP", "MAINT", "DRAIN", "NOLB"}
	checkStates  = []string{"HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP", "L7TOUT", "L7RSP", "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK"}
)

func common(prefix string) []metric {
	return []metric{
		{name: prefix + "current_sessions", typ: "gauge", help: "Current number of active sessions.", value: num(func(s proxy.Stats) int64 { return s.CurSessions })},
		{name: prefix + "max_sessions", typ: "gauge", help: "Maximum observed number of active sessions.", value: num(func(s proxy.Stats) int64 { return s.MaxSessions })},
		{name: prefix + "limit_sessions", typ: "gauge", help: "Configured session limit.", value: field("slim")},
		{name: prefix + "sessions_total", typ: "counter", help: "Total number of sessions.", value: num(func(s proxy.Stats) int64 { return s.TotalSessions })},
		{name: prefix + "bytes_in_total", typ: "counter", help: "Total number of request bytes.", value: num(func(s proxy.Stats) int64 { return s.BytesIn })},
		{name: prefix + "bytes_out_total", typ: "counter", help: "Total number of response bytes.", value: num(func(s proxy.Stats) int64 { return s.BytesOut })},
	}
}

func frontendMetrics() []metric {
	m := common("haproxy_frontend_")
	return append(append(m,
		metric{name: "haproxy_frontend_requests_denied_total", typ: "counter", help: "Total number of denied requests since process started", value: num(func(s proxy.Stats) int64 { return s.DeniedReq })},
		metric{name: "haproxy_frontend_responses_denied_total", typ: "counter", help: "Total number of denied responses since process started", value: num(func(s proxy.Stats) int64 { return s.DeniedResp })},
		metric{name: "haproxy_frontend_request_errors_total", typ: "counter", help: "Total number of invalid requests since process started", value: num(func(s proxy.Stats) int64 { return s.FailedReq })},
		metric{name: "haproxy_frontend_denied_connections_total", typ: "counter", help: "Total number of incoming connections blocked on a listener/frontend by a tcp-request connection rule" + sinceStart, value: num(func(s proxy.Stats) int64 { return s.Denied })},
		metric{name: "haproxy_frontend_denied_sessions_total", typ: "counter", help: "Total number of incoming sessions blocked on a listener/frontend by a tcp-request connection rule" + sinceStart, value: num(func(s proxy.Stats) int64 { return s.DeniedSess })},
		metric{name: "haproxy_frontend_intercepted_requests_total", typ: "counter", httpOnly: true, help: "Total number of HTTP requests intercepted on the frontend (redirects/stats/services)" + sinceStart, value: num(func(s proxy.Stats) int64 { return s.Intercepted })},
		metric{name: "haproxy_frontend_http_requests_rate_max", typ: "gauge", httpOnly: true, help: "Highest value of http requests observed" + sinceStart, value: num(func(s proxy.Stats) int64 { return s.MaxReqRate })},
		metric{name: "haproxy_frontend_status", typ: "gauge", help: "Current status of the service, per state label value.", states: []string{"DOWN", "UP"},
			state: func(r *Row) string {
				if r.Fields["status"] == "OPEN" {
					return "UP"
				}
				return "DOWN"
			}},
		metric{name: "haproxy_frontend_max_session_rate", typ: "gauge", help: "Maximum observed number of sessions per second.", value: num(func(s proxy.Stats) int64 { return s.MaxSessionRate })},
		metric{name: "haproxy_frontend_connections_total", typ: "counter", help: "Total number of new connections.", value: num(func(s proxy.Stats) int64 { return s.Conns })},
	), httpMetrics("haproxy_frontend_")...)
}

func backendLike(prefix string) []metric {
	m := []metric{
		{name: prefix + "current_queue", typ: "gauge", help: "Number of current queued connections.", value: num(func(s proxy.Stats) int64 { return s.QueueCur })},
		{name: prefix + "max_queue", typ: "gauge", help: "Highest value of queued connections encountered.", value: num(func(s proxy.Stats) int64 { return s.QueueMax })},
	}
	m = append(m, common(prefix)...)
	return append(m,
		metric{name: prefix + "connection_errors_total", typ: "counter", help: "Total number of failed connections to server.", value: num(func(s proxy.Stats) int64 { return s.ConnErrors })},
		metric{name: prefix + "retry_warnings_total", typ: "counter", help: "Total number of server connection retries.", value: num(func(s proxy.Stats) int64 { return s.Retries })},
		metric{name: prefix + "redispatch_warnings_total", typ: "counter", help: "Total number of server redispatches.", value: num(func(s proxy.Stats) int64 { return s.Redispatches })},
		metric{name: prefix + "response_errors_total", typ: "counter", help: "Total number of invalid responses" + sinceStart, value: num(func(s proxy.Stats) int64 { return s.FailedResp })},
		metric{name: prefix + "responses_denied_total", typ: "counter", help: "Total number of denied responses since process started", value: num(func(s proxy.Stats) int64 { return s.DeniedResp })},
		metric{name: prefix + "connection_attempts_total", typ: "counter", help: "Total number of outgoing connection attempts on this backend/server" + sinceStart, value: num(func(s proxy.Stats) int64 { return s.Connects })},
		metric{name: prefix + "connection_reuses_total", typ: "counter", help: "Total number of reused connection on this backend/server" + sinceStart, value: num(func(s proxy.Stats) int64 { return s.Reuses })},
	)
}

func backendMetrics() []metric {
	m := backendLike("haproxy_backend_")
	m = append(m, httpMetrics("haproxy_backend_")...)
	m = append(m, metric{name: "haproxy_backend_requests_denied_total", typ: "counter", help: "Total number of denied requests since process started", value: num(func(s proxy.Stats) int64 { return s.DeniedReq })})
	return append(m,
		metric{name: "haproxy_backend_status", typ: "gauge", help: "Current status of the service, per state label value.", states: []string{"DOWN", "UP"}, state: field("status")},
		metric{name: "haproxy_backend_weight", typ: "gauge", help: "Service weight.", value: field("weight")},
		metric{name: "haproxy_backend_active_servers", typ: "gauge", help: "Current number of active servers.", value: field("act")},
		metric{name: "haproxy_backend_backup_servers", typ: "gauge", help: "Current number of backup servers.", value: field("bck")},
		metric{name: "haproxy_backend_check_up_down_total", typ: "counter", help: "Total number of UP->DOWN transitions.", value: field("chkdown")},
		metric{name: "haproxy_backend_check_last_change_seconds", typ: "gauge", help: "Seconds since the last UP<->DOWN transition.", value: field("lastchg")},
		metric{name: "haproxy_backend_downtime_seconds_total", typ: "counter", help: "Total downtime in seconds.", value: field("downtime")},
		metric{name: "haproxy_backend_loadbalanced_total", typ: "counter", help: "Total number of times a service was selected.", value: field("lbtot")},
		metric{name: "haproxy_backend_max_session_rate", typ: "gauge", help: "Maximum observed number of sessions per second.", value: num(func(s proxy.Stats) int64 { return s.MaxSessionRate })},
		metric{name: "haproxy_backend_client_aborts_total", typ: "counter", help: "Total number of data transfers aborted by the client.", value: num(func(s proxy.Stats) int64 { return s.ClientAborts })},
		metric{name: "haproxy_backend_server_aborts_total", typ: "counter", help: "Total number of data transfers aborted by the server.", value: num(func(s proxy.Stats) int64 { return s.ServerAborts })},
		metric{name: "haproxy_backend_last_session_seconds", typ: "gauge", help: "Seconds since the last session assigned to a server or backend.", value: field("lastsess")},
		metric{name: "haproxy_backend_uweight", typ: "gauge", help: "Server's user weight, or sum of active servers' user weights for a backend.", value: field("uweight")},
	)
}

func serverMetrics() []metric {
	m := backendLike("haproxy_server_")
	m = append(m, metric{name: "haproxy_server_http_responses_total", typ: "counter", httpOnly: true, codes: true, help: "Total number of HTTP responses with status 100-199 returned by this object" + sinceStart})
	return append(m,
		metric{name: "haproxy_server_status", typ: "gauge", help: "Current status of the service, per state label value.", states: serverStates,
			state: func(r *Row) string {
				switch r.Stats.Status {
				case proxy.StatusMaint:
					return "MAINT"
				case proxy.StatusDrain:
					return "DRAIN"
				case proxy.StatusNolb:
					return "NOLB"
				case proxy.StatusDown:
					return "DOWN"
				}
				if r.Check != nil && !r.Check.State.Up() {
					return "DOWN"
				}
				return "UP"
			}},
		metric{name: "haproxy_server_weight", typ: "gauge", help: "Service weight.", value: field("weight")},
		metric{name: "haproxy_server_check_failures_total", typ: "counter", help: "Total number of failed individual health checks.", value: field("chkfail")},
		metric{name: "haproxy_server_check_up_down_total", typ: "counter", help: "Total number of UP->DOWN transitions.", value: field("chkdown")},
		metric{name: "haproxy_server_check_last_change_seconds", typ: "gauge", help: "Seconds since the last UP<->DOWN transition.", value: field("lastchg")},
		metric{name: "haproxy_server_downtime_seconds_total", typ: "counter", help: "Total downtime in seconds.", value: field("downtime")},
		metric{name: "haproxy_server_loadbalanced_total", typ: "counter", help: "Total number of times a service was selected.", value: field("lbtot")},
		metric{name: "haproxy_server_max_session_rate", typ: "gauge", help: "Maximum observed number of sessions per second.", value: num(func(s proxy.Stats) int64 { return s.MaxSessionRate })},
		metric{name: "haproxy_server_check_status", typ: "gauge", help: "Status of last health check, per state label value.", states: checkStates,
			state: func(r *Row) string {
				if r.Check == nil || r.Check.Last.Code == health.CodeNone {
					return ""
				}
				return r.Check.Last.Code.String()
			}},
		metric{name: "haproxy_server_check_code", typ: "gauge", help: "layer5-7 code, if available of the last health check.", value: field("check_code")},
		metric{name: "haproxy_server_check_duration_seconds", typ: "gauge", help: "Total duration of the latest server health check in seconds.",
			value: func(r *Row) string {
				if r.Check == nil {
					return "0.000000"
				}
				return fmt.Sprintf("%.6f", r.Check.Last.Duration.Truncate(time.Millisecond).Seconds())
			}},
		metric{name: "haproxy_server_client_aborts_total", typ: "counter", help: "Total number of data transfers aborted by the client.", value: num(func(s proxy.Stats) int64 { return s.ClientAborts })},
		metric{name: "haproxy_server_server_aborts_total", typ: "counter", help: "Total number of data transfers aborted by the server.", value: num(func(s proxy.Stats) int64 { return s.ServerAborts })},
		metric{name: "haproxy_server_last_session_seconds", typ: "gauge", help: "Seconds since the last session assigned to a server or backend.", value: field("lastsess")},
		metric{name: "haproxy_server_uweight", typ: "gauge", help: "Server's user weight, or sum of active servers' user weights for a backend.", value: field("uweight")},
	)
}

// WritePrometheus writes the exporter's text format (version 0.0.4): the
// process metrics, then every frontend, backend and server metric, each
// family once with all its series, in haproxy's order.
func (s *Source) WritePrometheus(w io.Writer) error {
	var b strings.Builder
	now := s.now()
	proc := []struct {
		name, typ, help string
		v               string
	}{
		{"haproxy_process_nbthread", "gauge", "Number of started threads (global.nbthread)", itoa(max(s.Config.Global.NbThread, 1))},
		{"haproxy_process_nbproc", "gauge", "Number of started worker processes (historical, always 1)", "1"},
		{"haproxy_process_relative_process_id", "gauge", "Relative worker process number (1)", "1"},
		{"haproxy_process_uptime_seconds", "gauge", "How long ago this worker process was started (seconds)", itoa(int64(now.Sub(s.Start) / time.Second))},
		{"haproxy_process_max_connections", "gauge", "Hard limit on the number of per-process connections", itoa(s.Engine.MaxConn())},
		{"haproxy_process_current_connections", "gauge", "Current number of connections on this worker process", itoa(s.Engine.ActiveConns())},
		{"haproxy_process_start_time_seconds", "gauge", "Start time in seconds", itoa(s.Start.Unix())},
	}
	for _, p := range proc {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", p.name, p.help, p.name, p.typ, p.name, p.v)
	}
	rows := s.Rows()
	emit := func(kind Kind, ms []metric) {
		for _, m := range ms {
			header := false
			codes := codeLabels[:1]
			if m.codes {
				codes = codeLabels
			}
			for _, code := range codes {
				for _, r := range rows {
					if r.Kind != kind || m.httpOnly && r.Proxy.Mode != haproxycfg.ModeHTTP {
						continue
					}
					if !header {
						fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.typ)
						header = true
					}
					labels := fmt.Sprintf("proxy=%q", r.Proxy.Name)
					if kind == KindServer {
						labels += fmt.Sprintf(",server=%q", r.Server.Name())
					}
					if m.codes {
						fmt.Fprintf(&b, "%s{%s,code=%q} %d\n", m.name, labels, code.label, r.Stats.Responses[code.i])
						continue
					}
					m.emitOne(&b, r, labels)
				}
			}
		}
	}
	emit(KindFrontend, frontendMetrics())
	emit(KindBackend, backendMetrics())
	emit(KindServer, serverMetrics())
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("stats: writing metrics: %w", err)
	}
	return nil
}

// emitOne writes a row's series of a family: its value, or one series
// per state.
func (m metric) emitOne(b *strings.Builder, r *Row, labels string) {
	if m.states == nil {
		fmt.Fprintf(b, "%s{%s} %s\n", m.name, labels, m.value(r))
		return
	}
	cur := m.state(r)
	for _, st := range m.states {
		v := 0
		if st == cur {
			v = 1
		}
		fmt.Fprintf(b, "%s{%s,state=%q} %d\n", m.name, labels, st, v)
	}
}
