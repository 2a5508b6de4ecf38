package haproxycfg

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
)

// SockKind is a stream socket address family other than IP (configuration
// manual section 11, "Address formats").
type SockKind int

const (
	SockNone SockKind = iota // an IP address (Host, Port)
	SockUnix                 // "/path", "unix@path", "uxst@path": a UNIX socket file
	SockABNS                 // "abns@name": Linux's abstract namespace
	SockFD                   // "fd@N": a listening socket inherited as descriptor N (bind only)
	SockPair                 // "sockpair@N": connections received over socketpair N (bind only)
)

// SockAddr is a non-IP stream socket: a UNIX socket file, an abstract
// name, or an inherited descriptor.
type SockAddr struct {
	Kind SockKind
	Path string // SockUnix: the file; SockABNS: the name
	FD   int    // SockFD, SockPair
}

// IsSet reports whether the address is a non-IP one.
func (a SockAddr) IsSet() bool { return a.Kind != SockNone }

// String is the address as written in haproxy's syntax.
func (a SockAddr) String() string {
	switch a.Kind {
	case SockUnix:
		return "unix@" + a.Path
	case SockABNS:
		return "abns@" + a.Path
	case SockFD:
		return "fd@" + strconv.Itoa(a.FD)
	case SockPair:
		return "sockpair@" + strconv.Itoa(a.FD)
	}
	return ""
}

// abnsPathLen is sizeof(sun_path): haproxy binds and connects abstract
// names padded with NULs to the whole of sun_path, so a peer must use the
// same padded name to meet it (socat's ABSTRACT-CONNECT does not pad).
const abnsPathLen = 108

// UnixName is the name for Go's net.UnixAddr: the path, or for an abstract
// name "@" followed by the name padded as haproxy pads it.
func (a SockAddr) UnixName() string {
	if a.Kind != SockABNS {
		return a.Path
	}
	return "@" + a.Path + strings.Repeat("\x00", abnsPathLen-1-len(a.Path))
}

// dialToken stands for the address where an HTTP client needs a host:port
// (the backend transport turns it back with ParseDialToken).
func (a SockAddr) dialToken() string {
	return "sock-" + strconv.Itoa(int(a.Kind)) + "-" + hex.EncodeToString([]byte(a.Path)) + ".invalid:1"
}

// ParseDialToken returns the socket address a Server.Address token stands
// for, and false for an ordinary host:port.
func ParseDialToken(addr string) (SockAddr, bool) {
	rest, ok := strings.CutPrefix(addr, "sock-")
	if !ok {
		return SockAddr{}, false
	}
	rest, ok = strings.CutSuffix(rest, ".invalid:1")
	k, h, ok2 := strings.Cut(rest, "-")
	if !ok || !ok2 {
		return SockAddr{}, false
	}
	kind, err1 := strconv.Atoi(k)
	path, err2 := hex.DecodeString(h)
	if err1 != nil || err2 != nil {
		return SockAddr{}, false
	}
	return SockAddr{Kind: SockKind(kind), Path: string(path)}, true
}

// parseSockAddr reads the non-IP address forms: pfx is the prefix before
// '@' ("" for a plain /path), rest what follows it, full the whole
// argument. listen says whether the address is listened on (fd@ and
// sockpair@ are only for that). It returns haproxy's message when the
// address is malformed, and ok=false when the form is not one gproxy
// serves.
func (p *parser) parseSockAddr(pfx, rest, full string, listen bool) (a SockAddr, msg string, ok bool) {
	switch pfx {
	case "", "unix", "uxst", "abns":
		k, max := SockUnix, abnsPathLen-1-len(".65535.tmp")
		if pfx == "abns" {
			// haproxy renames a socket file into place from
			// "<path>.<pid>.tmp"; an abstract name needs no room for that.
			k, max = SockABNS, abnsPathLen-1
		}
		// An empty path passes the check, as in haproxy; binding it fails.
		if len(rest) > max {
			return a, fmt.Sprintf("socket path '%s' too long (max %d)", full, max), true
		}
		return SockAddr{Kind: k, Path: rest}, "", true
	case "fd", "sockpair":
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 || rest == "" || rest[0] == '+' {
			return a, fmt.Sprintf("file descriptor '%s' is not a valid integer in '%s'", rest, full), true
		}
		if !listen {
			if pfx == "fd" {
				return a, fmt.Sprintf("a file descriptor is not acceptable here in '%s'", full), true
			}
			return a, "", false // sockpair@ servers: not served by gproxy
		}
		if p.checkFD != nil {
			if err := p.checkFD(n); err != nil {
				return a, fmt.Sprintf("cannot use file descriptor '%d' : %s.", n, err), true
			}
		}
		k := SockFD
		if pfx == "sockpair" {
			k = SockPair
		}
		return SockAddr{Kind: k, FD: n}, "", true
	}
	return a, "", false
}

// checkSocketFD is haproxy's check of an inherited descriptor: it must be
// a socket (getsockname succeeds). The error reads as strerror(3).
func checkSocketFD(fd int) error {
	if _, err := syscall.Getsockname(fd); err != nil {
		if errno, ok := err.(syscall.Errno); ok {
			msg := errno.Error()
			return errors.New(strings.ToUpper(msg[:1]) + msg[1:])
		}
		return err
	}
	return nil
}

// envExpand replaces "$NAME" and "${NAME}" anywhere in an address with
// the environment variable, or with nothing when it is not set, as
// haproxy 2.6 does to every address it parses, quoted or not (env_expand
// in str2sa_range): a test harness may leave "${S1_addr}:${S1_port}"
// unset and haproxy starts with ":" there.
func envExpand(s string, env envFunc) string {
	if strings.IndexByte(s, '$') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '$')
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i : i+j])
		k := i + j + 1
		brace := k < len(s) && s[k] == '{'
		if brace {
			k++
		}
		start := k
		for k < len(s) && (isAlnum(s[k]) || s[k] == '_') {
			k++
		}
		next := k
		if brace && k < len(s) && s[k] == '}' {
			next++
		}
		if name := s[start:k]; name != "" && env != nil {
			if v, ok := env(name); ok {
				b.WriteString(v)
			}
		}
		i = next
	}
	return b.String()
}
