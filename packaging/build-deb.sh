#!/bin/sh
# Builds dist/gproxy_VERSION_ARCH.deb and dist/gkeepalived_VERSION_ARCH.deb
# from bin/ (make build) with dpkg-deb, offline.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
VERSION=${VERSION:-$(sed -n 's/^const Version = "\(.*\)"/\1/p' pkg/gproxyd/args.go)}
ARCH=$(dpkg --print-architecture)
out="$top/dist"
rm -rf "$out/root"
mkdir -p "$out"

# stage NAME: creates the tree and DEBIAN/ files shared by both packages.
stage() {
	d="$out/root/$1"
	mkdir -p "$d/DEBIAN" "$d/usr/sbin" "$d/usr/share/doc/$1" "$d/lib/systemd/system" "$d/etc/init.d" "$d/etc/default"
	cp README.md "$d/usr/share/doc/$1/README.md"
	echo "$d"
}

# --- gproxy: replaces haproxy ---
d=$(stage gproxy)
install -m 0755 bin/gproxy "$d/usr/sbin/gproxy"
ln -s gproxy "$d/usr/sbin/haproxy"
install -m 0755 packaging/gproxy/haproxy.init "$d/etc/init.d/haproxy"
install -m 0644 packaging/gproxy/haproxy.default "$d/etc/default/haproxy"
install -m 0644 packaging/gproxy/haproxy.service "$d/lib/systemd/system/haproxy.service"
install -D -m 0644 packaging/gproxy/haproxy.cfg "$d/etc/haproxy/haproxy.cfg"
install -D -m 0644 packaging/gproxy/haproxy.logrotate "$d/etc/logrotate.d/haproxy"
install -D -m 0644 packaging/gproxy/haproxy.rsyslog "$d/etc/rsyslog.d/49-haproxy.conf"
install -d "$d/var/lib/haproxy"
for f in postinst postrm prerm; do install -m 0755 "packaging/gproxy/$f" "$d/DEBIAN/$f"; done
cat > "$d/DEBIAN/conffiles" <<CONF
/etc/haproxy/haproxy.cfg
/etc/default/haproxy
/etc/init.d/haproxy
/etc/logrotate.d/haproxy
/etc/rsyslog.d/49-haproxy.conf
CONF
cat > "$d/DEBIAN/control" <<CTRL
Package: gproxy
Version: $VERSION
Architecture: $ARCH
Maintainer: gproxy developers <gproxy@localhost>
Section: net
Priority: optional
Depends: adduser
Provides: haproxy
Replaces: haproxy
Conflicts: haproxy
Installed-Size: $(du -sk "$d" | cut -f1)
Description: drop-in replacement for HAProxy, written in Go
 gproxy reads haproxy.cfg, serves TCP and HTTP listeners, balances over
 backend servers, logs to syslog in haproxy's formats and shows a stats
 page. It installs /usr/sbin/haproxy, the init script and the systemd unit,
 so existing configurations and tools keep working.
CTRL
dpkg-deb --root-owner-group --build "$d" "$out/gproxy_${VERSION}_${ARCH}.deb" >/dev/null

# --- gkeepalived: replaces keepalived ---
d=$(stage gkeepalived)
install -m 0755 bin/gkeepalived "$d/usr/sbin/gkeepalived"
ln -s gkeepalived "$d/usr/sbin/keepalived"
install -m 0755 packaging/gkeepalived/keepalived.init "$d/etc/init.d/keepalived"
install -m 0644 packaging/gkeepalived/keepalived.default "$d/etc/default/keepalived"
install -m 0644 packaging/gkeepalived/keepalived.service "$d/lib/systemd/system/keepalived.service"
install -D -m 0644 packaging/gkeepalived/keepalived.conf.sample "$d/etc/keepalived/keepalived.conf.sample"
for f in postinst postrm prerm; do install -m 0755 "packaging/gkeepalived/$f" "$d/DEBIAN/$f"; done
cat > "$d/DEBIAN/conffiles" <<CONF
/etc/default/keepalived
/etc/init.d/keepalived
/etc/keepalived/keepalived.conf.sample
CONF
cat > "$d/DEBIAN/control" <<CTRL
Package: gkeepalived
Version: $VERSION
Architecture: $ARCH
Maintainer: gproxy developers <gproxy@localhost>
Section: admin
Priority: optional
Depends: psmisc
Provides: keepalived
Replaces: keepalived
Conflicts: keepalived
Installed-Size: $(du -sk "$d" | cut -f1)
Description: drop-in replacement for keepalived's VRRP, written in Go
 gkeepalived reads keepalived.conf, speaks VRRP v2/v3 (no auth, PASS and AH,
 byte-compatible with keepalived 2.2.7), runs track scripts, moves virtual
 IPs with gratuitous ARP and mails the admin on state changes. It installs
 /usr/sbin/keepalived, the init script and the systemd unit.
CTRL
dpkg-deb --root-owner-group --build "$d" "$out/gkeepalived_${VERSION}_${ARCH}.deb" >/dev/null
rm -rf "$out/root"
ls -1 "$out"/*.deb
