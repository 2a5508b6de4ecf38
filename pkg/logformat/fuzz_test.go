package logformat

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"hapair/pkg/accesslog"
)

// FuzzParseLogFormat: any string either parses or gives an ErrSyntax
// error, never a panic; a parsed format prints for any session, and
// parsing the same text again gives the same output.
func FuzzParseLogFormat(f *testing.F) {
	for _, s := range []string{accesslog.HTTPLogFormat, accesslog.TCPLogFormat, CLFLogFormat,
		"%{+Q}o %ci", "%{+X,-Q}ci%%", "%[src]", "%{+Q}[req.hdr(host),lower]x", "%{", "%", "%[", "a%1", "%HPO %HQ %HV"} {
		f.Add(s, true, true)
	}
	for _, c := range parseErrors {
		f.Add(c.format, c.http, true)
	}
	s := &accesslog.Session{
		Client: netip.MustParseAddrPort("[::1]:4000"), Accept: time.Unix(1e9, 0).UTC(),
		Method: "GET", URI: "http://h/p?q\"#", Version: "HTTP/1.1",
		ReqCaptures: []accesslog.Capture{{Value: "a|b", Set: true}, {}},
		Th:          -1, Ti: -1, TR: -1, Tw: -1, Tc: -1, Tr: -1, Ta: -1,
	}
	f.Fuzz(func(t *testing.T, text string, http, log bool) {
		fm, err := ParseWith(text, Options{HTTP: http, Log: log})
		if err != nil {
			if fm != nil || !errors.Is(err, ErrSyntax) {
				t.Fatalf("%q: %v (format %v)", text, err, fm)
			}
			return
		}
		a := fm.Append(nil, nil, s)
		fm2, err := ParseWith(text, Options{HTTP: http, Log: log})
		if err != nil {
			t.Fatalf("%q: second parse: %v", text, err)
		}
		if b := fm2.Append(nil, nil, s); string(a) != string(b) {
			t.Fatalf("%q: %q then %q", text, a, b)
		}
		if fm.String() != text {
			t.Fatalf("String %q, want %q", fm.String(), text)
		}
	})
}
