package gproxyd_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"hapair/pkg/porttest"
	"hapair/pkg/tlsconf/tlstest"
)

// TestIntegrationTLSCertReload: a certificate file replaced on disk is
// served after the normal reloads, as haproxy reloads its certificates:
// SIGUSR2 to a -Ws master (a new worker parses the configuration again)
// and a new process started with -sf <old pid>.
func TestIntegrationTLSCertReload(t *testing.T) {
	needRoot(t)
	for _, mode := range []string{"-Ws", "-sf"} {
		t.Run(mode, func(t *testing.T) {
			ca := tlstest.NewCA(t, "Test CA")
			dir := t.TempDir()
			crt := filepath.Join(dir, "site.pem")
			tlstest.Write(t, crt, ca.Issue(t, tlstest.ECDSA, "v1.test", "v1.test").Bundle())
			be := echoBackend(t, "web01")
			addr := fmt.Sprintf("127.0.0.1:%d", porttest.Free(t))
			cfg := writeConfig(t, fmt.Sprintf("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten l\n    bind %s ssl crt %s\n    server s %s\n", addr, crt, be))
			args := []string{"-f", cfg}
			if mode == "-Ws" {
				args = append([]string{"-Ws", "-S", filepath.Join(dir, "m.sock")}, args...)
			}
			cmd, out := startGproxy(t, args...)
			waitListening(t, addr)
			served := func() string {
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
				if err != nil {
					return "error: " + err.Error()
				}
				defer c.Close()
				return c.ConnectionState().PeerCertificates[0].Subject.CommonName
			}
			if got := served(); got != "v1.test" {
				t.Fatalf("before the reload: %s\n%s", got, out)
			}
			tlstest.Write(t, crt, ca.Issue(t, tlstest.RSA, "v2.test", "v2.test").Bundle())
			if mode == "-Ws" {
				if err := cmd.Process.Signal(syscall.SIGUSR2); err != nil {
					t.Fatal(err)
				}
			} else {
				_, out = startGproxy(t, "-f", cfg, "-sf", strconv.Itoa(cmd.Process.Pid))
			}
			deadline := time.Now().Add(10 * time.Second)
			for got := served(); got != "v2.test"; got = served() {
				if time.Now().After(deadline) {
					t.Fatalf("the new certificate is not served after the reload: %s\n%s", got, out)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
