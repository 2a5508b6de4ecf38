#!/bin/bash
# Runs testssl.sh (Debian's testssl.sh package) against the same TLS
# frontend served by the reference haproxy and by gproxy, and writes what
# each offers (protocols, cipher categories, forward secrecy, curves and
# groups, every cipher per protocol) side by side, marking the findings
# that differ. Not part of `make test`: one testssl.sh run takes 1 to 4
# minutes on this machine.
#
#   REF_PROGRAM      the reference haproxy (default /usr/sbin/haproxy)
#   GPROXY_PROGRAM   gproxy (default bin/gproxy)
#   TESTSSL_OUT      where the table is written (default bench/testssl.md)
set -eu

die() { echo "testssl: $*" >&2; exit 2; }
command -v testssl >/dev/null || die "testssl.sh is missing (apt-get install testssl.sh; make deps installs it)"
REF_PROGRAM=${REF_PROGRAM:-/usr/sbin/haproxy}
GPROXY_PROGRAM=$(readlink -f "${GPROXY_PROGRAM:-bin/gproxy}")
[ -x "$REF_PROGRAM" ] || die "reference haproxy not found at $REF_PROGRAM"
[ -x "$GPROXY_PROGRAM" ] || die "gproxy not found at $GPROXY_PROGRAM (make build)"
OUT=${TESTSSL_OUT:-bench/testssl.md}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/testssl.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT
mkdir "$WORK/certs"
# One RSA 2048 and one ECDSA P-256 certificate in a directory, as sites
# serving both have them; haproxy picks by the client's signature algorithms.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/k1" -out "$WORK/c1" -days 2 -subj /CN=site.test -addext subjectAltName=DNS:site.test 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/k2" -out "$WORK/c2" -days 2 -subj /CN=site.test -addext subjectAltName=DNS:site.test 2>/dev/null
cat "$WORK/c1" "$WORK/k1" > "$WORK/certs/site.pem.rsa"
cat "$WORK/c2" "$WORK/k2" > "$WORK/certs/site.pem.ecdsa"
# Debian's /etc/haproxy/haproxy.cfg TLS lines (Mozilla's intermediate).
cat > "$WORK/h.cfg" <<CFG
global
    ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384
    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:9443 ssl crt $WORK/certs/site.pem alpn h2,http/1.1
    http-request return status 200 content-type text/plain string ok
CFG

probe() { # probe NAME PROGRAM
	"$2" -db -f "$WORK/h.cfg" >"$WORK/$1.log" 2>&1 &
	local pid=$!
	for _ in $(seq 100); do ss -Hltn '( sport = :9443 )' | grep -q . && break; sleep 0.05; done
	ss -Hltn '( sport = :9443 )' | grep -q . || { cat "$WORK/$1.log" >&2; die "$1 did not start"; }
	local t0=$SECONDS
	testssl --quiet --color 0 --warnings off --ip one -p -s -f -E --jsonfile "$WORK/$1.json" 127.0.0.1:9443 >"$WORK/$1.txt" 2>&1 || true
	echo "$1: testssl took $((SECONDS - t0)) s" >&2
	kill "$pid" 2>/dev/null || die "$1 exited during the run: $(cat "$WORK/$1.log")"
	wait "$pid" 2>/dev/null || true
	for _ in $(seq 100); do ss -Hltn '( sport = :9443 )' | grep -q . || break; sleep 0.05; done
}
probe haproxy "$REF_PROGRAM"
probe gproxy "$GPROXY_PROGRAM"

python3 - "$WORK" "$OUT" "$("$REF_PROGRAM" -v | head -1)" <<'PY'
import json, sys, datetime
work, out, ref = sys.argv[1:4]
def load(n):
    d = {}
    for f in json.load(open(f"{work}/{n}.json")):
        if f["id"] in ("scanTime", "service", "pre_128cipher"):
            continue
        d[f["id"]] = f["finding"]
    return d
h, g = load("haproxy"), load("gproxy")
rows, diff = [], 0
for k in sorted(set(h) | set(g)):
    a, b = h.get(k, "(not reported)"), g.get(k, "(not reported)")
    mark = "" if a == b else "**differs**"
    diff += a != b
    rows.append(f"| {k} | {a} | {b} | {mark} |")
with open(out, "w") as o:
    o.write("# testssl.sh: haproxy 2.6 and gproxy on the same TLS frontend\n\n")
    o.write("Written by `make testssl` (integration/testssl/run.sh): testssl.sh 3.0 `-p -s -f -E` against\n")
    o.write("one frontend with Debian's default TLS settings (Mozilla intermediate, `ssl-min-ver TLSv1.2`),\n")
    o.write("an RSA 2048 and an ECDSA P-256 certificate, `alpn h2,http/1.1`.\n\n")
    o.write(f"- date: {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC; reference: {ref}\n")
    o.write(f"- findings: {len(rows)}, differing: {diff}\n\n")
    o.write("| testssl id | haproxy | gproxy | |\n|---|---|---|---|\n")
    o.write("\n".join(rows) + "\n")
print(f"{len(rows)} findings, {diff} differ; written to {out}")
PY
