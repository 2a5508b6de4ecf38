#!/bin/sh
# Builds gproxy_VERSION_ARCH.deb and gkeepalived_VERSION_ARCH.deb with
# dpkg-deb, offline.
#
# Environment:
#   BINDIR   where gproxy, gkeepalived and gkeepalived-bgp are (default: bin, as `make build`)
#   DISTDIR  where the .deb files go (default: dist)
#   VERSION  package version (default: gproxyd.Version from the source)
#   ARCH     Debian architecture (default: dpkg --print-architecture)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BINDIR=$(cd "${BINDIR:-bin}" && pwd)
VERSION=${VERSION:-$(sed -n 's/^const Version = "\(.*\)"/\1/p' pkg/gproxyd/args.go)}
ARCH=${ARCH:-$(dpkg --print-architecture)}
mkdir -p "${DISTDIR:-dist}"
out=$(cd "${DISTDIR:-dist}" && pwd)
for b in gproxy gkeepalived gkeepalived-bgp; do
	[ -x "$BINDIR/$b" ] || { echo "build-deb.sh: $BINDIR/$b missing: run make build" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 022
# Reproducible timestamps in the archives and the changelog.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

# stage NAME: the tree and the files every Debian package carries.
stage() {
	d="$work/$1"
	mkdir -p "$d/DEBIAN" "$d/usr/sbin" "$d/usr/share/doc/$1" "$d/lib/systemd/system" "$d/etc/init.d"
	install -m 0644 README.md "$d/usr/share/doc/$1/README.md"
	install -m 0644 packaging/copyright "$d/usr/share/doc/$1/copyright"
	{
		printf '%s (%s) unstable; urgency=medium\n\n' "$1" "$VERSION"
		printf '  * Built from the hapair tree by packaging/build-deb.sh.\n\n'
		printf ' -- hapair developers <hapair@example.org>  %s\n' "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
	} | gzip -9n > "$d/usr/share/doc/$1/changelog.gz"
	# Go binaries built with CGO_ENABLED=0 are static on purpose.
	mkdir -p "$d/usr/share/lintian/overrides"
	printf '%s: statically-linked-binary [usr/sbin/%s]\n' "$1" "$1" > "$d/usr/share/lintian/overrides/$1"
	chmod 0644 "$d/usr/share/lintian/overrides/$1"
	echo "$d"
}

# finish NAME DIR: md5sums, sizes, then the archive.
finish() {
	(cd "$2" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$2/DEBIAN/md5sums"
	chmod 0644 "$2/DEBIAN/md5sums" "$2/DEBIAN/conffiles" "$2/DEBIAN/control"
	find "$2" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	dpkg-deb --root-owner-group -Zxz --build "$2" "$out/$1_${VERSION}_${ARCH}.deb" >/dev/null
	echo "$out/$1_${VERSION}_${ARCH}.deb"
}

# man DIR NAME ALIAS: section 8 page NAME, and ALIAS pointing to it.
man() {
	mkdir -p "$1/usr/share/man/man8"
	gzip -9n < "packaging/$2/$2.8" > "$1/usr/share/man/man8/$2.8.gz"
	chmod 0644 "$1/usr/share/man/man8/$2.8.gz"
	ln -s "$2.8.gz" "$1/usr/share/man/man8/$3.8.gz"
}

size() { du -sk --exclude=DEBIAN "$1" | cut -f1; }

# --- gproxy: replaces haproxy ---
d=$(stage gproxy)
install -m 0755 "$BINDIR/gproxy" "$d/usr/sbin/gproxy"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$d/usr/sbin/gproxy"
# Started as /usr/sbin/haproxy the process is called haproxy (killall -0 haproxy).
ln -s gproxy "$d/usr/sbin/haproxy"
man "$d" gproxy haproxy
install -m 0755 packaging/gproxy/haproxy.init "$d/etc/init.d/haproxy"
# haproxy.cfg and /etc/default/haproxy are the files administrators edit,
# and Debian's haproxy ships both as conffiles with other contents: as
# conffiles of ours, an edited one would stop `apt install ./gproxy_*.deb`
# in place of Debian's at dpkg's "modified configuration file" prompt.
# Shipped under /usr/share instead; postinst puts them in /etc when absent
# and never replaces them.
install -D -m 0644 packaging/gproxy/haproxy.default "$d/usr/share/gproxy/default.haproxy"
install -m 0644 packaging/gproxy/haproxy.service "$d/lib/systemd/system/haproxy.service"
install -D -m 0644 packaging/gproxy/haproxy.cfg "$d/usr/share/gproxy/haproxy.cfg"
install -D -m 0644 packaging/gproxy/haproxy.logrotate "$d/etc/logrotate.d/haproxy"
install -D -m 0644 packaging/gproxy/haproxy.rsyslog "$d/etc/rsyslog.d/49-haproxy.conf"
install -D -m 0644 packaging/gproxy/haproxy.tmpfiles "$d/usr/lib/tmpfiles.d/haproxy.conf"
install -d -m 0755 "$d/var/lib/haproxy/dev"
for f in preinst postinst postrm prerm; do install -m 0755 "packaging/gproxy/$f" "$d/DEBIAN/$f"; done
# ENABLED=0 in /etc/default/haproxy is honoured on purpose: guides for the
# older packages (the seed among them) set ENABLED=1 there.
printf '%s\n' "gproxy: init.d-script-should-always-start-service [etc/default/haproxy:*]" >> "$d/usr/share/lintian/overrides/gproxy"
cat > "$d/DEBIAN/conffiles" <<CONF
/etc/init.d/haproxy
/etc/logrotate.d/haproxy
/etc/rsyslog.d/49-haproxy.conf
CONF
cat > "$d/DEBIAN/control" <<CTRL
Package: gproxy
Version: $VERSION
Architecture: $ARCH
Maintainer: hapair developers <hapair@example.org>
Installed-Size: $(size "$d")
Pre-Depends: init-system-helpers (>= 1.54~)
Depends: adduser
Provides: haproxy
Conflicts: haproxy
Replaces: haproxy
Section: net
Priority: optional
Description: drop-in replacement for HAProxy, written in Go
 gproxy reads haproxy.cfg, serves TCP and HTTP listeners, balances over
 backend servers, logs to syslog in haproxy's formats and shows a stats
 page. It installs /usr/sbin/haproxy, the init script and the systemd unit,
 so existing configurations and tools keep working.
CTRL
finish gproxy "$d"

# --- gkeepalived: replaces keepalived ---
d=$(stage gkeepalived)
install -m 0755 "$BINDIR/gkeepalived" "$d/usr/sbin/gkeepalived"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$d/usr/sbin/gkeepalived"
ln -s gkeepalived "$d/usr/sbin/keepalived"
# The bgp block's speaker (GoBGP), a process of its own that gkeepalived
# starts only for a configuration with a bgp block.
install -D -m 0755 "$BINDIR/gkeepalived-bgp" "$d/usr/lib/gkeepalived/gkeepalived-bgp"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$d/usr/lib/gkeepalived/gkeepalived-bgp"
printf '%s\n' "gkeepalived: statically-linked-binary [usr/lib/gkeepalived/gkeepalived-bgp]" >> "$d/usr/share/lintian/overrides/gkeepalived"
man "$d" gkeepalived keepalived
install -m 0755 packaging/gkeepalived/keepalived.init "$d/etc/init.d/keepalived"
# As for gproxy: DAEMON_ARGS is edited, Debian's keepalived ships the file.
install -D -m 0644 packaging/gkeepalived/keepalived.default "$d/usr/share/gkeepalived/default.keepalived"
install -m 0644 packaging/gkeepalived/keepalived.service "$d/lib/systemd/system/keepalived.service"
install -D -m 0644 packaging/gkeepalived/keepalived.conf.sample "$d/etc/keepalived/keepalived.conf.sample"
for f in preinst postinst postrm prerm; do install -m 0755 "packaging/gkeepalived/$f" "$d/DEBIAN/$f"; done
cat > "$d/DEBIAN/conffiles" <<CONF
/etc/init.d/keepalived
/etc/keepalived/keepalived.conf.sample
CONF
cat > "$d/DEBIAN/control" <<CTRL
Package: gkeepalived
Version: $VERSION
Architecture: $ARCH
Maintainer: hapair developers <hapair@example.org>
Installed-Size: $(size "$d")
Pre-Depends: init-system-helpers (>= 1.54~)
Recommends: psmisc
Provides: keepalived
Conflicts: keepalived
Replaces: keepalived
Section: admin
Priority: optional
Description: drop-in replacement for keepalived's VRRP, written in Go
 gkeepalived reads keepalived.conf, speaks VRRP v2/v3 (no auth, PASS and AH,
 byte-compatible with keepalived 2.2.7), runs track scripts, moves virtual
 IPs with gratuitous ARP and mails the admin on state changes. It installs
 /usr/sbin/keepalived, the init script and the systemd unit. Its optional
 bgp block (an extension) announces service addresses over BGP through
 /usr/lib/gkeepalived/gkeepalived-bgp, GoBGP in a process of its own.
CTRL
finish gkeepalived "$d"
