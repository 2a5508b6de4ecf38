// Package userlist checks the passwords of haproxy's `userlist` sections
// (configuration manual section 3.4) as haproxy 2.6 does through
// crypt(3): a `password` is a crypt hash and the clear text matches when
// crypt(clear, hash) gives the hash back.
//
// gproxy is a static, cgo-free binary, so the system's libcrypt is not
// called: SHA-512 ($6$), SHA-256 ($5$) and MD5 ($1$) crypt are verified
// with github.com/GehirnInc/crypt (a pure Go implementation of the same
// algorithms, checked here against hashes made by Debian's libxcrypt),
// bcrypt ($2a$, $2b$, $2y$) with golang.org/x/crypto/bcrypt. The other
// schemes libxcrypt knows (yescrypt, the Debian 12 default of mkpasswd;
// DES; scrypt; ...) are reported by Supported so that the configuration
// refuses them rather than failing every login.
package userlist

import (
	"crypto/subtle"
	"strings"

	"github.com/GehirnInc/crypt"
	_ "github.com/GehirnInc/crypt/md5_crypt"    // $1$
	_ "github.com/GehirnInc/crypt/sha256_crypt" // $5$
	_ "github.com/GehirnInc/crypt/sha512_crypt" // $6$
	"golang.org/x/crypto/bcrypt"
)

// Scheme names the crypt(3) scheme of a hash by its prefix ("$6$"), "des"
// for a traditional or extended DES hash, or "" when the text is no hash
// libcrypt knows (crypt then fails and no password matches it).
func Scheme(hash string) string {
	if strings.HasPrefix(hash, "$") {
		if i := strings.IndexByte(hash[1:], '$'); i >= 0 {
			return hash[:i+2]
		}
		return ""
	}
	if strings.HasPrefix(hash, "_") && len(hash) == 20 || len(hash) == 13 && isSaltChars(hash) {
		return "des"
	}
	return ""
}

func isSaltChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '.' || c == '/' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// Supported reports whether Verify checks hashes of this scheme; false
// for a scheme libcrypt knows and gproxy does not.
func Supported(hash string) bool {
	switch Scheme(hash) {
	case "$1$", "$5$", "$6$", "$2a$", "$2b$", "$2y$", "":
		return true
	}
	return false
}

// Verify reports whether pass is the clear text of the crypt(3) hash.
func Verify(hash, pass string) bool {
	switch Scheme(hash) {
	case "$1$", "$5$", "$6$":
		// As crypt(3) is used: hash the clear text with the stored
		// hash as the setting, compare. (The library's Verify misreads
		// a "rounds=" setting; its Generate does not.)
		c := crypt.NewFromHash(hash)
		i := strings.LastIndexByte(hash, '$')
		if c == nil || i < 3 {
			return false
		}
		got, err := c.Generate([]byte(pass), []byte(hash[:i]))
		return err == nil && subtle.ConstantTimeCompare([]byte(got), []byte(hash)) == 1
	case "$2a$", "$2b$", "$2y$":
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pass)) == nil
	}
	return false
}

// VerifyInsecure compares an `insecure-password` with the clear text.
func VerifyInsecure(stored, pass string) bool {
	return subtle.ConstantTimeCompare([]byte(stored), []byte(pass)) == 1
}
