#!/bin/sh
# Installs the Debian packages that `make test`, `make demo` and `make bench`
# need: the reference daemons, real peers and probes. Runs `apt-get update`
# once, and only when something is missing. Services are not started by the
# install (policy-rc.d), so nothing listens on this machine's own addresses.
set -eu
# Reference daemons and real peers; probes; what the packaging test runs in
# its chroot (service, init-functions, adduser, systemd-analyze); tmux for
# hatop, chromium for the stats page screenshot, strace for the bench;
# database servers for the health-check lab (pkg/gproxyd dbchecks); frr
# is the router of the ECMP lab (integration/scaleout); nghttp2-client
# (h2load) for the HTTP/2 measures; dnsmasq as the real DNS server
# run-time resolution follows (pkg/gproxyd dns); testssl.sh for
# `make testssl`; nftables (the nft command) reads back the nftables table
# use_vmac adds, compared with keepalived's (pkg/vmac, pkg/keepalived); slapd
# (OpenLDAP) for the ldap-check lab (pkg/gproxyd ldap), ldap-utils to probe it.
PKGS="haproxy keepalived nginx-light rsyslog wrk python3-aiosmtpd socat tcpdump
tshark psmisc iproute2 prometheus-haproxy-exporter hatop curl openssl
util-linux procps dpkg-dev lintian tmux strace chromium systemd
systemd-container mmdebstrap
init-system-helpers sysvinit-utils adduser redis-server postgresql
mariadb-server frr nghttp2-client dnsmasq-base testssl.sh nftables
slapd ldap-utils"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing Debian packages:$missing; run as root to install them" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
cleanup() { rm -f /usr/sbin/policy-rc.d; }
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap cleanup EXIT
fi
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
