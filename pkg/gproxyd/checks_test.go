package gproxyd

import (
	"strings"
	"testing"

	"hapair/pkg/haproxycfg"
)

// TestCheckModes: frontends and backends of different modes are refused
// both ways: http -> tcp with haproxy's alert (haproxy refuses it too), and
// tcp -> http because haproxy would serve those streams as HTTP and gproxy
// would relay bytes. Same modes pass.
func TestCheckModes(t *testing.T) {
	for _, tc := range []struct{ fe, be, want string }{
		{"http", "tcp", "tries to use incompatible tcp backend 'b'"},
		{"tcp", "http", "upgrading a tcp stream to HTTP is not implemented by gproxy"},
		{"tcp", "tcp", ""},
		{"http", "http", ""},
	} {
		src := "frontend f\n    mode " + tc.fe + "\n    bind 127.0.0.1:1\n    default_backend b\nbackend b\n    mode " + tc.be + "\n    server s 127.0.0.1:2\n"
		cfg, _, err := haproxycfg.Parse("m.cfg", []byte(src), haproxycfg.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		diags := checkModes(cfg)
		if tc.want == "" {
			if len(diags) != 0 {
				t.Errorf("%s -> %s: %v", tc.fe, tc.be, diags)
			}
			continue
		}
		if len(diags) != 1 || diags[0].Severity != haproxycfg.Alert || !strings.Contains(diags[0].Msg, tc.want) || !strings.Contains(diags[0].Msg, "m.cfg:1") {
			t.Errorf("%s -> %s: %v, want one alert containing %q and m.cfg:1", tc.fe, tc.be, diags, tc.want)
		}
	}
}
