package gproxyd_test

import (
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"hapair/pkg/haproxytest"
	"hapair/pkg/porttest"
	"hapair/pkg/proxyproto"
)

// TestIntegrationPPTLVFetchesLikeHaproxy sends PROXY protocol headers
// (version 2 with authority and unique-id TLVs, empty ones, none, and
// version 1) to haproxy 2.6 and gproxy, and compares what
// fc_pp_authority and fc_pp_unique_id give in mode http and mode tcp.
func TestIntegrationPPTLVFetchesLikeHaproxy(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("needs the real haproxy (apt-get install haproxy): %v", err)
	}
	v2 := func(tlvs ...proxyproto.TLV) string {
		h := &proxyproto.Header{Version: 2, Command: proxyproto.CmdProxy, Family: proxyproto.FamilyInet, Transport: proxyproto.TransportStream,
			Source: netip.MustParseAddrPort("10.1.2.3:1234"), Destination: netip.MustParseAddrPort("10.9.9.9:80"), TLVs: tlvs}
		b, err := h.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	headers := []string{
		v2(proxyproto.TLV{Type: proxyproto.TypeAuthority, Value: []byte("www.example.com")}, proxyproto.TLV{Type: proxyproto.TypeUniqueID, Value: []byte("id-42")}),
		v2(proxyproto.TLV{Type: proxyproto.TypeAuthority, Value: []byte{}}),
		v2(proxyproto.TLV{Type: proxyproto.TypeUniqueID, Value: []byte("only-id")}),
		v2(),
		"PROXY TCP4 10.1.2.3 10.9.9.9 1234 80\r\n",
	}
	date := regexp.MustCompile(`(?mi)^date: .*\r\n`)
	web := uidEchoBackend(t) // answers the tcp frontend's "hello" with a 400
	run := func(bin string) []string {
		ph, pt := porttest.Free(t), porttest.Free(t)
		cfg := fmt.Sprintf(`defaults
    timeout client 5s
    timeout server 5s
    timeout connect 1s
frontend h
    mode http
    bind 127.0.0.1:%d accept-proxy
    http-request return status 200 content-type text/plain lf-string "a=[%%[fc_pp_authority]] a?%%[fc_pp_authority,length] u=[%%[fc_pp_unique_id]] u?%%[fc_pp_unique_id,length]"
frontend t
    mode tcp
    bind 127.0.0.1:%d accept-proxy
    tcp-request inspect-delay 1s
    tcp-request content reject if { fc_pp_authority -m found }
    default_backend b
backend b
    mode tcp
    server s %s
`, ph, pt, web)
		_, _, stop := startDB(t, bin, cfg, ph, pt)
		defer stop()
		var out []string
		for _, hd := range headers {
			resp := rawExchange(t, fmt.Sprintf("127.0.0.1:%d", ph), hd+"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			out = append(out, date.ReplaceAllString(resp, ""))
			tcp := closeKind(t, fmt.Sprintf("127.0.0.1:%d", pt), hd+"hello\r\n\r\n")
			if strings.HasPrefix(tcp, "data ") {
				tcp = "forwarded" // the server's answer, dated
			}
			out = append(out, "tcp: "+tcp)
		}
		return out
	}
	ref := run(haproxytest.Bin)
	got := run(gproxyBin)
	if !slices.Equal(ref, got) {
		t.Errorf("differ\nhaproxy:\n%s\n\ngproxy:\n%s", strings.Join(ref, "\n"), strings.Join(got, "\n"))
	}
	if !strings.Contains(ref[0], "a=[www.example.com]") || !strings.Contains(ref[0], "u=[id-42]") {
		t.Errorf("haproxy does not show the TLVs:\n%s", ref[0])
	}
}
