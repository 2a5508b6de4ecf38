package sample_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hapair/pkg/haproxytest"
	"hapair/pkg/sample"
)

// diffACLs are ACL definitions (the words after `acl NAME`) run through
// haproxy 2.6 and through the sample package on the same requests. MAP
// and LST are replaced by the paths of the files written for the test.
var diffACLs = []string{
	"path_beg /static /images",
	"path_end .png .jpg",
	"path_sub img",
	"path_reg ^/api/v[0-9]+/",
	"path_dir img",
	"path_dom example",
	"path_len gt 10",
	"path -i /INDEX.html",
	"url_beg /static",
	"url_param(user) alice",
	"urlp(id) -m int gt 5",
	"query -m sub debug=1",
	"base_beg www.example.com/static",
	"method POST PUT",
	"req.ver 1.0",
	"hdr(host) -i www.example.com",
	"hdr_beg(host) -i www.",
	"hdr_end(host) .org",
	"hdr_dom(host) -i example.com",
	"hdr_sub(user-agent) -i curl",
	"hdr_reg(user-agent) ^Mozilla/[45]",
	"hdr_cnt(x-list) ge 3",
	"hdr_val(content-length) gt 100",
	"hdr(x-list) b",
	"req.fhdr(x-list) -m sub b,c",
	"req.cook(sid) -m len 3:5",
	"cook(lang) fr en",
	"req.cook_cnt(sid) 2",
	"hdr_ip(x-forwarded-for) 10.0.0.0/8",
	"src 127.0.0.1",
	"dst_port 1:65535",
	"hdr(host),lower -m end .com",
	"path,map_beg(MAP) -m str api",
	"hdr(host),map_dom(MAP,none) -m str web",
	"hdr(x-num),mul(2) gt 10",
	"path,field(2,/) img",
	"path,word(1,/) -m beg sta",
	"path,regsub(png,gif) -m end .gif",
	"req.hdr(x-list,-1) d",
	"req.hdr(x-list,2) b",
	"url_param(x) -m found",
	"hdr(x-missing) -m found",
	"hdr_len(host) 15",
	"int(5) 1:10",
	"str(abc),upper ABC",
	"var(txn.nothing) -m found",
	"path -m reg -i ^/STATIC",
	"hdr(host) -f LST",
	"urlp_val(id) 10",
	"hdr(x-list),length 1",
	"src,ipmask(24) 127.0.0.0/24",
	"path_end -i .PNG",
	"hdr_ip(x-forwarded-for,1) 192.168.1.1",
	"url_end jpg",
	"hdr(x-num) -m int 5:8",
	"req.hdr_cnt(cookie) 1",
	"hdr(host) -m dom example.com",
	"path,lower,map_str(MAP) -m found",
	"req.fhdr_cnt(x-list) 2",
	"base -m sub example.com/api",
}

// diffConds are conditions over a1..aN and the predefined ACLs.
var diffConds = []string{
	"if a1 a2",
	"if a1 || a14",
	"if !a1",
	"unless a16",
	"if { path_beg /api } METH_GET",
	"if HTTP_1.1",
	"if METH_POST or METH_PUT",
	"if HTTP_URL_ABS",
	"if HTTP_CONTENT",
	"if LOCALHOST",
	"if TRUE !FALSE",
	"if HTTP_URL_SLASH",
	"if METH_GET !a1 or a4 a14",
	"if { hdr(host) -m reg ^(www|api)\\. } !{ path_end .png }",
}

// diffRequests are the requests both proxies judge.
var diffRequests = []string{
	"GET /static/img/logo.png?user=alice&id=10 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/7.88\r\nX-List: a, b,c\r\nX-List: d\r\nCookie: sid=abcd; lang=fr\r\nX-Num: 7\r\nX-Forwarded-For: 10.1.2.3\r\n",
	"POST /api/v2/items HTTP/1.1\r\nHost: api.example.org\r\nContent-Length: 150\r\nUser-Agent: Mozilla/5.0 (X11)\r\nCookie: sid=1; sid=2\r\n",
	"GET /INDEX.html?debug=1 HTTP/1.0\r\nHost: WWW.EXAMPLE.COM\r\n",
	"PUT http://www.example.com/images/a.jpg HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 0\r\n",
	"GET / HTTP/1.1\r\nHost: other.net\r\nX-Forwarded-For: 192.168.1.1, 10.0.0.5\r\n",
	"DELETE /static HTTP/1.1\r\nHost: example.com\r\nX-List: \"a,b\", c\r\nX-Num: 4\r\n",
	"GET /img HTTP/1.1\r\nHost: sub.example.com.evil.org\r\n",
	"OPTIONS /api/v1/x?x&id=3 HTTP/1.1\r\nHost: localhost\r\nCookie: lang=en, sid=xyzzy\r\n",
	"GET /Static/IMG/A.PNG HTTP/1.1\r\nHost: web.example.com\r\nX-List: b\r\nX-List: c,d\r\n",
}

const diffMap = "/api backend_api\n/static static\nweb.example.com webfarm\n# comment\n/index.html idx\n"
const diffList = "# hosts\nwww.example.com\n  api.example.org\n"

// TestHaproxyACLVerdicts runs every ACL and condition above through the
// installed haproxy 2.6 (each sets a variable; a return prints them) and
// through sample on the same requests, and wants the same verdicts.
func TestHaproxyACLVerdicts(t *testing.T) {
	if _, err := os.Stat(haproxytest.Bin); err != nil {
		t.Fatalf("reference haproxy not installed (%v): apt-get install haproxy", err)
	}
	dir := t.TempDir()
	mapPath := filepath.Join(dir, "m.map")
	lstPath := filepath.Join(dir, "h.lst")
	if err := os.WriteFile(mapPath, []byte(diffMap), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lstPath, []byte(diffList), 0o644); err != nil {
		t.Fatal(err)
	}
	subst := strings.NewReplacer("MAP", mapPath, "LST", lstPath)
	port := haproxytest.FreePort(t)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 1s\n")
	fmt.Fprintf(&cfg, "frontend fe\n  bind 127.0.0.1:%d\n", port)
	var lf strings.Builder
	for i, a := range diffACLs {
		fmt.Fprintf(&cfg, "  acl a%d %s\n", i+1, subst.Replace(a))
	}
	for i := range diffACLs {
		fmt.Fprintf(&cfg, "  http-request set-var(txn.a%d) int(0)\n", i+1)
		fmt.Fprintf(&cfg, "  http-request set-var(txn.a%d) int(1) if a%d\n", i+1, i+1)
		fmt.Fprintf(&lf, "%%[var(txn.a%d)]", i+1)
	}
	lf.WriteString("|")
	for i, c := range diffConds {
		fmt.Fprintf(&cfg, "  http-request set-var(txn.c%d) int(0)\n", i+1)
		fmt.Fprintf(&cfg, "  http-request set-var(txn.c%d) int(1) %s\n", i+1, c)
		fmt.Fprintf(&lf, "%%[var(txn.c%d)]", i+1)
	}
	fmt.Fprintf(&cfg, "  http-request return status 200 content-type text/plain lf-string \"%s\"\n", lf.String())
	haproxytest.Start(t, cfg.String())
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	haproxytest.WaitBound(t, addr)

	// The same through sample.
	opts := &sample.ParseOptions{ReadFile: os.ReadFile}
	acls := sample.ACLSet{}
	for i, a := range diffACLs {
		acl, err := sample.ParseACL(fmt.Sprintf("a%d", i+1), strings.Fields(subst.Replace(a)), opts)
		if err != nil {
			t.Fatalf("acl %q: %v", a, err)
		}
		acls.Add(acl)
	}
	var conds []*sample.Cond
	for _, c := range diffConds {
		cond, err := sample.ParseCond(strings.Fields(strings.ReplaceAll(c, `\\.`, `\.`)), acls, opts)
		if err != nil {
			t.Fatalf("cond %q: %v", c, err)
		}
		conds = append(conds, cond)
	}

	for ri, raw := range diffRequests {
		head := raw + "Connection: close\r\n\r\n"
		body := ""
		if strings.Contains(raw, "Content-Length: 150") {
			body = strings.Repeat("x", 150)
		}
		ref, clientPort := haproxyVerdicts(t, addr, head+body)
		txn := txnFromRaw(t, head, body)
		txn.Src = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), clientPort)
		txn.Dst = netip.MustParseAddrPort(addr)
		txn.Frontend = "fe"
		var got strings.Builder
		for i := range diffACLs {
			got.WriteString(verdict(acls[fmt.Sprintf("a%d", i+1)].Test(txn)))
		}
		got.WriteString("|")
		for _, c := range conds {
			got.WriteString(verdict(c.Eval(txn)))
		}
		if got.String() != ref {
			t.Errorf("request %d %q:\n haproxy %s\n gproxy  %s", ri+1, strings.SplitN(raw, "\r\n", 2)[0], ref, got.String())
			for i := range diffACLs {
				if i < len(ref) && ref[i] != got.String()[i] {
					t.Errorf("  acl a%d %q: haproxy %c, gproxy %c", i+1, diffACLs[i], ref[i], got.String()[i])
				}
			}
			off := len(diffACLs) + 1
			for i, c := range diffConds {
				if off+i < len(ref) && ref[off+i] != got.String()[off+i] {
					t.Errorf("  cond %q: haproxy %c, gproxy %c", c, ref[off+i], got.String()[off+i])
				}
			}
		}
	}
}

func verdict(b bool) string {
	if b {
		return "1"
	}
	return "-"
}

// haproxyVerdicts sends one request and returns the body haproxy printed
// and the client port it saw.
func haproxyVerdicts(t *testing.T, addr, req string) (string, uint16) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	port := uint16(c.LocalAddr().(*net.TCPAddr).Port)
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(c)
	_, b, ok := strings.Cut(string(out), "\r\n\r\n")
	if !ok || !strings.HasPrefix(string(out), "HTTP/1.1 200") {
		t.Fatalf("haproxy answered %q", out)
	}
	return strings.ReplaceAll(b, "0", "-"), port
}

// txnFromRaw builds the Txn of a raw request head (and body).
func txnFromRaw(t *testing.T, head, body string) *sample.Txn {
	t.Helper()
	r := bufio.NewReader(strings.NewReader(head))
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Fields(line)
	m := &sample.Message{Method: parts[0], URI: parts[1], Version: parts[2]}
	for {
		l, err := r.ReadString('\n')
		l = strings.TrimRight(l, "\r\n")
		if err != nil || l == "" {
			break
		}
		n, v, _ := strings.Cut(l, ":")
		m.Headers = append(m.Headers, sample.Header{Name: n, Value: strings.TrimSpace(v)})
	}
	if body != "" {
		m.Body = []byte(body)
	}
	return &sample.Txn{Req: m, Vars: map[string]sample.Value{}}
}
