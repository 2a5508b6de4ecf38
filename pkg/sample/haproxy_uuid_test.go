package sample_test

import (
	"fmt"
	"os"
	"regexp"
	"testing"

	"hapair/pkg/haproxytest"
	"hapair/pkg/sample"
)

// uuidShape is a version 4 UUID as haproxy prints it: lower-case hex,
// version nibble 4, variant bits 10.
var uuidShape = regexp.MustCompile(`^\[[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\]$`)

// TestHaproxyUUID compares uuid and uuid(4) with haproxy 2.6's: the same
// shape, a new value at each call (the values are random).
func TestHaproxyUUID(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("reference haproxy not installed (%v): apt-get install haproxy", err)
	}
	port := haproxytest.FreePort(t)
	haproxytest.Start(t, fmt.Sprintf("defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 1s\n"+
		"frontend fe\n  bind 127.0.0.1:%d\n"+
		"  http-request return status 200 content-type text/plain lf-string \"[%%[uuid]]\" if { path /a }\n"+
		"  http-request return status 200 content-type text/plain lf-string \"[%%[uuid(4)]]\"\n", port))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	haproxytest.WaitBound(t, addr)
	for _, c := range []struct{ path, expr string }{{"/a", "uuid"}, {"/b", "uuid(4)"}} {
		ex, err := sample.ParseExpr(c.expr, &sample.ParseOptions{})
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		seen := map[string]bool{}
		for range 20 {
			ref, _ := haproxyBody(t, addr, "GET "+c.path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			v, ok := ex.Eval(&sample.Txn{})
			got := "[" + v.String() + "]"
			if !uuidShape.MatchString(ref) {
				t.Fatalf("%s: haproxy answered %q, not the expected shape", c.expr, ref)
			}
			if !ok || !uuidShape.MatchString(got) || seen[got] {
				t.Fatalf("%s: gproxy gave %q (ok %v), haproxy's shape is like %q", c.expr, got, ok, ref)
			}
			seen[got] = true
		}
	}
	if _, err := sample.ParseExpr("uuid(3)", &sample.ParseOptions{}); err == nil {
		t.Error("uuid(3) accepted; haproxy refuses it (Unsupported UUID version: '3')")
	}
}
