package sample

import (
	"encoding/base64"
	"strings"
)

// basicAuth decodes the request's Basic Authorization header.
func basicAuth(t *Txn) (user, pass string, ok bool) {
	if t.Req == nil {
		return "", "", false
	}
	v, found := nthHdr(t.Req, "authorization", true, -1)
	if !found {
		return "", "", false
	}
	typ, cred, _ := strings.Cut(v, " ")
	if !strings.EqualFold(typ, "basic") {
		return "", "", false
	}
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(dec), ":")
	return user, pass, ok
}
