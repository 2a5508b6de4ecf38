package main

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The math of a full TLS 1.3 handshake's server side, Go's crypto
// against OpenSSL's (`openssl speed`, haproxy's library) on this machine:
// what no change in gproxy's own code can remove. Both figures are user
// CPU time per operation (openssl speed divides by user time unless
// -elapsed), so they compare on a loaded machine.

// cryptoOp is one operation's cost in µs, Go and OpenSSL.
type cryptoOp struct {
	name        string
	goUs, sslUs float64
}

// threadUser is this thread's user CPU time.
func threadUser() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano())
}

// goCost is f's user CPU time per call over at least d, on one thread.
func goCost(d time.Duration, f func() error) (float64, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := f(); err != nil { // warm up
		return 0, err
	}
	n := 0
	t0, w0 := threadUser(), time.Now()
	for time.Since(w0) < d || n < 10 {
		if err := f(); err != nil {
			return 0, err
		}
		n++
	}
	return float64(threadUser()-t0) / 1e3 / float64(n), nil
}

var (
	speedRSA    = regexp.MustCompile(`(?m)^rsa 2048 bits\s+\S+s\s+\S+s\s+([0-9.]+)`)
	speedECDSA  = regexp.MustCompile(`(?m)^\s*256 bits ecdsa \(nistp256\)\s+\S+s\s+\S+s\s+([0-9.]+)`)
	speedX25519 = regexp.MustCompile(`(?m)^\s*253 bits ecdh \(X25519\)\s+\S+s\s+([0-9.]+)`)
)

// cryptoCosts measures RSA 2048 and ECDSA P-256 signatures and X25519
// in Go and with `openssl speed`, both on the load CPU.
func cryptoCosts(ctx context.Context) ([]cryptoOp, error) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	peer, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256([]byte("bench"))
	pss := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}
	ops := []struct {
		name string
		f    func() error
		re   *regexp.Regexp
		mul  float64 // OpenSSL operations per Go operation
	}{
		// TLS 1.3 signs with RSA-PSS; openssl speed's rsa2048 is PKCS#1
		// v1.5, the same private-key operation.
		{"RSA 2048 signature (Go: PSS)", func() error { _, err := rsa.SignPSS(rand.Reader, rk, crypto.SHA256, h[:], pss); return err }, speedRSA, 1},
		{"ECDSA P-256 signature", func() error { _, err := ecdsa.SignASN1(rand.Reader, ek, h[:]); return err }, speedECDSA, 1},
		// The server's key share and the shared secret: two X25519
		// multiplications (openssl speed times one).
		{"X25519 key share + shared secret", func() error {
			k, err := ecdh.X25519().GenerateKey(rand.Reader)
			if err == nil {
				_, err = k.ECDH(peer.PublicKey())
			}
			return err
		}, speedX25519, 2},
	}
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, "taskset", "-c", cpuLoad, "openssl", "speed", "-seconds", "2", "rsa2048", "ecdsap256", "ecdhx25519").Output()
	if err != nil {
		return nil, fmt.Errorf("openssl speed: %w", err)
	}
	var res []cryptoOp
	for _, o := range ops {
		g, err := goCost(time.Second, o.f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.name, err)
		}
		perSec, err := speedRate(out, o.re)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.name, err)
		}
		res = append(res, cryptoOp{name: o.name, goUs: g, sslUs: o.mul * 1e6 / perSec})
	}
	return res, nil
}

// speedRate is the operations per second `openssl speed` printed on the
// line re matches (its first group).
func speedRate(out []byte, re *regexp.Regexp) (float64, error) {
	m := re.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("openssl speed: no figure for %s in %q", re, out)
	}
	perSec, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || perSec <= 0 {
		return 0, fmt.Errorf("openssl speed: %q is no rate", m[1])
	}
	return perSec, nil
}

// cryptoTable is cryptoCosts' table for tls.md.
func cryptoTable(ops []cryptoOp) string {
	var b strings.Builder
	b.WriteString("The math alone, user CPU per operation on this machine (Go " + runtime.Version() + "'s crypto in this\n")
	b.WriteString("process; `openssl speed`, haproxy's library):\n\n")
	b.WriteString("| operation | Go µs | OpenSSL µs | Go/OpenSSL |\n|---|---|---|---|\n")
	for _, o := range ops {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", o.name, num(o.goUs), num(o.sslUs), ratio(o.goUs, o.sslUs))
	}
	return b.String()
}
