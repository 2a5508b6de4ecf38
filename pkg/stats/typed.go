package stats

import (
	"fmt"
	"io"
	"strings"
)

// fieldTypes gives each stats field the tags and the type haproxy 2.6's
// typed and JSON exports print with it: origin, nature and scope letters
// as stats_emit_field_tags writes them (M metric, S status, K key,
// C config, P product; G gauge, L limit, M max, R rate, C counter,
// D duration, A age, N name, O output, a average; P process, S service),
// then the value's type. Measured on haproxy 2.6.12's `show stat typed`
// (frontends, backends and servers in modes tcp and http, with and without
// checks) and completed from src/stats.c's stats_fill_*_stats for the
// fields that set-up leaves empty (agents, tracking, cookies, queues).
var fieldTypes = map[string]string{
	"pxname": "KNS str", "svname": "KNS str", "qcur": "MGP u32", "qmax": "MMP u32",
	"scur": "MGP u32", "smax": "MMP u32", "slim": "CLP u32", "stot": "MCP u64",
	"bin": "MCP u64", "bout": "MCP u64", "dreq": "MCP u64", "dresp": "MCP u64", "ereq": "MCP u64",
	"econ": "MCP u64", "eresp": "MCP u64", "wretr": "MCP u64", "wredis": "MCP u64",
	"status": "SGP str", "weight": "MaP u32", "act": "SGP u32", "bck": "SGP u32",
	"chkfail": "MCP u64", "chkdown": "MCP u64", "lastchg": "MAP u32", "downtime": "MCP u32",
	"qlimit": "CGS u32", "pid": "KGP u32", "iid": "KGS u32", "sid": "KGS u32",
	"throttle": "MaP u32", "lbtot": "MCP u64", "tracked": "CNS str", "type": "CGS u32",
	"rate": "MRP u32", "rate_lim": "CLP u32", "rate_max": "MMP u32",
	"check_status": "MOP str", "check_code": "MOP u32", "check_duration": "MDP u64",
	"hrsp_1xx": "MCP u64", "hrsp_2xx": "MCP u64", "hrsp_3xx": "MCP u64", "hrsp_4xx": "MCP u64",
	"hrsp_5xx": "MCP u64", "hrsp_other": "MCP u64", "hanafail": "MCP u64",
	"req_rate": "MRP u32", "req_rate_max": "MMP u32", "req_tot": "MCP u64",
	"cli_abrt": "MCP u64", "srv_abrt": "MCP u64",
	"comp_in": "MCP u64", "comp_out": "MCP u64", "comp_byp": "MCP u64", "comp_rsp": "MCP u64",
	"lastsess": "MAP s32", "last_chk": "MOP str", "last_agt": "MOP str",
	"qtime": "MaP u32", "ctime": "MaP u32", "rtime": "MaP u32", "ttime": "MaP u32",
	"agent_status": "MOP str", "agent_code": "MOP u32", "agent_duration": "MDP u64",
	"check_desc": "MOP str", "agent_desc": "MOP str",
	"check_rise": "CGS u32", "check_fall": "CGS u32", "check_health": "CGS u32",
	"agent_rise": "CGS u32", "agent_fall": "CGS u32", "agent_health": "CGS u32",
	"addr": "CGS str", "cookie": "CNS str", "mode": "CGS str", "algo": "CGS str",
	"conn_rate": "MRP u32", "conn_rate_max": "MMP u32", "conn_tot": "MCP u64", "intercepted": "MCP u64",
	"dcon": "MCP u64", "dses": "MCP u64", "wrew": "MCP u64",
	"connect": "MCP u64", "reuse": "MCP u64", "cache_lookups": "MCP u64", "cache_hits": "MCP u64",
	"srv_icur": "MGP u32", "src_ilim": "CLP u32",
	"qtime_max": "MMP u32", "ctime_max": "MMP u32", "rtime_max": "MMP u32", "ttime_max": "MMP u32",
	"eint":          "MCP u64",
	"idle_conn_cur": "MGP u32", "safe_conn_cur": "MGP u32", "used_conn_cur": "MGP u32", "need_conn_est": "MGP u32",
	"uweight":           "MaP u32",
	"agg_server_status": "MGP u32", "agg_server_check_status": "MGP u32", "agg_check_status": "MGP u32",
	"ssl_sess": "MCP u64", "ssl_reused_sess": "MCP u64", "ssl_failed_handshake": "MCP u64",
	"h2_headers_rcvd": "MCP u64", "h2_data_rcvd": "MCP u64", "h2_settings_rcvd": "MCP u64",
	"h2_rst_stream_rcvd": "MCP u64", "h2_goaway_rcvd": "MCP u64",
	"h2_detected_conn_protocol_errors": "MCP u64", "h2_detected_strm_protocol_errors": "MCP u64",
	"h2_rst_stream_resp": "MCP u64", "h2_goaway_resp": "MCP u64",
	"h2_open_connections": "MGP u64", "h2_backend_open_streams": "MGP u64",
	"h2_total_connections": "MCP u64", "h2_backend_total_streams": "MCP u64",
	"h1_open_connections": "MGP u64", "h1_open_streams": "MGP u64",
	"h1_total_connections": "MCP u64", "h1_total_streams": "MCP u64",
	"h1_bytes_in": "MCP u64", "h1_bytes_out": "MCP u64",
	"h1_spliced_bytes_in": "MCP u64", "h1_spliced_bytes_out": "MCP u64",
}

// backendFieldTypes are the fields a backend row fills with other tags
// than a server's: its act/bck counts and session rates are plain gauges.
var backendFieldTypes = map[string]string{
	"act": "MGP u32", "bck": "MGP u32", "rate": "MGP u32", "rate_max": "MGP u32",
}

// typedField is one filled field of a row, as the typed and JSON exports
// list it: its position in haproxy's field array (the CSV's column, less
// the "-" that the CSV alone writes before the modules' fields), name,
// tags and type.
type typedField struct {
	pos             int
	name, tags, typ string
	value           string
}

// typedFields returns the fields of r that haproxy fills, in order.
func typedFields(r *Row) []typedField {
	var out []typedField
	pos := 0
	for i, c := range columns {
		if c.name == "-" {
			continue
		}
		p := pos
		pos++
		v := r.value(i)
		if v == "" && !filledEmpty(r, c.name) {
			continue
		}
		meta := fieldTypes[c.name]
		if r.Kind == KindBackend && backendFieldTypes[c.name] != "" {
			meta = backendFieldTypes[c.name]
		}
		tags, typ, _ := strings.Cut(meta, " ")
		out = append(out, typedField{pos: p, name: c.name, tags: tags, typ: typ, value: v})
	}
	return out
}

// WriteTypedFiltered writes the rows the filter selects as `show stat
// typed` does: one line per filled field,
// "F.<iid>.<sid>.<pos>.<name>.<process>:<tags>:<type>:<value>", F, B or S
// for a frontend, backend or server row.
func (s *Source) WriteTypedFiltered(w io.Writer, legends bool, f Filter) error {
	c := *s
	c.legends = legends
	s = &c
	var b strings.Builder
	for _, r := range s.filtered(f) {
		kind := "FBS"[r.Kind]
		iid, sid := r.value(ColumnIndex("iid")), r.value(ColumnIndex("sid"))
		for _, fd := range typedFields(r) {
			fmt.Fprintf(&b, "%c.%s.%s.%d.%s.1:%s:%s:%s\n", kind, iid, sid, fd.pos, fd.name, fd.tags, fd.typ, fd.value)
		}
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("stats: writing typed stats: %w", err)
	}
	return nil
}

// filledEmpty tells whether haproxy fills a field whose value is empty:
// the last check's and agent's output (last_chk, last_agt) are there,
// empty or not, whenever the check or agent is enabled, which is when
// check_desc or agent_desc are.
func filledEmpty(r *Row, name string) bool {
	switch name {
	case "last_chk":
		return r.Kind == KindServer && r.Fields["check_desc"] != ""
	case "last_agt":
		return r.Kind == KindServer && r.Fields["agent_desc"] != ""
	}
	return false
}

// jsonTags are the words the JSON export writes for the tag letters.
var (
	jsonOrigin = map[byte]string{'M': "Metric", 'S': "Status", 'K': "Key", 'C': "Config", 'P': "Product"}
	jsonNature = map[byte]string{'G': "Gauge", 'L': "Limit", 'm': "Min", 'M': "Max", 'R': "Rate", 'C': "Counter",
		'D': "Duration", 'A': "Age", 'T': "Time", 'N': "Name", 'O': "Output", 'a': "Avg"}
	jsonScope = map[byte]string{'P': "Process", 'S': "Service", 's': "System", 'C': "Cluster"}
)

// JSONTagsValue writes a field's tags and value as haproxy 2.6's JSON
// exports do (stats_emit_json_field_tags and stats_emit_json_data_field):
// `"tags":{...},"value":{"type":"u32","value":0}`, strings quoted as they
// are, without escaping, as haproxy 2.6 writes them.
func JSONTagsValue(b *strings.Builder, tags, typ, value string) {
	word := func(m map[byte]string, i int) string {
		if i < len(tags) && m[tags[i]] != "" {
			return m[tags[i]]
		}
		return "Unknown"
	}
	fmt.Fprintf(b, `"tags":{"origin":"%s","nature":"%s","scope":"%s"},"value":{"type":"%s","value":`,
		word(jsonOrigin, 0), word(jsonNature, 1), word(jsonScope, 2), typ)
	if typ == "str" {
		b.WriteString(`"` + value + `"}`)
	} else {
		b.WriteString(value + "}")
	}
}

// WriteJSONFiltered writes the rows the filter selects as `show stat json`
// does: an array of rows, each an array of its filled fields.
func (s *Source) WriteJSONFiltered(w io.Writer, legends bool, f Filter) error {
	c := *s
	c.legends = legends
	s = &c
	var b strings.Builder
	b.WriteByte('[')
	first := true
	for _, r := range s.filtered(f) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		objType := [...]string{"Frontend", "Backend", "Server"}[r.Kind]
		iid, sid := r.value(ColumnIndex("iid")), r.value(ColumnIndex("sid"))
		b.WriteByte('[')
		for i, fd := range typedFields(r) {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"objType":"%s","proxyId":%s,"id":%s,"field":{"pos":%d,"name":"%s"},"processNum":1,`,
				objType, iid, sid, fd.pos, fd.name)
			JSONTagsValue(&b, fd.tags, fd.typ, fd.value)
			b.WriteByte('}')
		}
		b.WriteByte(']')
	}
	b.WriteString("]\n")
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("stats: writing JSON stats: %w", err)
	}
	return nil
}
