package haproxycfg

import (
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"hapair/pkg/tlsconf/tlstest"
)

// TestCrtListOptions: crt-list lines with options, read by gproxy and by
// `haproxy -c` on the same files: both accept or both refuse, gproxy
// saying why with the list's line; an accepted line's settings are its
// options over the bind's.
func TestCrtListOptions(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Fatalf("reference haproxy not installed (%v): apt-get install haproxy", err)
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Test CA")
	tlstest.Write(t, filepath.Join(dir, "a.pem"), ca.Issue(t, tlstest.RSA, "a.test", "a.test").Bundle())
	tlstest.Write(t, filepath.Join(dir, "ca.pem"), ca.PEM)
	tlstest.Write(t, filepath.Join(dir, "crl.pem"), ca.CRL(t))
	cases := []struct {
		name, list, bind string
		diag             string // "" = accepted
		refused          bool   // by gproxy only, on purpose (haproxy -c accepts it)
		check            func(t *testing.T, c *Config)
	}{
		{name: "options over the bind's", list: "a.pem\na.pem [verify required ca-file ca.pem crl-file crl.pem alpn h2,http/1.1 ssl-min-ver TLSv1.3] x.test\n", bind: "alpn http/1.1",
			check: func(t *testing.T, c *Config) {
				certs := c.Proxies[0].Binds[0].TLS.Settings.Store.Certs()
				if len(certs) != 2 || certs[0].Entry != nil || certs[1].Entry == nil {
					t.Fatalf("entries %+v", certs)
				}
				e := certs[1].Entry
				if e.Bind.Verify != "required" || e.Bind.Files == nil || e.Bind.Files.CA == nil || e.Bind.Files.CRL == nil ||
					strings.Join(e.Bind.ALPN, ",") != "h2,http/1.1" || e.MinVersion != tls.VersionTLS13 || e.MaxVersion != tls.VersionTLS13 {
					t.Errorf("entry %+v bind %+v", e, e.Bind)
				}
			}},
		{name: "ca-base applies", list: "a.pem [verify optional ca-file ca.pem]\n", bind: "",
			check: func(t *testing.T, c *Config) {
				e := c.Proxies[0].Binds[0].TLS.Settings.Store.Certs()[0].Entry
				if e == nil || e.Bind.Files.CA.Path != dir+"/ca.pem" {
					t.Errorf("entry %+v", e)
				}
			}},
		{name: "verify without a CA", list: "a.pem [verify required]\n", diag: "crt-list '" + dir + "/l.txt' line 1: verify is enabled but no CA file specified"},
		{name: "verify with the bind's CA", list: "a.pem [verify required]\n", bind: "ca-file ca.pem"},
		{name: "versions leave none", list: "a.pem [ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.2]\n", diag: "line 1: no SSL/TLS version is enabled"},
		{name: "a missing CA file", list: "a.pem [ca-file nope.pem]\n", diag: "nope.pem"},
		{name: "allow-0rtt refused by name", list: "a.pem [allow-0rtt]\n", diag: "line 1: crt-list option 'allow-0rtt' is not implemented by gproxy", refused: true},
		{name: "ciphers gproxy lacks", list: "a.pem [ciphers ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA256]\n", diag: "line 1: 'ciphers' : AES128-SHA256 not implemented by gproxy", refused: true},
		{name: "unknown option", list: "a.pem [foo]\n", diag: "line 1: unknown ssl keyword foo"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tlstest.Write(t, filepath.Join(dir, "l.txt"), []byte(tc.list))
			cfg := "global\n    ca-base " + dir + "\n    crt-base " + dir + "\ndefaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\nfrontend f\n    bind 127.0.0.1:8443 ssl crt-list " + dir + "/l.txt " + tc.bind + "\n"
			path := filepath.Join(dir, "t.cfg")
			tlstest.Write(t, path, []byte(cfg))
			out, herr := exec.Command(haproxyBin, "-c", "-f", path).CombinedOutput()
			c, diags, err := ParseFiles([]string{path}, ParseOptions{})
			var text []string
			for _, d := range diags {
				text = append(text, d.String())
			}
			all := strings.Join(text, "\n")
			if (herr == nil) != (err == nil || tc.refused) {
				t.Fatalf("haproxy -c: %v\n%s\ngproxy: %v\n%s", herr, out, err, all)
			}
			if tc.diag == "" {
				if err != nil {
					t.Fatalf("refused: %v\n%s", err, all)
				}
				if tc.check != nil {
					tc.check(t, c)
				}
				return
			}
			if err == nil || !strings.Contains(all, tc.diag) || !strings.Contains(all, "t.cfg:10") {
				t.Errorf("want an alert at t.cfg:10 with %q, got %v\n%s", tc.diag, err, all)
			}
		})
	}
}
