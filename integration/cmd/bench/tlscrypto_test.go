package main

import (
	"regexp"
	"testing"
)

// speedOut is the summary `openssl speed -seconds 2 rsa2048 ecdsap256
// ecdhx25519` printed with OpenSSL 3.0.19 on the bench machine.
const speedOut = `version: 3.0.19
built on: Fri Apr  3 12:29:32 2026 UTC
options: bn(64,64)
compiler: gcc -fPIC -pthread -m64 -Wa,--noexecstack -Wall
CPUINFO: OPENSSL_ia32cap=0xfffa3203078bffff:0x405fc6f1bf07ab
                  sign    verify    sign/s verify/s
rsa 2048 bits 0.000241s 0.000016s   4151.2  61662.4
                              sign    verify    sign/s verify/s
 256 bits ecdsa (nistp256)   0.0000s   0.0001s  51477.3  16800.7
                              op      op/s
 253 bits ecdh (X25519)   0.0000s  32120.5
`

func TestSpeedRate(t *testing.T) {
	for _, c := range []struct {
		name string
		re   *regexp.Regexp
		want float64
	}{
		{"rsa2048 sign/s", speedRSA, 4151.2},
		{"ecdsap256 sign/s", speedECDSA, 51477.3},
		{"X25519 op/s", speedX25519, 32120.5},
	} {
		got, err := speedRate([]byte(speedOut), c.re)
		if err != nil || got != c.want {
			t.Errorf("%s: got %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	if _, err := speedRate([]byte("rsa 2048 bits 0.000241s 0.000016s   0  1\n"), speedRSA); err == nil {
		t.Error("a zero rate was taken")
	}
	if _, err := speedRate([]byte("version: 3.0.19\n"), speedX25519); err == nil {
		t.Error("output without the line was taken")
	}
}
