#!/bin/bash
# Runs haproxy 2.6's own regression tests (reg-tests/*.vtc, driven by VTest)
# once with the reference haproxy and once with gproxy, and prints per
# directory: tests that apply, passed by haproxy, passed by gproxy, and the
# tests haproxy passes that gproxy fails.
#
# Neither VTest nor haproxy's tests are part of this repository: point at them.
#   VTEST_PROGRAM   the vtest binary (default: vtest on PATH)
#   REGTESTS_DIR    a reg-tests/ directory of haproxy's 2.6 branch (default:
#                   exported from HAPROXY_GIT at HAPROXY_TAG, a git clone of haproxy)
#   HAPROXY_GIT     default /work/.mirror/haproxy+haproxy/repo; HAPROXY_TAG default v2.6.0
#   REF_PROGRAM     the reference haproxy (default /usr/sbin/haproxy)
#   GPROXY_PROGRAM  gproxy (default bin/gproxy)
#   REGTESTS_DIRS   the directories to run (default: every one)
#   REGTESTS_TIMEOUT  vtest -t per test (default 10), REGTESTS_JOBS vtest -j (default 2)
#   REGTESTS_OUT    where RESULTS are written (default: printed only)
#
# A test applies as haproxy's scripts/run-regtests.sh decides: REGTEST_TYPE
# (default,bug,devel,slow), REQUIRE_VERSION[_BELOW], REQUIRE_OPTION[S],
# REQUIRE_SERVICE[S] and EXCLUDE_TARGET[S] against `PROGRAM -vv`; `feature cmd`
# lines inside a test are VTest's own (it skips the test when they fail).
set -u

die() { echo "regtests: $*" >&2; exit 2; }

VTEST_PROGRAM=${VTEST_PROGRAM:-$(command -v vtest || true)}
[ -n "$VTEST_PROGRAM" ] && [ -x "$VTEST_PROGRAM" ] || die "VTest not found: build it from github.com/vtest/VTest (make vtest) and set VTEST_PROGRAM=/path/to/vtest"
REF_PROGRAM=${REF_PROGRAM:-/usr/sbin/haproxy}
[ -x "$REF_PROGRAM" ] || die "reference haproxy not found at $REF_PROGRAM (apt-get install haproxy, or set REF_PROGRAM)"
GPROXY_PROGRAM=${GPROXY_PROGRAM:-bin/gproxy}
[ -x "$GPROXY_PROGRAM" ] || die "gproxy not found at $GPROXY_PROGRAM (make build, or set GPROXY_PROGRAM)"
GPROXY_PROGRAM=$(readlink -f "$GPROXY_PROGRAM")
TIMEOUT=${REGTESTS_TIMEOUT:-10}
JOBS=${REGTESTS_JOBS:-2}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/regtests.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$WORK"' EXIT

if [ -z "${REGTESTS_DIR:-}" ]; then
	HAPROXY_GIT=${HAPROXY_GIT:-/work/.mirror/haproxy+haproxy/repo}
	HAPROXY_TAG=${HAPROXY_TAG:-v2.6.0}
	git --git-dir="$HAPROXY_GIT" rev-parse -q --verify "$HAPROXY_TAG^{commit}" >/dev/null 2>&1 ||
		die "haproxy's reg-tests not found: set REGTESTS_DIR=/path/to/haproxy-2.6/reg-tests, or HAPROXY_GIT to a clone of haproxy with tag $HAPROXY_TAG"
	mkdir -p "$WORK/src"
	git --git-dir="$HAPROXY_GIT" archive "$HAPROXY_TAG" reg-tests | tar x -C "$WORK/src" || die "cannot export reg-tests from $HAPROXY_GIT"
	REGTESTS_DIR=$WORK/src/reg-tests
fi
[ -d "$REGTESTS_DIR" ] || die "REGTESTS_DIR=$REGTESTS_DIR is not a directory"
cd "$REGTESTS_DIR" || die "cannot enter $REGTESTS_DIR"
DIRS=${REGTESTS_DIRS:-$(find . -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)}

# version_num 2.6.12-1 -> comparable integer, as run-regtests.sh's _version.
version_num() {
	local IFS=.
	set -- $1
	local a=${1:-0} b=${2:-0} c=${3:-0} d=${4:-0}
	a=${a%%[!0-9]*} b=${b%%[!0-9]*} c=${c%%[!0-9]*} d=${d%%[!0-9]*}
	printf '%d%03d%03d%03d\n' "$((10#0$a))" "$((10#0$b))" "$((10#0$c))" "$((10#0$d))"
}

# select PROGRAM DIR: prints the tests of DIR that apply to PROGRAM.
select_tests() {
	local prog=$1 dir=$2 vv version target features services
	vv=$("$prog" -vv 2>/dev/null)
	version=$(echo "$vv" | sed -n 's/^HA-\{0,1\}Proxy version \([^ ]*\).*/\1/p' | head -1)
	target=$(echo "$vv" | sed -n 's/^ *TARGET *= *//p' | head -1)
	features=" $(echo "$vv" | sed -n 's/^Feature list : //p' | head -1) "
	services=" $(echo "$vv" | sed -n 's/^Available services : //p' | head -1) "
	[ -n "$version" ] || { echo "regtests: $prog -vv tells no 'HAProxy version'" >&2; return; }
	local f line v req_ver req_below req_opts req_svcs excl type skip alt ok o
	for f in $(find "$dir" -name '*.vtc' | sort); do
		req_ver= req_below= req_opts= req_svcs= excl= type=
		while IFS= read -r line; do
			v=${line#*=}
			case "$line" in
			"#REQUIRE_VERSION="*) req_ver=$v ;;
			"#REQUIRE_VERSION_BELOW="*) req_below=$v ;;
			"#REQUIRE_OPTIONS="*) req_opts="$req_opts,$v" ;;
			"#REQUIRE_OPTION="*) req_opts="$req_opts,${v%,*}" ;;
			"#REQUIRE_SERVICES="*) req_svcs="$req_svcs,$v" ;;
			"#REQUIRE_SERVICE="*) req_svcs="$req_svcs,${v%,*}" ;;
			"#EXCLUDE_TARGETS="*) excl="$excl,$v" ;;
			"#EXCLUDE_TARGET="*) excl="$excl,${v%,*}" ;;
			"#REGTEST_TYPE="*) type=$v ;;
			esac
		done < <(grep '^#[0-9A-Z_]*=' "$f")
		skip=
		case ",default,bug,devel,slow," in *",${type:-default},"*) ;; *) skip=1 ;; esac
		[ -n "$req_ver" ] && [ "$(version_num "$version")" -lt "$(version_num "$req_ver")" ] && skip=1
		[ -n "$req_below" ] && [ "$(version_num "$version")" -ge "$(version_num "$req_below")" ] && skip=1
		for o in ${excl//,/ }; do [ "$o" = "$target" ] && skip=1; done
		for o in ${req_opts//,/ }; do
			ok=
			for alt in ${o//|/ }; do case "$features" in *" +$alt "*) ok=1 ;; esac; done
			[ -n "$ok" ] || skip=1
		done
		for o in ${req_svcs//,/ }; do
			ok=
			for alt in ${o//|/ }; do case "$services" in *" $alt "*) ok=1 ;; esac; done
			[ -n "$ok" ] || skip=1
		done
		[ -z "$skip" ] && echo "$f"
	done
}

# run PROGRAM LABEL TESTS...: writes LABEL.passed (one test a line) and LABEL.skipped.
run_tests() {
	local prog=$1 label=$2
	shift 2
	: >"$WORK/$label.passed"
	: >"$WORK/$label.skipped"
	[ $# -gt 0 ] || return 0
	mkdir -p "$WORK/tmp.$label"
	TMPDIR="$WORK/tmp.$label" HAPROXY_PROGRAM=$prog HAPROXY_ARGS= \
		"$VTEST_PROGRAM" -b $((2 << 20)) -k -t "$TIMEOUT" -j "$JOBS" "$@" >"$WORK/$label.log" 2>&1
	sed -n 's/^#[ ]*top[ ]*TEST \(.*\) passed (.*/\1/p' "$WORK/$label.log" | sort >"$WORK/$label.passed"
	sed -n 's/^#[ ]*top[ ]*TEST \(.*\) skipped.*/\1/p' "$WORK/$label.log" | sort >"$WORK/$label.skipped"
	# Why each failed test failed: the first configuration alert (what
	# the proxy refused), else the first failed expectation.
	awk '
		/^\*    top   TEST .* starting/ { t = $4; alert = ""; fail = ""; next }
		/\|\[ALERT\]/ && alert == "" && !/Error\(s\) found|Fatal errors/ {
			alert = $0; sub(/.*\] : /, "", alert); sub(/: remove it, or keep haproxy.*/, "", alert)
		}
		/^---- / && fail == "" { fail = $0; sub(/^---- +/, "", fail) }
		/^#    top  TEST .* (FAILED|TIMED OUT)/ && t != "" {
			r = alert != "" ? alert : fail
			if (!(t in seen)) { seen[t] = 1; printf "%s\t%s\n", t, substr(r, 1, 160) }
		}
	' "$WORK/$label.log" | sort >"$WORK/$label.reasons"
}

OUT=$WORK/table
{
	echo "reg-tests: $REGTESTS_DIR"
	echo "reference: $("$REF_PROGRAM" -v | head -1)"
	echo "gproxy:    $("$GPROXY_PROGRAM" -v | head -1)"
	echo
	printf '| %-18s | %7s | %7s | %7s | %s\n' directory applies haproxy gproxy "haproxy passes, gproxy fails"
	printf '|%s|%s|%s|%s|%s\n' -------------------- --------- --------- --------- -----------------------------
} >"$OUT"
cat "$OUT"
: >"$WORK/why"
: >"$WORK/gp.all"
t_app=0 t_ref=0 t_gp=0
for d in $DIRS; do
	[ -d "$d" ] || die "no directory $d in $REGTESTS_DIR"
	select_tests "$REF_PROGRAM" "$d" >"$WORK/ref.sel"
	select_tests "$GPROXY_PROGRAM" "$d" >"$WORK/gp.sel"
	if ! cmp -s "$WORK/ref.sel" "$WORK/gp.sel"; then
		echo "regtests: $d: gproxy -vv selects other tests than haproxy -vv:" >&2
		diff "$WORK/ref.sel" "$WORK/gp.sel" >&2
	fi
	run_tests "$REF_PROGRAM" ref $(cat "$WORK/ref.sel")
	run_tests "$GPROXY_PROGRAM" gp $(cat "$WORK/gp.sel")
	# VTest's own "feature" gates skip a test inside it: it does not apply then.
	app=$(sort -u "$WORK/ref.sel" | comm -23 - "$WORK/ref.skipped" | wc -l)
	ref=$(wc -l <"$WORK/ref.passed")
	gp=$(wc -l <"$WORK/gp.passed")
	lost=$(comm -23 "$WORK/ref.passed" "$WORK/gp.passed" | sed 's|.*/||; s|\.vtc$||' | tr '\n' ' ')
	t_app=$((t_app + app)) t_ref=$((t_ref + ref)) t_gp=$((t_gp + gp))
	printf '| %-18s | %7d | %7d | %7d | %s\n' "$d" "$app" "$ref" "$gp" "$lost" | tee -a "$OUT"
	comm -23 "$WORK/ref.passed" "$WORK/gp.passed" | join -t "$(printf '\t')" - "$WORK/gp.reasons" >>"$WORK/why"
	cat "$WORK/gp.passed" >>"$WORK/gp.all"
done
printf '| %-18s | %7d | %7d | %7d |\n' total "$t_app" "$t_ref" "$t_gp" | tee -a "$OUT"
if [ -n "${REGTESTS_OUT:-}" ]; then
	{
		echo "# haproxy 2.6 reg-tests: haproxy vs gproxy"
		echo
		echo "Run on $(date -u '+%Y-%m-%d %H:%M UTC') by \`make regtests\` (integration/regtests/run.sh)."
		echo
		cat "$OUT"
		echo
		echo "## Passed by gproxy"
		echo
		sed 's/^\(.*\)$/- `\1`/' "$WORK/gp.all"
		echo
		echo "## Why gproxy fails what haproxy passes (first alert, else first failed expectation)"
		echo
		sed 's/^\([^\t]*\)\t\(.*\)/- `\1`: \2/' "$WORK/why"
	} >"$REGTESTS_OUT"
fi
