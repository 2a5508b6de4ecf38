package userlist

import (
	"os/exec"
	"strings"
	"testing"
)

// Hashes of "secret" made by Debian 12's libxcrypt (python3's crypt
// module, which calls it), as haproxy checks them.
var libxcrypt = map[string]string{
	"sha512": "$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG.",
	"sha256": "$5$abcdefgh$gruCpC7VkOTspMQTTSAR8mtlO9Upms.fwqE5y16JVM.",
	"md5":    "$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1",
	"bcrypt": "$2b$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a",
}

func TestVerify(t *testing.T) {
	for name, h := range libxcrypt {
		if !Supported(h) {
			t.Errorf("%s: not supported", name)
		}
		if !Verify(h, "secret") {
			t.Errorf("%s: the right password is refused", name)
		}
		if Verify(h, "Secret") || Verify(h, "") || Verify(h, "secret ") {
			t.Errorf("%s: a wrong password is accepted", name)
		}
	}
	for _, h := range []string{"plain", "", "$6$", "$6$abc"} {
		if Verify(h, "secret") || Verify(h, "plain") || Verify(h, "") {
			t.Errorf("%q: something matches a text that is no hash", h)
		}
	}
}

func TestSchemes(t *testing.T) {
	for h, want := range map[string]bool{
		"$y$j9T$abcdefghijklmnop$3dL1LkYnZM.OVXuVdnnaKVDlLYT92dRwOzDZ5XiVCe.": false,
		"abNANd1rDfiNc":        false,
		"_J9..abcd/H6HLCcf7nw": false,
		"$7$C6..../....SodiumChloride$kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D": false,
		"plain":             true, // no hash: crypt fails, nothing matches, as in haproxy
		libxcrypt["sha512"]: true,
	} {
		if Supported(h) != want {
			t.Errorf("Supported(%q) = %v", h, !want)
		}
	}
}

// TestLibxcrypt compares Verify with the system's crypt(3) on fresh
// salts, through python3's crypt module (Debian 12's python 3.11).
func TestLibxcrypt(t *testing.T) {
	script := `import crypt, sys
for salt in sys.argv[1:]:
    print(crypt.crypt("p@ss wörd", salt))`
	salts := []string{"$6$rounds=7000$xyzXYZ01", "$5$saltsalt", "$1$12345678", "$2b$04$0123456789abcdefghijkl", "$2y$04$0123456789abcdefghijkl"}
	out, err := exec.Command("/usr/bin/python3", append([]string{"-W", "ignore", "-c", script}, salts...)...).Output()
	if err != nil {
		t.Fatalf("python3's crypt module (Debian's python3.11): %v", err)
	}
	hashes := strings.Fields(string(out))
	if len(hashes) != len(salts) {
		t.Fatalf("libxcrypt gave %q", out)
	}
	for _, h := range hashes {
		if !Verify(h, "p@ss wörd") || Verify(h, "p@ss word") {
			t.Errorf("%s: Verify differs from libxcrypt", h)
		}
	}
}
