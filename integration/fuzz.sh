#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME (make fuzz).
#
# A finding fails the run: the input the fuzzer wrote under testdata/fuzz is
# replayed as a plain test, and a replay that fails is a bug in our code.
# Go's fuzzing engine also fails on its own, without a finding in our code
# (golang/go#56238: "fuzzing process hung or terminated unexpectedly" with an
# input that passes when replayed; golang/go#51484: "context deadline
# exceeded" at the -fuzztime boundary): those are reported with the
# engine's output and the target is fuzzed once more, which must pass.
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-8s}
GO=${GO:-go}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# fuzz_once PKG TARGET: 0 passed, 1 real failure, 2 engine failure.
fuzz_once() {
	local pkg=$1 f=$2 dir input
	dir=$($GO list -f '{{.Dir}}' "$pkg")
	if $GO test -run '^$' -fuzz "^$f\$" -fuzztime "$FUZZTIME" "$pkg" >"$log" 2>&1; then
		return 0
	fi
	cat "$log"
	input=$(sed -n 's/.*Failing input written to testdata\/fuzz\/\([^[:space:]]*\).*/\1/p' "$log" | head -1)
	if [ -n "$input" ]; then
		# The replay runs only that input, through the same function.
		if ! $GO test -count=1 -run "^${input%%/*}\$/^${input#*/}\$" "$pkg"; then
			echo "fuzz: $pkg $f: the input $dir/testdata/fuzz/$input fails when replayed" >&2
			return 1
		fi
		echo "fuzz: $pkg $f: the engine failed, and its input passes when replayed (golang/go#56238); removed" >&2
		rm -f "$dir/testdata/fuzz/$input"
		rmdir "$dir/testdata/fuzz/${input%%/*}" "$dir/testdata/fuzz" "$dir/testdata" 2>/dev/null
		return 2
	fi
	if grep -q 'context deadline exceeded' "$log" && ! grep -q -- '--- FAIL: .*/' "$log"; then
		echo "fuzz: $pkg $f: the engine stopped at the time limit without a finding (golang/go#51484)" >&2
		return 2
	fi
	return 1
}

for pkg in $($GO list ./...); do
	for f in $($GO test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
		echo "fuzz $pkg $f ($FUZZTIME)"
		fuzz_once "$pkg" "$f"
		rc=$?
		if [ $rc = 2 ]; then
			echo "fuzz $pkg $f ($FUZZTIME): once more"
			fuzz_once "$pkg" "$f"
			rc=$?
		fi
		[ $rc = 0 ] || exit 1
	done
done
