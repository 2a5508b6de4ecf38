package logformat

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"hapair/pkg/accesslog"
	"hapair/pkg/sample"
)

// goldenFile holds the lines haproxy 2.6.12 printed (`log stdout format
// raw`) for the frontends of diffCases, one "FRONTEND<TAB>LINE" per line;
// TestIntegrationHaproxyLogFormats rewrites it with -update.
const goldenFile = "testdata/haproxy-2.6.12-logformat.golden"

// goldenTZ is the time zone haproxy ran in, so that %Tl and %trl show an
// offset.
const goldenTZ = "Asia/Kolkata"

// prefix prints every field a Session holds, for the test to rebuild the
// Session haproxy logged; each case's own format follows " ### ".
const (
	httpPrefix = "%Ts.%ms~~%ci~~%cp~~%fi~~%fp~~%bi~~%bp~~%si~~%sp~~%f~~%b~~%s~~%Th~~%Ti~~%TR~~%Tw~~%Tc~~%Tr~~%Ta~~%Tt~~%ST~~%B~~%U~~%ts~~%ac~~%fc~~%bc~~%sc~~%rc~~%sq~~%bq~~%ID~~%pid~~%H~~%rt~~%lc~~%HM~~%HU~~%HV~~%CC~~%CS~~%hr~~%hrl~~%hs~~%hsl"
	tcpPrefix  = "%Ts.%ms~~%ci~~%cp~~%fi~~%fp~~%bi~~%bp~~%si~~%sp~~%f~~%b~~%s~~%Th~~%Tw~~%Tc~~%Tt~~%B~~%U~~%ts~~%ac~~%fc~~%bc~~%sc~~%rc~~%sq~~%bq~~%ID~~%pid~~%H~~%rt~~%lc"
	sep        = " ### "
)

type diffCase struct {
	name   string // the frontend
	http   bool
	format string
	extra  string // more frontend lines (captures, unique-id)
}

var captures = `    capture request header Host len 20
    capture request header X-Long len 5
    capture request header X-None len 10
    capture response header Content-Type len 30
    capture cookie SRV len 12
`

var diffCases = []diffCase{
	{"clf", true, CLFLogFormat, captures},
	{"httplogcap", true, accesslog.HTTPLogFormat, captures},
	{"httplog", true, accesslog.HTTPLogFormat, ""},
	{"hexa", true, `%{+X}ci:%{+X}cp %{+X}Ts %{+X}ms %{+X}rt %{+X}pid %{+X}fi:%{+X}fp %{+X}si:%{+X}sp %{+X}lc`, ""},
	{"dates", true, `%T|%Tl|%trg|%trl|%t|%tr|%Ts|%ms`, ""},
	{"reqparts", true, `%HM %HU %HP %HPO %HQ %HV %{+Q}HU %{+Q}HQ %{+Q}r %r`, ""},
	{"quotes", true, `%{+Q}f %{+Q}b %{+Q}s %{+Q}ft %{+Q}ID %{+E}ID %{+Q,+E}CC %{-M}CS x%{-M}CC %{+Q}ci %{+Q}cp %{+Q}H`, captures + "    unique-id-format \"%{+Q}o%ci\\\"]\\\\x\"\n"},
	{"timers", true, `%Th %Ti %TR %Tq %Tw %Tc %Tr %Td %Ta %Tt %Tu`, ""},
	{"counters", true, `%B %U %ST %ts %tsc %ac %fc %bc %sc %rc %sq %bq %lc %rt`, ""},
	{"spaces", true, `  lead   %%  spaces%ci  %!x %{+Q}o%b  `, ""},
	{"lists", true, `%hrl|%hsl|%{+Q}hrl|%{+Q}hsl|%{+Q}hr|%{+Q}hs|%{+E}hr`, captures},
	{"uniqueid", true, `%ID %{+Q}ID`, "    unique-id-format %{+X}o\\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid\n    unique-id-header X-Unique-ID\n"},
	{"samples", true, `%[src] %[src_port] %[dst] %[dst_port] %[fe_name] %[be_name] %[method] %[status] %[src,ipmask(24)] %{+Q}[fe_name,upper] %{+X}[src] %[str(a b),length] %{+Q}[str("q\"x")] %{+E}[str(e]\\)]`, captures},
	{"tcpsamples", false, `%[src] %[dst_port] %[fe_name] %[be_name] %{+Q}[src,ipmask(16)] %[str(lit)] %[int(42),neg]`, ""},
	{"tcplog", false, accesslog.TCPLogFormat, ""},
	{"tcptimers", false, `%Th %Tw %Tc %Td %Tt %Tu %U %B %ts %{+Q}b %bi:%bp %si:%sp %{+X}bp %f/%ft/%s`, ""},
}

func caseByName(name string) (diffCase, bool) {
	for _, c := range diffCases {
		if c.name == name {
			return c, true
		}
	}
	return diffCase{}, false
}

func unhash(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func dash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

func msDur(s string) (time.Duration, error) {
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, err
	}
	if v < 0 {
		return -1, nil
	}
	return time.Duration(v) * time.Millisecond, nil
}

func addrPort(ip, port string) netip.AddrPort {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.AddrPort{}
	}
	p, _ := strconv.Atoi(port)
	return netip.AddrPortFrom(a, uint16(p))
}

// parseCaptures reads %hr ("{a|b}") with %hrl ("a b", '-' for a slot
// that captured nothing).
func parseCaptures(hr, hrl string) []accesslog.Capture {
	if hr == "" {
		return nil
	}
	vals := strings.Split(strings.TrimSuffix(strings.TrimPrefix(hr, "{"), "}"), "|")
	set := strings.Split(hrl, " ")
	out := make([]accesslog.Capture, len(vals))
	for i, v := range vals {
		out[i] = accesslog.Capture{Value: unhash(v), Set: i >= len(set) || set[i] != "-"}
	}
	return out
}

// parseSession rebuilds the Session from the prefix haproxy printed.
func parseSession(prefix string, http bool, loc *time.Location) (accesslog.Session, error) {
	var s accesslog.Session
	f := strings.Split(prefix, "~~")
	want := strings.Count(tcpPrefix, "~~") + 1
	if http {
		want = strings.Count(httpPrefix, "~~") + 1
	}
	if len(f) != want {
		return s, fmt.Errorf("%d fields, want %d", len(f), want)
	}
	sec, msec, _ := strings.Cut(f[0], ".")
	ts, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return s, err
	}
	m, _ := strconv.Atoi(msec)
	s.Accept = time.Unix(ts, int64(m)*1e6).In(loc)
	s.Client, s.Frontend, s.BackendSrc, s.ServerAddr = addrPort(f[1], f[2]), addrPort(f[3], f[4]), addrPort(f[5], f[6]), addrPort(f[7], f[8])
	s.FrontendName, s.BackendName, s.ServerName = f[9], f[10], f[11]
	ints := func(fields []string, dst ...*int) error {
		for i, p := range dst {
			v, err := strconv.Atoi(strings.TrimPrefix(fields[i], "+"))
			if err != nil {
				return err
			}
			*p = v
		}
		return nil
	}
	durs := func(fields []string, dst ...*time.Duration) error {
		for i, p := range dst {
			v, err := msDur(fields[i])
			if err != nil {
				return err
			}
			*p = v
		}
		return nil
	}
	var rest []string
	if http {
		if err := durs(f[12:20], &s.Th, &s.Ti, &s.TR, &s.Tw, &s.Tc, &s.Tr, &s.Ta, &s.Tt); err != nil {
			return s, err
		}
		if err := ints(f[20:21], &s.Status); err != nil {
			return s, err
		}
		rest = f[21:]
	} else {
		var tw int
		if err := ints(f[13:14], &tw); err != nil {
			return s, err
		}
		if err := durs(f[12:16], &s.Th, &s.Tw, &s.Tc, &s.Tt); err != nil {
			return s, err
		}
		// %Tw is the queue time plus one in mode tcp (see accesslog.TCPLog).
		s.Tw = -1
		if tw >= 0 {
			s.Tw = time.Duration(tw-1) * time.Millisecond
		}
		rest = f[16:]
	}
	var err2 error
	if s.BytesToClient, err2 = strconv.ParseInt(rest[0], 10, 64); err2 != nil {
		return s, err2
	}
	if s.BytesFromClient, err2 = strconv.ParseInt(rest[1], 10, 64); err2 != nil {
		return s, err2
	}
	s.TermCause, s.TermState = rest[2][0], rest[2][1]
	s.Redisp = strings.HasPrefix(rest[7], "+")
	if err := ints(rest[3:10], &s.ActConn, &s.FeConn, &s.BeConn, &s.SrvConn, &s.Retries, &s.SrvQueue, &s.BeQueue); err != nil {
		return s, err
	}
	s.UniqueID = dash(rest[10])
	if err := ints(rest[11:12], &s.PID); err != nil {
		return s, err
	}
	s.Hostname = dash(rest[12])
	rt, err := strconv.ParseUint(rest[13], 10, 64)
	if err != nil {
		return s, err
	}
	lc, err := strconv.ParseUint(rest[14], 10, 64)
	if err != nil {
		return s, err
	}
	s.ReqCounter, s.LogCount = rt, lc
	if !http {
		return s, nil
	}
	h := rest[15:]
	if h[0] != "<BADREQ>" {
		s.Method, s.URI, s.Version = unhash(h[0]), unhash(h[1]), unhash(h[2])
	}
	s.CookieClient, s.CookieServer = dash(h[3]), dash(h[4])
	s.ReqCaptures = parseCaptures(h[5], h[6])
	s.ResCaptures = parseCaptures(h[7], h[8])
	return s, nil
}

// checkLine formats the Session rebuilt from haproxy's prefix with the
// case's format and compares with what haproxy printed after it.
func checkLine(t *testing.T, fe, line string, loc *time.Location) {
	t.Helper()
	c, ok := caseByName(fe)
	if !ok {
		t.Fatalf("no case %q", fe)
	}
	prefix, want, ok := strings.Cut(line, sep)
	if !ok {
		t.Fatalf("%s: no %q in %q", fe, sep, line)
	}
	s, err := parseSession(prefix, c.http, loc)
	if err != nil {
		t.Fatalf("%s: %v in %q", fe, err, prefix)
	}
	f, err := ParseLog(c.format, nil, c.http)
	if err != nil {
		t.Fatalf("%s: %v", fe, err)
	}
	// What fetches see: the connection, and the request line and the
	// captured Host header for the fetches of the request.
	var txn *sample.Txn // as the log writer leaves it: made from the Session
	if c.http && s.Method != "" {
		txn = &sample.Txn{Src: s.Client, Dst: s.Frontend, Frontend: s.FrontendName, Backend: s.BackendName}
		txn.Req = &sample.Message{Method: s.Method, URI: s.URI, Version: s.Version}
		if len(s.ReqCaptures) > 0 && s.ReqCaptures[0].Set {
			txn.Req.Headers = []sample.Header{{Name: "host", Value: s.ReqCaptures[0].Value}}
		}
	}
	got := string(f.Append(nil, txn, &s))
	if got != want {
		t.Errorf("%s: %q\n got: %q\nwant: %q", fe, c.format, got, want)
	}
}

func TestGoldenHaproxyLogFormats(t *testing.T) {
	loc, err := time.LoadLocation(goldenTZ)
	if err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	seen := map[string]int{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		fe, line, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("bad golden line %q", sc.Text())
		}
		seen[fe]++
		checkLine(t, fe, line, loc)
	}
	for _, c := range diffCases {
		if seen[c.name] == 0 {
			t.Errorf("golden file has no line for %s", c.name)
		}
	}
}
