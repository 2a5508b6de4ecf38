package haproxycfg

import (
	"crypto/tls"
	"slices"
	"strings"
	"testing"
)

const mozillaGlobal = `global
    ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384
    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
    ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets
`

// TestTLSSettings: what the TLS lines resolve to, and what gproxy says
// about what it cannot honour (with file:line, warning when the effect
// is the same or narrower, alert when it would be wider or wrong).
func TestTLSSettings(t *testing.T) {
	cases := []struct {
		name, src string
		diag      string // "" = no diagnostic at all
		alert     bool
		check     func(t *testing.T, c *Config)
	}{
		{name: "Mozilla intermediate without DH parameters: exactly haproxy's set",
			src: mozillaGlobal + "frontend f\n    bind :443 ssl crt /x.pem\n",
			check: func(t *testing.T, c *Config) {
				s := c.Proxies[0].Binds[0].TLS.Settings
				if len(s.Suites) != 6 || s.MinVersion != tls.VersionTLS12 || s.MaxVersion != tls.VersionTLS13 || !s.NoTickets {
					t.Errorf("settings %+v", s)
				}
			}},
		{name: "with DH parameters the DHE ciphers are named",
			src:  mozillaGlobal + "    tune.ssl.default-dh-param 2048\nfrontend f\n    bind :443 ssl crt /x.pem\n",
			diag: "t.cfg:7] : 'bind :443' in section 'frontend' : 'ciphers' (set at t.cfg:2) : DHE-RSA-AES128-GCM-SHA256, DHE-RSA-AES256-GCM-SHA384 not offered"},
		{name: "PROFILE=SYSTEM", src: "global\n    ssl-default-bind-ciphers PROFILE=SYSTEM\n", diag: "t.cfg:2] : 'ssl-default-bind-ciphers' : 'PROFILE=SYSTEM'", alert: true},
		{name: "narrower TLS 1.3 suites", src: "frontend f\n    bind :443 ssl crt /x.pem ciphersuites TLS_AES_256_GCM_SHA384\n",
			check: func(t *testing.T, c *Config) {
				// Taken out of each ClientHello (tlsconf.RestrictSuites13).
				if s := c.Proxies[0].Binds[0].TLS.Settings; !slices.Equal(s.Suites13, []uint16{tls.TLS_AES_256_GCM_SHA384}) {
					t.Errorf("suites13 %x", s.Suites13)
				}
			}},
		{name: "narrower TLS 1.3 suites on a server", src: "backend b\n    server s 192.0.2.1:443 ssl verify none ciphersuites TLS_AES_256_GCM_SHA384\n",
			diag: "leaves out TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256", alert: true},
		{name: "narrower TLS 1.3 suites with TLS 1.3 off", src: "frontend f\n    bind :443 ssl crt /x.pem ciphersuites TLS_AES_256_GCM_SHA384 ssl-max-ver TLSv1.2\n"},
		{name: "curves without a usable one", src: "frontend f\n    bind :443 ssl crt /x.pem curves X448\n", diag: "no curve of 'X448'", alert: true},
		{name: "curves partly usable", src: "frontend f\n    bind :443 ssl crt /x.pem curves X448:P-256\n", diag: "'curves' : X448 not offered"},
		{name: "no-tlsv12 raises the minimum", src: "frontend f\n    bind :443 ssl crt /x.pem no-tlsv12\n",
			check: func(t *testing.T, c *Config) {
				if s := c.Proxies[0].Binds[0].TLS.Settings; s.MinVersion != tls.VersionTLS13 {
					t.Errorf("min %x", s.MinVersion)
				}
			}},
		{name: "a hole in the versions", src: "frontend f\n    bind :443 ssl crt /x.pem ssl-min-ver TLSv1.0 no-tlsv11 ciphers ALL:@SECLEVEL=0\n", diag: "disabling TLSv1.1 between TLSv1.0 and TLSv1.3", alert: true},
		{name: "TLS 1.0 needs security level 0", src: "frontend f\n    bind :443 ssl crt /x.pem ssl-min-ver TLSv1.0\n", diag: "TLSv1.0 and TLSv1.1 are refused, as by haproxy with OpenSSL 3"},
		{name: "server verify by default needs a CA", src: "backend b\n    server s 127.0.0.1:443 ssl\n", diag: "verify is enabled by default but no CA file specified", alert: true},
		{name: "ssl-server-verify none", src: "global\n    ssl-server-verify none\nbackend b\n    server s 127.0.0.1:443 ssl\n",
			check: func(t *testing.T, c *Config) {
				s := c.Proxies[0].Servers[0].TLS
				if s == nil || s.Settings.Verify || !s.Traffic || !s.Checks {
					t.Errorf("server TLS %+v", s)
				}
			}},
		// s2's settings are prepared, unused (`set server ssl on` uses them).
		{name: "default-server carries ssl, no-ssl undoes it", src: "backend b\n    default-server ssl verify none sni str(api.test)\n    server s1 127.0.0.1:443\n    server s2 127.0.0.1:80 no-ssl\n",
			check: func(t *testing.T, c *Config) {
				s1, s2 := c.Proxies[0].Servers[0], c.Proxies[0].Servers[1]
				if s1.TLS == nil || s1.TLS.SNI != "api.test" || s2.TLS == nil || s2.TLS.Traffic || s2.TLS.Checks {
					t.Errorf("s1 %+v s2 %+v", s1.TLS, s2.TLS)
				}
			}},
		{name: "check-ssl only", src: "backend b\n    server s 127.0.0.1:80 check check-ssl verify none port 8443\n",
			check: func(t *testing.T, c *Config) {
				s := c.Proxies[0].Servers[0].TLS
				if s == nil || s.Traffic || !s.Checks {
					t.Errorf("server TLS %+v", s)
				}
			}},
		{name: "alpn h2", src: "frontend f\n    mode http\n    bind :443 ssl crt /x.pem alpn h2,http/1.1\n",
			check: func(t *testing.T, c *Config) {
				if b := c.Proxies[0].Binds[0].TLS.Settings; strings.Join(b.ALPN, ",") != "h2,http/1.1" {
					t.Errorf("ALPN %q", b.ALPN)
				}
			}},
		{name: "proto h2", src: "frontend f\n    mode http\n    bind :80 proto h2\n",
			check: func(t *testing.T, c *Config) {
				if p := c.Proxies[0].Binds[0].Proto; p != "h2" {
					t.Errorf("Proto %q", p)
				}
			}},
		{name: "proto h2 in mode tcp", src: "frontend f\n    mode tcp\n    bind :80 proto h2\n", diag: "config : frontend 'f' : MUX protocol 'h2' is not usable for 'bind :80' at [t.cfg:3].", alert: true},
		{name: "tune.h2", src: "global\n    tune.h2.max-concurrent-streams 10\n    tune.h2.initial-window-size 32768\n    tune.h2.header-table-size 8192\n    tune.h2.max-frame-size 32768\n",
			check: func(t *testing.T, c *Config) {
				if h := c.Global.H2; h != (H2Tuning{HeaderTableSize: 8192, InitialWindowSize: 32768, MaxConcurrentStreams: 10, MaxFrameSize: 32768}) {
					t.Errorf("H2 %+v", h)
				}
			}},
		{name: "tune.h2.max-frame-size out of range", src: "global\n    tune.h2.max-frame-size 1000\n", diag: "'tune.h2.max-frame-size' expects a numeric value between 16384 and 16777215.", alert: true},
		{name: "tune.h2.max-concurrent-streams 0", src: "global\n    tune.h2.max-concurrent-streams 0\n", diag: "'tune.h2.max-concurrent-streams 0' is not implemented by gproxy", alert: true},
		{name: "proto unknown", src: "frontend f\n    bind :80 proto h3\n", diag: "parsing [t.cfg:2] : 'bind :80' in section 'frontend' : 'proto' :  unknown MUX protocol 'h3'", alert: true},
		{name: "sni ssl_fc_sni in mode http", src: "backend b\n    mode http\n    server s 127.0.0.1:443 ssl verify none sni ssl_fc_sni\n", diag: "'sni ssl_fc_sni' in mode http", alert: true},
		{name: "sni expression", src: "backend b\n    mode tcp\n    server s 127.0.0.1:443 ssl verify none sni req.hdr(host)\n", diag: "'sni req.hdr(host)'", alert: true},
		{name: "no certificate", src: "frontend f\n    bind :443 ssl\n", diag: "no SSL certificate specified for bind ':443' at [t.cfg:2]", alert: true},
		{name: "prefer-client-ciphers in the defaults", src: "global\n    ssl-default-bind-options no-sslv3 prefer-client-ciphers\nfrontend f\n    bind :443 ssl crt /x.pem\nfrontend g\n    bind :444 ssl crt /x.pem prefer-client-ciphers\n",
			check: func(t *testing.T, c *Config) {
				for _, px := range c.Proxies {
					if !px.Binds[0].TLS.Settings.PreferClientCiphers {
						t.Errorf("%s: prefer-client-ciphers not set", px.Name)
					}
				}
			}},
		{name: "prefer-client-ciphers on a bind only", src: "frontend f\n    bind :443 ssl crt /x.pem prefer-client-ciphers\nfrontend g\n    bind :444 ssl crt /x.pem\n",
			check: func(t *testing.T, c *Config) {
				if !c.Proxies[0].Binds[0].TLS.Settings.PreferClientCiphers || c.Proxies[1].Binds[0].TLS.Settings.PreferClientCiphers {
					t.Errorf("prefer-client-ciphers: f %v, g %v", c.Proxies[0].Binds[0].TLS.Settings.PreferClientCiphers, c.Proxies[1].Binds[0].TLS.Settings.PreferClientCiphers)
				}
			}},
		{name: "prefer-client-ciphers is no server option", src: "global\n    ssl-default-server-options prefer-client-ciphers\n", diag: "t.cfg:2] : unknown option 'prefer-client-ciphers' on global statement 'ssl-default-server-options'.", alert: true},
		{name: "crt-base", src: "global\n    crt-base /etc/ssl/private\nfrontend f\n    bind :443 ssl crt site.pem\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, diags, err := Parse("t.cfg", []byte(c.src), ParseOptions{})
			var all []string
			found, alerts := false, false
			for _, d := range diags {
				s := d.String()
				if strings.Contains(s, "missing timeouts") {
					continue
				}
				all = append(all, s)
				if c.diag != "" && strings.Contains(s, c.diag) {
					found = true
				}
				alerts = alerts || d.Severity == Alert
			}
			if c.diag == "" && len(all) != 0 || c.diag != "" && !found {
				t.Fatalf("want %q, got:\n%s", c.diag, strings.Join(all, "\n"))
			}
			if alerts != c.alert || (err != nil) != c.alert {
				t.Fatalf("alert %v (err %v), want %v:\n%s", alerts, err, c.alert, strings.Join(all, "\n"))
			}
			if c.check != nil {
				c.check(t, cfg)
			}
		})
	}
}
