package haproxytest

import (
	"fmt"
	"net"
	"testing"
)

func TestListening(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		host := "127.0.0.1"
		if network == "tcp6" {
			host = "::1"
		}
		ln, err := net.Listen(network, net.JoinHostPort(host, "0"))
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		for _, a := range []string{net.JoinHostPort(host, fmt.Sprint(port)), fmt.Sprintf(":%d", port)} {
			if !Listening(a) {
				t.Errorf("%s: a listener on %s is not seen", a, ln.Addr())
			}
		}
		if network == "tcp4" && Listening(fmt.Sprintf("127.0.0.2:%d", port)) {
			t.Errorf("127.0.0.2:%d seen listening: only 127.0.0.1 does", port)
		}
		ln.Close()
		if Listening(net.JoinHostPort(host, fmt.Sprint(port))) {
			t.Errorf("%s:%d still seen listening after Close", host, port)
		}
	}
}
