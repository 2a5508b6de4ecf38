// Package haproxycfg reads haproxy.cfg, as haproxy 2.6 does, into a
// validated model (model.go) with every `defaults` value already resolved
// into each proxy.
//
// The grammar follows the haproxy 2.6 configuration manual: section 2.2
// (quoting, escaping and environment variables, lex.go), 2.4
// (conditional blocks, cond.go), 3 (global, kw_global.go), 4 (proxies,
// kw_proxy.go, kw_bind.go, kw_log.go), 5.2 (server options, kw_server.go)
// and 11 (address formats, addr.go). Whole-configuration checks (backend
// references, proxy ids, haproxy's advisory warnings) are in validate.go.
//
// Diagnostics (diag.go) reproduce haproxy 2.6.12's wording and line shape
// where haproxy has the same message, checked against the installed
// binary by TestReferenceMessages. Differences on purpose:
//
//   - the pre-2.1 spellings (clitimeout, srvtimeout, contimeout, `listen
//     NAME ADDR:PORT`) are accepted, with haproxy 2.0's deprecation
//     warning for the timeouts, since the seed configuration uses them;
//   - keywords haproxy has and gproxy does not implement are classed in
//     one table (keywords.go): tuning-only ones are accepted with a
//     warning saying they are ignored, the others are refused with an
//     alert naming the keyword (KEYWORDS.md lists them all);
//   - numbers haproxy reads with atol() ("maxconn abc" = 0) are refused;
//   - host and user names are not resolved while parsing (parsing is
//     pure); the runtime resolves them;
//   - parsing goes on after a faulty section header or `.if`, so that
//     every problem is listed, where haproxy stops reading the file.
package haproxycfg
