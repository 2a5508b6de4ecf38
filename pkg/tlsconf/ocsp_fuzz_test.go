package tlsconf

import (
	"bytes"
	"encoding/binary"
	"math/big"
	"testing"
	"time"
)

// FuzzCheckOCSP: any FILE.ocsp content is judged and printed (`show ssl
// ocsp-response`) without a panic, and a response accepted has a date to
// stop stapling it.
func FuzzCheckOCSP(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x0a, 0x01, 0x00})
	f.Add([]byte{0x30, 0x03, 0x0a, 0x01, 0x06})
	f.Add([]byte("not an OCSP response"))
	id := ocspCertID{NameHash: make([]byte, 20), KeyHash: make([]byte, 20), Serial: big.NewInt(1)}
	id.HashAlgorithm.Algorithm = oidSHA1
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = OCSPText(b)
		until, err := checkOCSP(b, &id, time.Unix(1700000000, 0))
		if err == nil && until.IsZero() {
			t.Errorf("accepted %x without a nextUpdate", b)
		}
	})
}

// FuzzParseSCTList: a FILE.sctl is read as haproxy checks it; what is
// accepted round-trips to the same bytes.
func FuzzParseSCTList(f *testing.F) {
	f.Add([]byte{0, 5, 0, 3, 1, 2, 3})
	f.Add([]byte{0, 0})
	f.Add([]byte{0, 4, 0, 3, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		scts, err := parseSCTList(b)
		if err != nil {
			return
		}
		var list []byte
		for _, s := range scts {
			list = binary.BigEndian.AppendUint16(list, uint16(len(s)))
			list = append(list, s...)
		}
		if out := append(binary.BigEndian.AppendUint16(nil, uint16(len(list))), list...); !bytes.Equal(out, b) {
			t.Errorf("%x read as %x", b, out)
		}
	})
}
