#!/bin/sh
# Records what keepalived 2.2.7 says about each testdata/*.conf with -t,
# for TestAgainstKeepalived. Run as root from the package directory:
#   sh testdata/record-keepalived.sh
# Each config is tested in a private network namespace that has two veth
# interfaces named eth0 and eth1 (no addresses, nothing leaves it), with
# config id lb1 so "@lb1" lines apply.
set -e
cd "$(dirname "$0")/.."
for f in testdata/*.conf; do
	out="${f%.conf}.keepalived"
	unshare --net sh -c '
		ip link add eth0 type veth peer name eth1
		ip link set lo up; ip link set eth0 up; ip link set eth1 up
		keepalived -t -l -D -i lb1 -f "$0" 2>&1
		echo "rc=$?"' "$f" > "$out" || true
	echo "$out"
done
