package gproxyd_test

import "testing"

// disable404Cfg: two servers of one backend with disable-on-404; the
// second one logs its checks too.
const disable404Cfg = `global
  stats socket SOCK level admin
defaults
  mode http
  timeout connect 2s
  timeout client 5s
  timeout server 5s
  timeout check 10s
backend b
  option httpchk GET /
  http-check disable-on-404
  server s1 127.0.0.1:9031 check inter 300ms rise 2 fall 2
backend c
  option httpchk GET /
  option log-health-checks
  http-check disable-on-404
  server s2 127.0.0.1:9032 check inter 300ms rise 2 fall 2
`

// TestIntegrationDisableOn404: a server answering 404 while up goes to
// NOLB (L7OKC) and back UP on a 200; one that answers 404 while down
// stays down (L7STS). Same states, check columns and log lines as
// haproxy 2.6.
func TestIntegrationDisableOn404(t *testing.T) {
	requireBins(t, "socat")
	dir := t.TempDir()
	writeCfg(t, dir, disable404Cfg)
	script := dbLabFuncs + `
printf 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok' > "$DIR/r200"
printf 'HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\nno' > "$DIR/r404"
# put SRC DST: replace an answer at once (cp truncates first: a check
# reading it then got an empty answer, "Layer7 invalid response").
put() { cp "$1" "$2.tmp" && mv "$2.tmp" "$2"; }
cp "$DIR/r200" "$DIR/a1"; cp "$DIR/r200" "$DIR/a2"
for n in 1 2; do
  socat TCP-LISTEN:903$n,fork,reuseaddr SYSTEM:"head -c 10 >/dev/null; cat $DIR/a$n" 2>/dev/null &
  for i in $(seq 100); do ss -Hltn "( sport = :903$n )" | grep -q . && break; sleep 0.02; done
done
proxies
settle b/s1:UP:L7OK c/s2:UP:L7OK
put "$DIR/r404" "$DIR/a1"; put "$DIR/r404" "$DIR/a2"
settle b/s1:NOLB:L7OKC c/s2:NOLB:L7OKC
put "$DIR/r200" "$DIR/a1"; put "$DIR/r200" "$DIR/a2"
settle b/s1:UP:L7OK c/s2:UP:L7OK
printf 'HTTP/1.1 500 Oops\r\ncontent-length: 2\r\n\r\nko' > "$DIR/r500"; put "$DIR/r500" "$DIR/a1"
settle b/s1:DOWN:L7STS
put "$DIR/r404" "$DIR/a1"
settle 'b/s1:DOWN:L7STS 404'
echo "== haproxy log"; grep -E 'Health check|Server |backend ' "$DIR/h.err"
echo "== gproxy log"; grep -E 'Health check|Server |backend ' "$DIR/g.err"
`
	out := inLab(t, dir, script)
	compareDBLab(t, out, []string{
		// (a check may be running: "NOLB * L7OKC")
		`h b/s1 NOLB `,
		`h c/s2 NOLB `,
		`Server b/s1 is stopping, reason: Layer7 check conditionally passed, code: 404`,
		`Server b/s1 is DOWN, reason: Layer7 wrong status, code: 500`,
		`Health check for server c/s2 conditionally succeeded, reason: Layer7 check conditionally passed, code: 404`,
	})
}
