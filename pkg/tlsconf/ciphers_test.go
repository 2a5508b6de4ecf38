package tlsconf

import (
	"errors"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// cipherStrings are cipher strings seen in haproxy configurations:
// Mozilla's lists, Debian's older default, OpenSSL expressions.
var cipherStrings = []string{
	// Mozilla intermediate (Debian 12's default haproxy.cfg)
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384",
	// Mozilla old
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA256:DHE-RSA-AES256-SHA256:AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:AES128-SHA:AES256-SHA:DES-CBC3-SHA",
	// Debian's haproxy.cfg before 2.x (hynek.me)
	"ECDH+AESGCM:DH+AESGCM:ECDH+AES256:DH+AES256:ECDH+AES128:DH+AES:RSA+AESGCM:RSA+AES:!aNULL:!MD5:!DSS",
	"HIGH:!aNULL:!MD5",
	"DEFAULT", "ALL", "HIGH", "ALL:!RSA", "kRSA", "aRSA", "aECDSA", "ECDSA", "AES256", "AES128",
	"AESGCM", "CHACHA20", "SHA1", "SHA256", "SHA384", "TLSv1.2", "SSLv3", "ECDHE", "EECDH+AESGCM:EDH+AESGCM",
	"AES:-ALL:ECDHE-RSA-AES128-SHA", "TLSv1", "TLSv1.0", "ALL:!SSLv3", "ECDHE:!SHA1", "HIGH:-AES128:AES128-SHA", "ALL:!kRSA:AES128-SHA",
	"AESGCM+ECDSA", "DEFAULT:!AES256:@STRENGTH", "ALL:-AES:AES128", "ECDHE+AES128+SHA",
	"ALL:@SECLEVEL=2", "kEECDH+aRSA+AES128", "HIGH:!SHA:!SHA256:!SHA384", "ALL,!ECDSA RSA",
}

// TestCipherListMatchesOpenSSL evaluates each string both with OpenSSL
// (`openssl ciphers`, the library haproxy uses) and here: what gproxy
// offers must be exactly OpenSSL's choice among the suites crypto/tls
// implements, so never a cipher OpenSSL would not offer.
func TestCipherListMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("needs the openssl command (apt-get install openssl): %v", err)
	}
	ours := map[string]bool{}
	for _, n := range SuiteNames() {
		ours[n] = true
	}
	for _, s := range cipherStrings {
		out, err := exec.Command("openssl", "ciphers", s).Output()
		var want []string
		if err == nil {
			for _, n := range strings.Split(strings.TrimSpace(string(out)), ":") {
				if ours[n] {
					want = append(want, n)
				}
			}
		}
		sort.Strings(want)
		cl, perr := ParseCipherList(s)
		var got []string
		for _, id := range cl.Suites {
			got = append(got, SuiteName(id))
		}
		sort.Strings(got)
		if strings.Join(got, ":") != strings.Join(want, ":") {
			t.Errorf("%q:\n gproxy  %v (err %v)\n openssl %v", s, got, perr, want)
		}
		if len(want) == 0 && perr == nil {
			t.Errorf("%q: nothing offered but no error", s)
		}
	}
}

func TestCipherListDropped(t *testing.T) {
	cl, err := ParseCipherList(cipherStrings[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cl.DroppedDHE, ","); got != "DHE-RSA-AES128-GCM-SHA256,DHE-RSA-AES256-GCM-SHA384" || len(cl.Dropped) != 0 {
		t.Errorf("dropped DHE %q, others %q", got, cl.Dropped)
	}
	if cl, _ := ParseCipherList("ECDHE+AESGCM:DH+AESGCM:CAMELLIA128-SHA"); len(cl.DroppedDHE) != 1 || len(cl.Dropped) != 1 {
		t.Errorf("DH+AESGCM is DHE, CAMELLIA128-SHA is not: %+v", cl)
	}
	if len(cl.Suites) != 6 {
		t.Errorf("want the 6 ECDHE suites, got %d", len(cl.Suites))
	}
	if _, err := ParseCipherList("PROFILE=SYSTEM"); !errors.Is(err, ErrProfileSystem) {
		t.Errorf("PROFILE=SYSTEM: %v", err)
	}
	if _, err := ParseCipherList("DHE-RSA-AES128-GCM-SHA256:CAMELLIA"); err == nil {
		t.Error("a list of ciphers crypto/tls lacks must be an error")
	}
	if cl, _ := ParseCipherList("HIGH:!aNULL:!eNULL"); len(cl.Dropped) != 0 {
		t.Errorf("removals are no loss: %v", cl.Dropped)
	}
}

func TestCipherSuitesAndCurves(t *testing.T) {
	if _, err := CheckCipherSuites("TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", true); err != nil {
		t.Errorf("Mozilla's list: %v", err)
	}
	if _, err := CheckCipherSuites("TLS_AES_256_GCM_SHA384", true); err == nil {
		t.Error("a narrower TLS 1.3 list cannot be honoured: want an error")
	}
	if _, err := CheckCipherSuites("TLS_AES_256_GCM_SHA384", false); err != nil {
		t.Errorf("with TLS 1.3 off it does not matter: %v", err)
	}
	if d, err := CheckCipherSuites("TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256", true); err != nil || len(d) != 1 {
		t.Errorf("CCM is dropped: %v %v", d, err)
	}
	if _, err := CheckCipherSuites("TLS_BOGUS", false); err == nil {
		t.Error("unknown suite: want an error")
	}
	ids, d, err := ParseCurves("X25519:P-256:X448")
	if err != nil || len(ids) != 2 || len(d) != 1 {
		t.Errorf("curves %v %v %v", ids, d, err)
	}
	if _, _, err := ParseCurves("X448"); err == nil {
		t.Error("no usable curve: want an error")
	}
	if _, _, err := ParseCurves("P-999"); err == nil {
		t.Error("unknown curve: want an error")
	}
}

func FuzzParseCipherList(f *testing.F) {
	for _, s := range cipherStrings {
		f.Add(s)
	}
	f.Add("!+-:@,")
	f.Fuzz(func(t *testing.T, s string) {
		cl, err := ParseCipherList(s)
		if err == nil && len(cl.Suites) == 0 {
			t.Fatal("no suite and no error")
		}
		// Never more than the suites crypto/tls considers secure.
		for _, id := range cl.Suites {
			if SuiteName(id) == "" {
				t.Fatalf("unknown suite %x", id)
			}
		}
	})
}
