package sample

import "strings"

// Where samples may be used (haproxy's SMP_USE_*, SMP_VAL_* and
// fetch_cap[] in sample.c): each fetch reads some sources; each source is
// available at some checkpoints. haproxy refuses a log-format sample
// whose sources are not available where it is used, and warns of an ACL
// that can never match there; Expr.Needs and Cond.Conflict give the same
// answers to the rules' parsers.

// Checkpoint is where a sample is evaluated (haproxy's SMP_CKP_*).
type Checkpoint int

const (
	AtFrontendTCPConnection Checkpoint = iota // tcp-request connection
	AtFrontendTCPSession                      // tcp-request session
	AtFrontendTCPContent                      // frontend tcp-request content
	AtFrontendHTTPRequest                     // frontend http-request, redirect, monitor, stats
	AtFrontendHTTPRequestBody
	AtUseBackend               // use_backend
	AtBackendTCPContent        // backend tcp-request content
	AtBackendHTTPRequest       // backend http-request
	AtBackendHTTPRequestBody   //
	AtUseServer                // use-server, balance, stick match
	AtServerConnect            // source selection
	AtBackendTCPResponse       // backend tcp-response content
	AtBackendHTTPResponse      // backend http-response
	AtBackendHTTPResponseBody  //
	AtStickStore               // stick store-response
	AtFrontendTCPResponse      // frontend tcp-response content
	AtFrontendHTTPResponse     // frontend http-response, http-after-response
	AtFrontendHTTPResponseBody //
	AtLog                      // log-format at the end of the stream
	AtTCPCheck                 // tcp-check rules
	AtConfigParser             // configuration parser
	AtCLIParser                // CLI
	numCheckpoints
)

var checkpointNames = [numCheckpoints]string{
	"frontend tcp-request connection rule", "frontend tcp-request session rule",
	"frontend tcp-request content rule", "frontend http-request header rule",
	"frontend http-request body rule", "frontend use-backend rule",
	"backend tcp-request content rule", "backend http-request header rule",
	"backend http-request body rule", "backend use-server, balance or stick-match rule",
	"server source selection", "backend tcp-response content rule",
	"backend http-response header rule", "backend http-response body rule",
	"backend stick-store rule", "frontend tcp-response content rule",
	"frontend http-response header rule", "frontend http-response body rule",
	"logs", "backend tcp-check rule", "configuration parser", "CLI parser",
}

// String is haproxy's name for the checkpoint, as its messages print it.
func (c Checkpoint) String() string {
	if c >= 0 && c < numCheckpoints {
		return checkpointNames[c]
	}
	return "?"
}

// Source bits (SMP_USE_*): what a fetch reads.
const (
	useConst uint32 = 1 << iota
	useIntrn
	useListn
	useFtend
	useL4cli
	useL5cli
	useTrack
	useL6req
	useHrqhv
	useHrqhp
	useHrqbo
	useBkend
	useServr
	useL4srv
	useL5srv
	useL6res
	useHrshv
	useHrshp
	useHrsbo
	useRqfin
	useRsfin
	useTxfin
	useSsfin
	numSources = iota
)

var sourceNames = [numSources]string{
	"", "internal state", "listener", "frontend", "client address", "client-side connection",
	"track counters", "request buffer", "HTTP request headers", "HTTP request",
	"HTTP request body", "backend", "server", "server address", "server-side connection",
	"response buffer", "HTTP response headers", "HTTP response", "HTTP response body",
	"request buffer statistics", "response buffer statistics", "transaction statistics",
	"session statistics",
}

// checkpoint sets
func cks(c ...Checkpoint) uint32 {
	var m uint32
	for _, x := range c {
		m |= 1 << x
	}
	return m
}

var (
	ckAll       = uint32(1)<<numCheckpoints - 1
	ckRuntime   = ckAll &^ cks(AtConfigParser, AtCLIParser)
	ckReqOnly   = cks(AtFrontendTCPContent, AtFrontendHTTPRequest, AtFrontendHTTPRequestBody, AtUseBackend, AtBackendTCPContent, AtBackendHTTPRequest, AtBackendHTTPRequestBody, AtUseServer, AtServerConnect)
	ckResponses = cks(AtBackendTCPResponse, AtBackendHTTPResponse, AtBackendHTTPResponseBody, AtStickStore, AtFrontendTCPResponse, AtFrontendHTTPResponse, AtFrontendHTTPResponseBody)
)

// sourceCap is fetch_cap[]: the checkpoints where each source is available.
var sourceCap = [numSources]uint32{
	ckAll,                        // const
	ckAll &^ cks(AtConfigParser), // internal
	ckRuntime &^ cks(AtTCPCheck), // listener
	ckRuntime &^ cks(AtTCPCheck), // frontend
	ckRuntime,                    // client address
	ckRuntime &^ cks(AtFrontendTCPConnection, AtTCPCheck), // client-side connection
	ckRuntime &^ cks(AtTCPCheck),                          // track counters
	ckReqOnly,                                             // request buffer
	ckReqOnly,                                             // HTTP request headers
	ckReqOnly | ckResponses | cks(AtLog),                  // HTTP request (persistent)
	ckReqOnly &^ cks(AtFrontendTCPContent, AtFrontendHTTPRequest),                                                                               // HTTP request body
	ckReqOnly&^cks(AtFrontendTCPContent, AtFrontendHTTPRequest, AtFrontendHTTPRequestBody, AtUseBackend) | ckResponses | cks(AtLog, AtTCPCheck), // backend
	cks(AtServerConnect) | ckResponses | cks(AtLog, AtTCPCheck),                                                                                 // server
	ckResponses | cks(AtLog, AtTCPCheck),                                                                                                        // server address
	ckResponses | cks(AtLog, AtTCPCheck),                                                                                                        // server-side connection
	ckResponses | cks(AtTCPCheck),                                                                                                               // response buffer
	ckResponses | cks(AtTCPCheck),                                                                                                               // HTTP response headers
	ckResponses | cks(AtLog, AtTCPCheck),                                                                                                        // HTTP response (persistent)
	ckResponses&^cks(AtBackendTCPResponse, AtBackendHTTPResponse) | cks(AtTCPCheck),                                                             // HTTP response body
	cks(AtLog), cks(AtLog), cks(AtLog), cks(AtLog), // end-of-stream statistics
}

// fetchUse is the sources of every haproxy 2.6 fetch, by name; a
// definition registered without Use takes its name's entry.
var fetchUse = map[string]uint32{
	"51d.all":                                useHrqhv,
	"always_false":                           useConst,
	"always_true":                            useConst,
	"avg_queue":                              useIntrn,
	"base":                                   useHrqhv,
	"base32":                                 useHrqhv,
	"baseq":                                  useHrqhv,
	"bc_dst":                                 useL4srv,
	"bc_dst_port":                            useL4srv,
	"bc_err":                                 useL4srv,
	"bc_err_str":                             useL4srv,
	"bc_http_major":                          useL4srv,
	"bc_src":                                 useL4srv,
	"bc_src_port":                            useL4srv,
	"be_conn":                                useIntrn,
	"be_conn_free":                           useIntrn,
	"be_id":                                  useBkend,
	"be_name":                                useBkend,
	"be_server_timeout":                      useBkend,
	"be_sess_rate":                           useIntrn,
	"be_tunnel_timeout":                      useBkend,
	"bin":                                    useConst,
	"bool":                                   useConst,
	"capture.req.hdr":                        useHrqhp,
	"capture.req.method":                     useHrqhp,
	"capture.req.uri":                        useHrqhp,
	"capture.req.ver":                        useHrqhp,
	"capture.res.hdr":                        useHrshp,
	"capture.res.ver":                        useHrqhp,
	"connslots":                              useIntrn,
	"cook":                                   useHrqhv,
	"cook_cnt":                               useHrqhv,
	"cook_val":                               useHrqhv,
	"cookie":                                 useHrqhv | useHrshv,
	"cpu_calls":                              useIntrn,
	"cpu_ns_avg":                             useIntrn,
	"cpu_ns_tot":                             useIntrn,
	"cur_server_timeout":                     useBkend,
	"cur_tunnel_timeout":                     useBkend,
	"date":                                   useConst,
	"date_us":                                useConst,
	"distcc_body":                            useL6req | useL6res,
	"distcc_param":                           useL6req | useL6res,
	"dst":                                    useL4cli,
	"dst_conn":                               useFtend,
	"dst_is_local":                           useL4cli,
	"dst_port":                               useL4cli,
	"env":                                    useConst,
	"fc_dst":                                 useL4cli,
	"fc_dst_is_local":                        useL4cli,
	"fc_dst_port":                            useL4cli,
	"fc_err":                                 useL4cli,
	"fc_err_str":                             useL4cli,
	"fc_fackets":                             useL4cli,
	"fc_http_major":                          useL4cli,
	"fc_lost":                                useL4cli,
	"fc_pp_authority":                        useL4cli,
	"fc_pp_unique_id":                        useL4cli,
	"fc_rcvd_proxy":                          useL4cli,
	"fc_reordering":                          useL4cli,
	"fc_retrans":                             useL4cli,
	"fc_rtt":                                 useL4cli,
	"fc_rttvar":                              useL4cli,
	"fc_sacked":                              useL4cli,
	"fc_src":                                 useL4cli,
	"fc_src_is_local":                        useL4cli,
	"fc_src_port":                            useL4cli,
	"fc_unacked":                             useL4cli,
	"fcgi.docroot":                           useHrqhv,
	"fcgi.index":                             useHrqhv,
	"fe_client_timeout":                      useFtend,
	"fe_conn":                                useIntrn,
	"fe_defbe":                               useFtend,
	"fe_id":                                  useFtend,
	"fe_name":                                useFtend,
	"fe_req_rate":                            useIntrn,
	"fe_sess_rate":                           useIntrn,
	"hdr":                                    useHrqhv | useHrshv,
	"hdr_cnt":                                useHrqhv,
	"hdr_ip":                                 useHrqhv,
	"hdr_val":                                useHrqhv,
	"hostname":                               useConst,
	"http_auth":                              useHrqhv,
	"http_auth_bearer":                       useHrqhv,
	"http_auth_group":                        useHrqhv,
	"http_auth_pass":                         useHrqhv,
	"http_auth_type":                         useHrqhv,
	"http_auth_user":                         useHrqhv,
	"http_first_req":                         useHrqhp,
	"int":                                    useConst,
	"internal.htx.data":                      useHrqhv | useHrshv,
	"internal.htx.free":                      useHrqhv | useHrshv,
	"internal.htx.free_data":                 useHrqhv | useHrshv,
	"internal.htx.has_eom":                   useHrqhv | useHrshv,
	"internal.htx.nbblks":                    useHrqhv | useHrshv,
	"internal.htx.size":                      useHrqhv | useHrshv,
	"internal.htx.used":                      useHrqhv | useHrshv,
	"internal.htx_blk.data":                  useHrqhv | useHrshv,
	"internal.htx_blk.hdrname":               useHrqhv | useHrshv,
	"internal.htx_blk.hdrval":                useHrqhv | useHrshv,
	"internal.htx_blk.size":                  useHrqhv | useHrshv,
	"internal.htx_blk.start_line":            useHrqhv | useHrshv,
	"internal.htx_blk.type":                  useHrqhv | useHrshv,
	"internal.strm.is_htx":                   useIntrn,
	"ipv4":                                   useConst,
	"ipv6":                                   useConst,
	"last_rule_file":                         useIntrn,
	"last_rule_line":                         useIntrn,
	"lat_ns_avg":                             useIntrn,
	"lat_ns_tot":                             useIntrn,
	"meth":                                   useConst,
	"method":                                 useHrqhp,
	"nbproc":                                 useConst,
	"nbsrv":                                  useIntrn,
	"path":                                   useHrqhv,
	"pathq":                                  useHrqhv,
	"payload":                                useL6req | useL6res,
	"payload_lv":                             useL6req | useL6res,
	"prio_class":                             useIntrn,
	"prio_offset":                            useIntrn,
	"proc":                                   useConst,
	"query":                                  useHrqhv,
	"queue":                                  useIntrn,
	"rand":                                   useConst,
	"rdp_cookie":                             useL6req,
	"rdp_cookie_cnt":                         useL6req,
	"rep_ssl_hello_type":                     useL6res,
	"req.body":                               useHrqhv,
	"req.body_len":                           useHrqhv,
	"req.body_param":                         useHrqhv,
	"req.body_size":                          useHrqhv,
	"req.cook":                               useHrqhv,
	"req.cook_cnt":                           useHrqhv,
	"req.cook_val":                           useHrqhv,
	"req.fhdr":                               useHrqhv,
	"req.fhdr_cnt":                           useHrqhv,
	"req.hdr":                                useHrqhv,
	"req.hdr_cnt":                            useHrqhv,
	"req.hdr_ip":                             useHrqhv,
	"req.hdr_names":                          useHrqhv,
	"req.hdr_val":                            useHrqhv,
	"req.hdrs":                               useHrqhv,
	"req.hdrs_bin":                           useHrqhv,
	"req.len":                                useL6req,
	"req.payload":                            useL6req,
	"req.payload_lv":                         useL6req,
	"req.proto_http":                         useHrqhp,
	"req.rdp_cookie":                         useL6req,
	"req.rdp_cookie_cnt":                     useL6req,
	"req.ssl_alpn":                           useL6req,
	"req.ssl_ec_ext":                         useL6req,
	"req.ssl_hello_type":                     useL6req,
	"req.ssl_sni":                            useL6req,
	"req.ssl_st_ext":                         useL6req,
	"req.ssl_ver":                            useL6req,
	"req.ver":                                useHrqhv,
	"req_len":                                useL6req,
	"req_proto_http":                         useHrqhp,
	"req_ssl_hello_type":                     useL6req,
	"req_ssl_sni":                            useL6req,
	"req_ssl_ver":                            useL6req,
	"req_ver":                                useHrqhv,
	"res.body":                               useHrshv,
	"res.body_len":                           useHrshv,
	"res.body_size":                          useHrshv,
	"res.cook":                               useHrshv,
	"res.cook_cnt":                           useHrshv,
	"res.cook_val":                           useHrshv,
	"res.fhdr":                               useHrshv,
	"res.fhdr_cnt":                           useHrshv,
	"res.hdr":                                useHrshv,
	"res.hdr_cnt":                            useHrshv,
	"res.hdr_ip":                             useHrshv,
	"res.hdr_names":                          useHrshv,
	"res.hdr_val":                            useHrshv,
	"res.hdrs":                               useHrshv,
	"res.hdrs_bin":                           useHrshv,
	"res.len":                                useL6res,
	"res.payload":                            useL6res,
	"res.payload_lv":                         useL6res,
	"res.ssl_hello_type":                     useL6res,
	"res.ver":                                useHrshv,
	"resp_ver":                               useHrshv,
	"sc0_bytes_in_rate":                      useIntrn,
	"sc0_bytes_out_rate":                     useIntrn,
	"sc0_clr_gpc0":                           useIntrn,
	"sc0_clr_gpc1":                           useIntrn,
	"sc0_conn_cnt":                           useIntrn,
	"sc0_conn_cur":                           useIntrn,
	"sc0_conn_rate":                          useIntrn,
	"sc0_get_gpc0":                           useIntrn,
	"sc0_get_gpc1":                           useIntrn,
	"sc0_get_gpt0":                           useIntrn,
	"sc0_gpc0_rate":                          useIntrn,
	"sc0_gpc1_rate":                          useIntrn,
	"sc0_http_err_cnt":                       useIntrn,
	"sc0_http_err_rate":                      useIntrn,
	"sc0_http_fail_cnt":                      useIntrn,
	"sc0_http_fail_rate":                     useIntrn,
	"sc0_http_req_cnt":                       useIntrn,
	"sc0_http_req_rate":                      useIntrn,
	"sc0_inc_gpc0":                           useIntrn,
	"sc0_inc_gpc1":                           useIntrn,
	"sc0_kbytes_in":                          useL4cli,
	"sc0_kbytes_out":                         useL4cli,
	"sc0_sess_cnt":                           useIntrn,
	"sc0_sess_rate":                          useIntrn,
	"sc0_tracked":                            useIntrn,
	"sc0_trackers":                           useIntrn,
	"sc1_bytes_in_rate":                      useIntrn,
	"sc1_bytes_out_rate":                     useIntrn,
	"sc1_clr_gpc":                            useIntrn,
	"sc1_clr_gpc0":                           useIntrn,
	"sc1_clr_gpc1":                           useIntrn,
	"sc1_conn_cnt":                           useIntrn,
	"sc1_conn_cur":                           useIntrn,
	"sc1_conn_rate":                          useIntrn,
	"sc1_get_gpc0":                           useIntrn,
	"sc1_get_gpc1":                           useIntrn,
	"sc1_get_gpt0":                           useIntrn,
	"sc1_gpc0_rate":                          useIntrn,
	"sc1_gpc1_rate":                          useIntrn,
	"sc1_http_err_cnt":                       useIntrn,
	"sc1_http_err_rate":                      useIntrn,
	"sc1_http_fail_cnt":                      useIntrn,
	"sc1_http_fail_rate":                     useIntrn,
	"sc1_http_req_cnt":                       useIntrn,
	"sc1_http_req_rate":                      useIntrn,
	"sc1_inc_gpc0":                           useIntrn,
	"sc1_inc_gpc1":                           useIntrn,
	"sc1_kbytes_in":                          useL4cli,
	"sc1_kbytes_out":                         useL4cli,
	"sc1_sess_cnt":                           useIntrn,
	"sc1_sess_rate":                          useIntrn,
	"sc1_tracked":                            useIntrn,
	"sc1_trackers":                           useIntrn,
	"sc2_bytes_in_rate":                      useIntrn,
	"sc2_bytes_out_rate":                     useIntrn,
	"sc2_clr_gpc0":                           useIntrn,
	"sc2_clr_gpc1":                           useIntrn,
	"sc2_conn_cnt":                           useIntrn,
	"sc2_conn_cur":                           useIntrn,
	"sc2_conn_rate":                          useIntrn,
	"sc2_get_gpc0":                           useIntrn,
	"sc2_get_gpc1":                           useIntrn,
	"sc2_get_gpt0":                           useIntrn,
	"sc2_gpc0_rate":                          useIntrn,
	"sc2_gpc1_rate":                          useIntrn,
	"sc2_http_err_cnt":                       useIntrn,
	"sc2_http_err_rate":                      useIntrn,
	"sc2_http_fail_cnt":                      useIntrn,
	"sc2_http_fail_rate":                     useIntrn,
	"sc2_http_req_cnt":                       useIntrn,
	"sc2_http_req_rate":                      useIntrn,
	"sc2_inc_gpc0":                           useIntrn,
	"sc2_inc_gpc1":                           useIntrn,
	"sc2_kbytes_in":                          useL4cli,
	"sc2_kbytes_out":                         useL4cli,
	"sc2_sess_cnt":                           useIntrn,
	"sc2_sess_rate":                          useIntrn,
	"sc2_tracked":                            useIntrn,
	"sc2_trackers":                           useIntrn,
	"sc_bytes_in_rate":                       useIntrn,
	"sc_bytes_out_rate":                      useIntrn,
	"sc_clr_gpc":                             useIntrn,
	"sc_clr_gpc0":                            useIntrn,
	"sc_clr_gpc1":                            useIntrn,
	"sc_conn_cnt":                            useIntrn,
	"sc_conn_cur":                            useIntrn,
	"sc_conn_rate":                           useIntrn,
	"sc_get_gpc":                             useIntrn,
	"sc_get_gpc0":                            useIntrn,
	"sc_get_gpc1":                            useIntrn,
	"sc_get_gpt":                             useIntrn,
	"sc_get_gpt0":                            useIntrn,
	"sc_gpc0_rate":                           useIntrn,
	"sc_gpc1_rate":                           useIntrn,
	"sc_gpc_rate":                            useIntrn,
	"sc_http_err_cnt":                        useIntrn,
	"sc_http_err_rate":                       useIntrn,
	"sc_http_fail_cnt":                       useIntrn,
	"sc_http_fail_rate":                      useIntrn,
	"sc_http_req_cnt":                        useIntrn,
	"sc_http_req_rate":                       useIntrn,
	"sc_inc_gpc":                             useIntrn,
	"sc_inc_gpc0":                            useIntrn,
	"sc_inc_gpc1":                            useIntrn,
	"sc_kbytes_in":                           useL4cli,
	"sc_kbytes_out":                          useL4cli,
	"sc_sess_cnt":                            useIntrn,
	"sc_sess_rate":                           useIntrn,
	"sc_tracked":                             useIntrn,
	"sc_trackers":                            useIntrn,
	"scook":                                  useHrshv,
	"scook_cnt":                              useHrshv,
	"scook_val":                              useHrshv,
	"shdr":                                   useHrshv,
	"shdr_cnt":                               useHrshv,
	"shdr_ip":                                useHrshv,
	"shdr_val":                               useHrshv,
	"so_id":                                  useFtend,
	"so_name":                                useFtend,
	"src":                                    useL4cli,
	"src_bytes_in_rate":                      useL4cli,
	"src_bytes_out_rate":                     useL4cli,
	"src_clr_gpc":                            useL4cli,
	"src_clr_gpc0":                           useL4cli,
	"src_clr_gpc1":                           useL4cli,
	"src_conn_cnt":                           useL4cli,
	"src_conn_cur":                           useL4cli,
	"src_conn_rate":                          useL4cli,
	"src_get_gpc":                            useL4cli,
	"src_get_gpc0":                           useL4cli,
	"src_get_gpc1":                           useL4cli,
	"src_get_gpt":                            useL4cli,
	"src_get_gpt0":                           useL4cli,
	"src_gpc0_rate":                          useL4cli,
	"src_gpc1_rate":                          useL4cli,
	"src_gpc_rate":                           useL4cli,
	"src_http_err_cnt":                       useL4cli,
	"src_http_err_rate":                      useL4cli,
	"src_http_fail_cnt":                      useL4cli,
	"src_http_fail_rate":                     useL4cli,
	"src_http_req_cnt":                       useL4cli,
	"src_http_req_rate":                      useL4cli,
	"src_inc_gpc":                            useL4cli,
	"src_inc_gpc0":                           useL4cli,
	"src_inc_gpc1":                           useL4cli,
	"src_is_local":                           useL4cli,
	"src_kbytes_in":                          useL4cli,
	"src_kbytes_out":                         useL4cli,
	"src_port":                               useL4cli,
	"src_sess_cnt":                           useL4cli,
	"src_sess_rate":                          useL4cli,
	"src_updt_conn_cnt":                      useL4cli,
	"srv_conn":                               useIntrn,
	"srv_conn_free":                          useIntrn,
	"srv_id":                                 useServr,
	"srv_is_up":                              useIntrn,
	"srv_iweight":                            useIntrn,
	"srv_name":                               useServr,
	"srv_queue":                              useIntrn,
	"srv_sess_rate":                          useIntrn,
	"srv_uweight":                            useIntrn,
	"srv_weight":                             useIntrn,
	"ssl_bc":                                 useL5srv,
	"ssl_bc_alg_keysize":                     useL5srv,
	"ssl_bc_alpn":                            useL5srv,
	"ssl_bc_cipher":                          useL5srv,
	"ssl_bc_client_random":                   useL5srv,
	"ssl_bc_err":                             useL5srv,
	"ssl_bc_err_str":                         useL5srv,
	"ssl_bc_is_resumed":                      useL5srv,
	"ssl_bc_npn":                             useL5srv,
	"ssl_bc_protocol":                        useL5srv,
	"ssl_bc_server_random":                   useL5srv,
	"ssl_bc_session_id":                      useL5srv,
	"ssl_bc_session_key":                     useL5srv,
	"ssl_bc_unique_id":                       useL5srv,
	"ssl_bc_use_keysize":                     useL5srv,
	"ssl_c_ca_err":                           useL5cli,
	"ssl_c_ca_err_depth":                     useL5cli,
	"ssl_c_chain_der":                        useL5cli,
	"ssl_c_der":                              useL5cli,
	"ssl_c_err":                              useL5cli,
	"ssl_c_i_dn":                             useL5cli,
	"ssl_c_key_alg":                          useL5cli,
	"ssl_c_notafter":                         useL5cli,
	"ssl_c_notbefore":                        useL5cli,
	"ssl_c_s_dn":                             useL5cli,
	"ssl_c_serial":                           useL5cli,
	"ssl_c_sha1":                             useL5cli,
	"ssl_c_sig_alg":                          useL5cli,
	"ssl_c_used":                             useL5cli,
	"ssl_c_verify":                           useL5cli,
	"ssl_c_version":                          useL5cli,
	"ssl_f_der":                              useL5cli,
	"ssl_f_i_dn":                             useL5cli,
	"ssl_f_key_alg":                          useL5cli,
	"ssl_f_notafter":                         useL5cli,
	"ssl_f_notbefore":                        useL5cli,
	"ssl_f_s_dn":                             useL5cli,
	"ssl_f_serial":                           useL5cli,
	"ssl_f_sha1":                             useL5cli,
	"ssl_f_sig_alg":                          useL5cli,
	"ssl_f_version":                          useL5cli,
	"ssl_fc":                                 useL5cli,
	"ssl_fc_alg_keysize":                     useL5cli,
	"ssl_fc_alpn":                            useL5cli,
	"ssl_fc_cipher":                          useL5cli,
	"ssl_fc_cipherlist_bin":                  useL5cli,
	"ssl_fc_cipherlist_hex":                  useL5cli,
	"ssl_fc_cipherlist_str":                  useL5cli,
	"ssl_fc_cipherlist_xxh":                  useL5cli,
	"ssl_fc_client_early_traffic_secret":     useL5cli,
	"ssl_fc_client_handshake_traffic_secret": useL5cli,
	"ssl_fc_client_random":                   useL5cli,
	"ssl_fc_client_traffic_secret_0":         useL5cli,
	"ssl_fc_early_exporter_secret":           useL5cli,
	"ssl_fc_ecformats_bin":                   useL5cli,
	"ssl_fc_eclist_bin":                      useL5cli,
	"ssl_fc_err":                             useL5cli,
	"ssl_fc_err_str":                         useL5cli,
	"ssl_fc_exporter_secret":                 useL5cli,
	"ssl_fc_extlist_bin":                     useL5cli,
	"ssl_fc_has_crt":                         useL5cli,
	"ssl_fc_has_early":                       useL5cli,
	"ssl_fc_has_sni":                         useL5cli,
	"ssl_fc_is_resumed":                      useL5cli,
	"ssl_fc_npn":                             useL5cli,
	"ssl_fc_protocol":                        useL5cli,
	"ssl_fc_protocol_hello_id":               useL5cli,
	"ssl_fc_server_handshake_traffic_secret": useL5cli,
	"ssl_fc_server_random":                   useL5cli,
	"ssl_fc_server_traffic_secret_0":         useL5cli,
	"ssl_fc_session_id":                      useL5cli,
	"ssl_fc_session_key":                     useL5cli,
	"ssl_fc_sni":                             useL5cli,
	"ssl_fc_unique_id":                       useL5cli,
	"ssl_fc_use_keysize":                     useL5cli,
	"ssl_s_chain_der":                        useL5cli,
	"ssl_s_der":                              useL5cli,
	"ssl_s_i_dn":                             useL5cli,
	"ssl_s_key_alg":                          useL5cli,
	"ssl_s_notafter":                         useL5cli,
	"ssl_s_notbefore":                        useL5cli,
	"ssl_s_s_dn":                             useL5cli,
	"ssl_s_serial":                           useL5cli,
	"ssl_s_sha1":                             useL5cli,
	"ssl_s_sig_alg":                          useL5cli,
	"ssl_s_version":                          useL5cli,
	"status":                                 useHrshp,
	"stopping":                               useIntrn,
	"str":                                    useConst,
	"table_avl":                              useIntrn,
	"table_cnt":                              useIntrn,
	"thread":                                 useConst,
	"url":                                    useHrqhv,
	"url32":                                  useHrqhv,
	"url_ip":                                 useHrqhv,
	"url_param":                              useHrqhv,
	"url_port":                               useHrqhv,
	"urlp":                                   useHrqhv,
	"urlp_val":                               useHrqhv,
	"uuid":                                   useConst,
	"var":                                    useConst,
	"wait_end":                               useIntrn,
}

// useOf is what f reads: its own Use, else haproxy's for its name, else
// nothing known (valid everywhere).
func useOf(f *FetchDef) uint32 {
	if f.Use != 0 {
		return f.Use
	}
	return fetchUse[f.Name]
}

// valOf is where f may be used (the union of its sources' checkpoints).
func valOf(f *FetchDef) uint32 {
	use := useOf(f)
	if use == 0 {
		return ckAll
	}
	var val uint32
	for b := 0; b < numSources; b++ {
		if use&(1<<b) != 0 {
			val |= sourceCap[b]
		}
	}
	return val
}

// sourceNamesOf is sample_src_names: the sources of use, comma-separated.
func sourceNamesOf(use uint32) string {
	var names []string
	for b := 0; b < numSources; b++ {
		if use&(1<<b) != 0 && sourceNames[b] != "" {
			names = append(names, sourceNames[b])
		}
	}
	return strings.Join(names, ", ")
}

// Needs reports whether the expression's fetch is available at ck; when
// it is not, needs names what it reads, for haproxy's "sample fetch <...>
// may not be reliably used here because it needs '<needs>' which is not
// available here".
func (e *Expr) Needs(ck Checkpoint) (needs string, ok bool) {
	f := e.impl.fetch
	if valOf(f)&(1<<ck) != 0 {
		return "", true
	}
	return sourceNamesOf(useOf(f)), false
}

// ReadsResponse reports whether the expression's fetch reads the
// response (its status line, headers, body or buffer).
func (e *Expr) ReadsResponse() bool {
	return useOf(e.impl.fetch)&(useHrshv|useHrshp|useHrsbo|useL6res) != 0
}

// requestOnly reports whether f reads only what haproxy no longer holds
// once the request went to the server (its headers, body or buffer, not
// the persistent parts such as the method): such a fetch finds nothing in
// the rules run on the server's response.
func requestOnly(f *FetchDef) bool {
	use := useOf(f)
	return use&(useHrqhv|useHrqbo|useL6req) != 0 && use&(useHrshv|useHrshp|useHrsbo|useL6res) == 0
}

// readsRequest is what haproxy's check_trk_action tests: the fetch reads
// the request's buffer, headers, head or body.
const readsRequest = useL6req | useHrqhv | useHrqhp | useHrqbo

// ReadsRequest reports whether the expression's fetch reads the request's
// contents (buffer, headers or body), not only the connection.
func (e *Expr) ReadsRequest() bool { return useOf(e.impl.fetch)&readsRequest != 0 }

// ReadsRequest reports whether any ACL of the condition reads the
// request's contents.
func (c *Cond) ReadsRequest() bool {
	if c == nil {
		return false
	}
	for _, suite := range c.impl.suites {
		for _, term := range suite {
			for _, e := range term.acl.impl.exprs {
				if useOf(e.expr.fetch)&readsRequest != 0 {
					return true
				}
			}
		}
	}
	return false
}

// NeedsAny is Needs for an expression used at several checkpoints (a
// listen section's rule runs as frontend and as backend): ok when the
// fetch is available at one of them.
func (e *Expr) NeedsAny(cks ...Checkpoint) (needs string, ok bool) {
	f := e.impl.fetch
	for _, ck := range cks {
		if valOf(f)&(1<<ck) != 0 {
			return "", true
		}
	}
	return sourceNamesOf(useOf(f)), false
}

// Conflict is haproxy's warnif_cond_conflicts for a condition used at ck:
// the warning text (without the "parsing [file:line] : " prefix), or ""
// when every ACL can match there.
func (c *Cond) Conflict(ck Checkpoint) string {
	if c == nil {
		return ""
	}
	where := uint32(1) << ck
	for _, suite := range c.impl.suites {
		for _, term := range suite {
			var val uint32
			for _, e := range term.acl.impl.exprs {
				val |= valOf(e.expr.fetch)
			}
			if val&where == 0 {
				if term.acl.Name != "" {
					return "acl '" + term.acl.Name + "' will never match because it only involves keywords that are incompatible with '" + ck.String() + "'"
				}
				return "anonymous acl will never match because it uses keyword '" + term.acl.impl.exprs[0].expr.kw + "' which is incompatible with '" + ck.String() + "'"
			}
		}
	}
	for _, suite := range c.impl.suites {
		for _, term := range suite {
			for _, e := range term.acl.impl.exprs {
				if valOf(e.expr.fetch)&where == 0 {
					if term.acl.Name != "" {
						return "acl '" + term.acl.Name + "' involves keywords '" + e.expr.kw + "' which is incompatible with '" + ck.String() + "'"
					}
					return "anonymous acl involves keyword '" + e.expr.kw + "' which is incompatible with '" + ck.String() + "'"
				}
			}
		}
	}
	return ""
}
