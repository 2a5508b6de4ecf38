// Package keepalivedcfg reads keepalived.conf as keepalived 2.2.7 does and
// turns it into a validated model for gkeepalived's VRRP runtime.
//
// Parsing is pure: text in, model and diagnostics out, no sockets, so
// `gkeepalived -t` needs no privileges. Includes are read through a
// FileSystem (the real one for ParseFile, an fs.FS in tests).
//
// The grammar follows keepalived's lib/parser.c: '#' and '!' comments
// anywhere outside double quotes, "@ID" config-id prefixes, include globs
// relative to the including file, every '{' and '}' a line of its own
// (so a brace may sit on the keyword's line or the next), and script
// lines re-split with quotes and escapes (lib/notify.c). Keyword handlers
// and checks follow keepalived/core/global_parser.c,
// keepalived/vrrp/vrrp_parser.c and vrrp.c (vrrp_complete_instance), with
// the same messages, so that what `keepalived -t` prints, Diagnostic.String
// prints; ConfigTestExitCode gives keepalived -t's exit status.
//
// Keywords (table.go) lists every keyword keepalived 2.2.7 knows as works,
// cosmetic (a warning with file:line) or refused: a refused keyword is a
// Fatal diagnostic with file:line naming the missing feature, so
// `gkeepalived -t` exits non-zero and the daemon does not start.
// Options.Interfaces and Options.CheckScript add keepalived's start-up
// checks of interfaces and scripts (on this host), which -t makes too.
//
// Defaults and corrections are applied in the model: priority 255 for
// `state MASTER` without a priority (else 100), `state MASTER` with AH
// below 255 cleared to BACKUP, auth_pass cut to 8 bytes, VRRPv2
// advert_int rounded to whole seconds and v3 to 10 ms, authentication
// dropped for VRRPv3, the global GARP settings copied into instances, the
// script timeout defaulting to its interval.
package keepalivedcfg
