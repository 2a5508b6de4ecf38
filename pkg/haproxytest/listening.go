package haproxytest

import (
	"bufio"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// Listening tells whether a TCP socket of this network namespace listens
// on addr (host:port; an empty or unspecified host matches any), read
// from /proc/net/tcp and tcp6. It binds nothing: probing by listening on
// the address itself, as the waits did before, holds the port for a
// moment, and a proxy binding it in that moment fails with "Address
// already in use" (haproxy sets SO_REUSEPORT, Go's listener does not).
func Listening(addr string) bool {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	port, err := strconv.ParseUint(ps, 10, 16)
	if err != nil {
		return false
	}
	var want netip.Addr
	if host != "" && host != "*" {
		if want, err = netip.ParseAddr(host); err != nil {
			return false
		}
		want = want.Unmap()
	}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if listensIn(f, want, uint16(port)) {
			return true
		}
	}
	return false
}

// listensIn scans one /proc/net/tcp* table for a LISTEN socket (state
// 0A) on port whose address is want, or either side's wildcard.
func listensIn(path string, want netip.Addr, port uint16) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[3] != "0A" {
			continue
		}
		ip, p, ok := procAddr(fields[1])
		if !ok || p != port {
			continue
		}
		if !want.IsValid() || want.IsUnspecified() || ip.IsUnspecified() || ip == want {
			return true
		}
	}
	return false
}

// procAddr decodes a /proc/net/tcp address: the IP as 32-bit words in
// host (little-endian) order, then the port in hex.
func procAddr(s string) (netip.Addr, uint16, bool) {
	h, ps, ok := strings.Cut(s, ":")
	if !ok {
		return netip.Addr{}, 0, false
	}
	p, err := strconv.ParseUint(ps, 16, 16)
	if err != nil {
		return netip.Addr{}, 0, false
	}
	b, err := hex.DecodeString(h)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return netip.Addr{}, 0, false
	}
	for i := 0; i < len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	ip, _ := netip.AddrFromSlice(b)
	return ip.Unmap(), uint16(p), true
}
