package stats

import "strings"

// columns are haproxy 2.6's stats CSV fields in order, each with the row
// kinds that fill it, as measured on haproxy 2.6.12 (testdata/haproxy26_*):
// F = FRONTEND, B = BACKEND, S = server row, each followed by t (mode tcp)
// or h (mode http). Fields filled only sometimes (slim, the check fields)
// are marked "?" and appear only when the row has a value for them.
var columns = []struct{ name, kinds string }{
	{"pxname", "FtFhBtBhStSh"}, {"svname", "FtFhBtBhStSh"},
	{"qcur", "BtBhStSh"}, {"qmax", "BtBhStSh"},
	{"scur", "FtFhBtBhStSh"}, {"smax", "FtFhBtBhStSh"}, {"slim", "?"}, {"stot", "FtFhBtBhStSh"},
	{"bin", "FtFhBtBhStSh"}, {"bout", "FtFhBtBhStSh"},
	{"dreq", "FtFhBtBh"}, {"dresp", "FtFhBtBhStSh"}, {"ereq", "FtFh"},
	{"econ", "BtBhStSh"}, {"eresp", "BtBhStSh"}, {"wretr", "BtBhStSh"}, {"wredis", "BtBhStSh"},
	{"status", "FtFhBtBhStSh"}, {"weight", "BtBhStSh"}, {"act", "BtBhStSh"}, {"bck", "BtBhStSh"},
	{"chkfail", "?"}, {"chkdown", "BtBh?"}, {"lastchg", "BtBhStSh"}, {"downtime", "?"},
	{"qlimit", "?"}, {"pid", "FtFhBtBhStSh"}, {"iid", "FtFhBtBhStSh"}, {"sid", "FtFhBtBhStSh"},
	{"throttle", "?"}, {"lbtot", "BtBhStSh"}, {"tracked", "?"}, {"type", "FtFhBtBhStSh"},
	{"rate", "FtFhBtBhStSh"}, {"rate_lim", "FtFh"}, {"rate_max", "FtFhBtBhStSh"},
	{"check_status", "?"}, {"check_code", "?"}, {"check_duration", "?"},
	{"hrsp_1xx", "FhBhSh"}, {"hrsp_2xx", "FhBhSh"}, {"hrsp_3xx", "FhBhSh"}, {"hrsp_4xx", "FhBhSh"},
	{"hrsp_5xx", "FhBhSh"}, {"hrsp_other", "FhBhSh"}, {"hanafail", "?"},
	{"req_rate", "FtFh"}, {"req_rate_max", "FtFh"}, {"req_tot", "FtFhBhSh"},
	{"cli_abrt", "BtBhStSh"}, {"srv_abrt", "BtBhStSh"},
	{"comp_in", "FtFhBtBh"}, {"comp_out", "FtFhBtBh"}, {"comp_byp", "FtFhBtBh"}, {"comp_rsp", "FtFhBtBh"},
	{"lastsess", "BtBhStSh"}, {"last_chk", "?"}, {"last_agt", "?"},
	{"qtime", "BtBhStSh"}, {"ctime", "BtBhStSh"}, {"rtime", "BtBhStSh"}, {"ttime", "BtBhStSh"},
	{"agent_status", "?"}, {"agent_code", "?"}, {"agent_duration", "?"},
	{"check_desc", "?"}, {"agent_desc", "?"},
	{"check_rise", "?"}, {"check_fall", "?"}, {"check_health", "?"},
	{"agent_rise", "?"}, {"agent_fall", "?"}, {"agent_health", "?"},
	{"addr", "?"}, {"cookie", ""}, {"mode", "FtFhBtBhStSh"}, {"algo", "?"},
	{"conn_rate", "FtFh"}, {"conn_rate_max", "FtFh"}, {"conn_tot", "FtFh"}, {"intercepted", "Fh"},
	{"dcon", "FtFh"}, {"dses", "FtFh"}, {"wrew", "FtFhBtBhStSh"},
	{"connect", "BtBhStSh"}, {"reuse", "BtBhStSh"}, {"cache_lookups", "FhBh"}, {"cache_hits", "FhBh"},
	{"srv_icur", "StSh"}, {"src_ilim", "?"},
	{"qtime_max", "BtBhStSh"}, {"ctime_max", "BtBhStSh"}, {"rtime_max", "BtBhStSh"}, {"ttime_max", "BtBhStSh"},
	{"eint", "FtFhBtBhStSh"},
	{"idle_conn_cur", "StSh"}, {"safe_conn_cur", "StSh"}, {"used_conn_cur", "StSh"}, {"need_conn_est", "StSh"},
	{"uweight", "BtBhStSh"},
	{"agg_server_status", "BtBh"}, {"agg_server_check_status", "BtBh"}, {"agg_check_status", "BtBh"},
	// From here on the fields are the SSL and HTTP/1 and HTTP/2 modules'.
	{"-", "FtFhBtBhStSh"},
	{"ssl_sess", "FtFhBtBhStSh"}, {"ssl_reused_sess", "FtFhBtBhStSh"}, {"ssl_failed_handshake", "FtFhBtBhStSh"},
	{"h2_headers_rcvd", "FtFhBtBh"}, {"h2_data_rcvd", "FtFhBtBh"}, {"h2_settings_rcvd", "FtFhBtBh"},
	{"h2_rst_stream_rcvd", "FtFhBtBh"}, {"h2_goaway_rcvd", "FtFhBtBh"},
	{"h2_detected_conn_protocol_errors", "FtFhBtBh"}, {"h2_detected_strm_protocol_errors", "FtFhBtBh"},
	{"h2_rst_stream_resp", "FtFhBtBh"}, {"h2_goaway_resp", "FtFhBtBh"}, {"h2_open_connections", "FtFhBtBh"},
	{"h2_backend_open_streams", "FtFhBtBh"}, {"h2_total_connections", "FtFhBtBh"}, {"h2_backend_total_streams", "FtFhBtBh"},
	{"h1_open_connections", "FtFhBtBh"}, {"h1_open_streams", "FtFhBtBh"}, {"h1_total_connections", "FtFhBtBh"},
	{"h1_total_streams", "FtFhBtBh"}, {"h1_bytes_in", "FtFhBtBh"}, {"h1_bytes_out", "FtFhBtBh"},
	{"h1_spliced_bytes_in", "FtFhBtBh"}, {"h1_spliced_bytes_out", "FtFhBtBh"},
}

// Header is the CSV's first line, with its trailing comma, as haproxy 2.6
// prints it.
func Header() string {
	var b strings.Builder
	b.WriteString("# ")
	for _, c := range columns {
		b.WriteString(c.name)
		b.WriteByte(',')
	}
	return b.String()
}

// ColumnIndex returns the position of a field in the CSV, or -1.
func ColumnIndex(name string) int {
	for i, c := range columns {
		if c.name == name {
			return i
		}
	}
	return -1
}
