package haproxycfg

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no input makes the parser panic, err is set exactly when an
// Alert is reported, and every diagnostic and proxy refers to a real line.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("../../conf/*.cfg")
	more, _ := filepath.Glob("testdata/*.cfg")
	for _, p := range append(seeds, more...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"\"", "'", "\\x4", "\"${", "\"${A[*]}\"", "\"$.\"", ".if (\n", ".if !(1&&\n.endif",
		"listen a 1.2.3.4:1-65535\n", "bind [", "backend b\n server s [::1\n",
		"global\n log [::1]:0 local0\n", "listen x ::::\n", "frontend f\n bind :1,,:2\n",
		"frontend f\n http-request return status 200 hdr\n", "frontend f\n http-request redirect location\n",
		"frontend f\n http-request set-status 200 reason\n http-response set-status 200 reason\n",
		"listen l\n tcp-request content accept if\n tcp-request inspect-delay\n", "userlist u\n user a groups\n group g users\n",
		"frontend f\n http-request del-header a -m\n http-request replace-uri (\n use_backend %[\n",
		"frontend f\n http-request set-var(txn.\n http-request unset-var(\n redirect prefix / code\n",
		"backend b\n option tcp-check\n tcp-check set-var(check.\n tcp-check send-lf %[\n tcp-check expect binary-lf\n tcp-check connect port %[x\n",
		"backend b\n option httpchk\n http-check send uri-lf %[ hdr a %\n http-check expect hdr name-lf % value-lf\n server s 1.2.3.4:80 check check-proto\n",
		"frontend f\n http-request set-var(txn.a,ifset,,x) str()\n http-request set-header a %[str(),set-var(txn.b,iflt)]\n",
		"global\n set-var proc.a,ifexists,bogus int(1)\nfcgi-app a\n docroot /x\n index\nfcgi-app\n docroot\n",
		"defaults\n option abortonclose x\nlisten l\n option abortonclose\n",
		"defaults\n dispatch\nbackend b\n dispatch [::1\n dispatch ${A}:1\n dispatch 1:+\nfrontend f\n dispatch 1.2.3.4:\nlisten l\n balance\n dispatch :1\n",
		"global\n tune.pool-high-fd-ratio 101\n tune.pool-low-fd-ratio\nbackend b\n http-reuse aggressive\n default-server pool-max-conn -1\n server s 1.2.3.4:80 pool-purge-delay 1x pool-low-conn pool-max-conn -2\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		env := func(name string) (string, bool) { return "x y", name == "A" }
		cfg, diags, err := Parse("fuzz.cfg", src, ParseOptions{LookupEnv: env})
		if cfg == nil {
			t.Fatal("nil config")
		}
		alert := false
		for _, d := range diags {
			alert = alert || d.Severity == Alert
			_ = d.FormatWithPID(1)
		}
		if alert != (err != nil) || err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("alert=%v err=%v", alert, err)
		}
		for _, px := range cfg.Proxies {
			for _, b := range px.Binds {
				if !b.Sock.IsSet() && (b.Port < 1 || b.Port > 65535) {
					t.Fatalf("bind port %d accepted", b.Port)
				}
			}
			for _, s := range px.Servers {
				if s.Port < 0 || s.Port > 65535 || s.Weight < 0 || s.Weight > 256 {
					t.Fatalf("server %+v accepted", s)
				}
			}
		}
	})
}
