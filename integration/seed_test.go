package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"hapair/integration/lab"
	"hapair/integration/scenario"
)

// A variant of the seed's network: which programs run on lb1 and lb2
// (names of reference.toml's [programs]).
type variant struct {
	name              string
	lb1Proxy, lb1VRRP string
	lb2Proxy, lb2VRRP string
	reference         bool
}

var variants = []variant{
	{name: "ours", lb1Proxy: "gproxy", lb1VRRP: "gkeepalived", lb2Proxy: "gproxy", lb2VRRP: "gkeepalived"},
	{name: "theirs", lb1Proxy: "haproxy", lb1VRRP: "keepalived", lb2Proxy: "haproxy", lb2VRRP: "keepalived", reference: true},
	{name: "mixed", lb1Proxy: "gproxy", lb1VRRP: "gkeepalived", lb2Proxy: "haproxy", lb2VRRP: "keepalived"},
}

// The project's acceptance test: the seed's network (scenario/reference.toml)
// run three times in parallel labs, from the same test run so that the
// figures are comparable: with our gproxy and gkeepalived on both load
// balancers (the seed's two files verbatim), with Debian's haproxy 2.6 and
// keepalived 2.2.7, and mixed (lb1 ours, lb2 Debian's). Each expectation of
// the scenario is a subtest (e.g. .../ours/page_stats_page); then our
// outages are compared with keepalived's, and one table is logged.
func TestIntegrationSeed(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: run as root (CI does)")
	}
	bins := buildOurs(t)
	before, err := lab.MachineSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		results = map[string]*scenario.Result{}
		sc      *scenario.Scenario // for Compare: the expectations are the same in every variant
	)
	// The three labs run at the same time (not t.Parallel, which -parallel
	// limits to GOMAXPROCS, 2 here), so that every variant sees the same
	// load; they mostly wait on timers.
	t.Run("run", func(t *testing.T) {
		var wg sync.WaitGroup
		for _, v := range variants {
			wg.Add(1)
			go t.Run(v.name, func(t *testing.T) {
				defer wg.Done()
				s, res := runVariant(t, v, bins)
				mu.Lock()
				results[v.name], sc = res, s
				mu.Unlock()
				checkEach(t, s, res)
				t.Run("balance source: one client, one backend", func(t *testing.T) {
					for _, name := range []string{"http before", "http on lb2", "http after", "http at the end"} {
						if tr := res.TrafficNamed(name); tr == nil || len(tr.Bodies) != 1 {
							t.Errorf("%s: %+v; want every request answered by the same backend", name, tr)
						}
					}
				})
				t.Run("https roundrobin over both backends", func(t *testing.T) {
					if tr := res.TrafficNamed("https before"); tr == nil || tr.Bodies["web01"] != 2 || tr.Bodies["web02"] != 2 {
						t.Errorf("https through the VIP = %+v; want 2 answers from web01 and 2 from web02", tr)
					}
				})
				for _, m := range res.Syslog {
					t.Logf("syslog from %s: %s", m.From, m.Raw)
				}
				for _, m := range res.Mails {
					t.Logf("mail: %s\n%s", m.Subject, m.Raw)
				}
			})
		}
		wg.Wait()
	})
	after, err := lab.MachineSnapshot()
	if err != nil || after != before {
		t.Errorf("the machine's network configuration changed (%v):\nbefore:\n%s\nafter:\n%s", err, before, after)
	}
	if sc == nil {
		t.Fatal("no scenario ran")
	}
	table := figures(results)
	t.Log("\n" + table)
	ref := results["theirs"]
	for _, v := range variants {
		if v.reference {
			continue
		}
		r := results[v.name]
		compare := func(name string, f func(t *testing.T, r, ref *scenario.Result)) {
			t.Run(name+"/"+v.name, func(t *testing.T) {
				if ref == nil || r == nil {
					t.Fatalf("nothing to compare: theirs ran %v, %s ran %v", ref != nil, v.name, r != nil)
				}
				f(t, r, ref)
			})
		}
		compare("within one advert interval of keepalived", func(t *testing.T, r, ref *scenario.Result) {
			for _, err := range sc.Compare(ref, r) {
				t.Error(err)
			}
		})
		// balance source hashes the client's address over the servers'
		// weights: a drop-in must pick the backend haproxy picks, or a
		// client moves to another backend when the other node is haproxy.
		compare("balance source picks haproxy's backend", func(t *testing.T, r, ref *scenario.Result) {
			for _, name := range []string{"http before", "http on lb2"} {
				got, want := r.TrafficNamed(name), ref.TrafficNamed(name)
				if got == nil || want == nil || fmt.Sprint(got.Bodies) != fmt.Sprint(want.Bodies) {
					t.Errorf("%s: backends %v; haproxy: %v", name, got, want)
				}
			}
		})
		// lb1's lines at the syslog host, with numbers blanked: every kind
		// of line haproxy sends must come from ours too.
		compare("syslog lines from lb1 as haproxy's", func(t *testing.T, r, ref *scenario.Result) {
			got := lineShapes(r, "192.168.1.80")
			for shape, example := range lineShapes(ref, "192.168.1.80") {
				if _, ok := got[shape]; !ok {
					t.Errorf("haproxy sent a line like %q; none like it from ours (ours sent %d kinds: %q)", example, len(got), keys(got))
				}
			}
		})
		// keepalived's smtp_alert mails, dates and ports blanked.
		compare("alert mails as keepalived's", func(t *testing.T, r, ref *scenario.Result) {
			got, want := mailShapes(r), mailShapes(ref)
			for shape := range want {
				if !got[shape] {
					t.Errorf("keepalived sent:\n%s\nours sent no such mail", shape)
				}
			}
			for shape := range got {
				if !want[shape] {
					t.Errorf("ours sent:\n%s\nkeepalived sent no such mail", shape)
				}
			}
		})
	}
}

var (
	digits = regexp.MustCompile(`[0-9]+`)
	// The termination state of a tcplog line (two characters after the
	// byte count) depends on which side closed first: a race here.
	termState = regexp.MustCompile(`(\] \S+ \S+ \S+ \S+ )\S\S `)
)

// lineShapes returns the syslog messages from an address with every
// number blanked (and the termination state of tcplog lines), each with
// an example.
func lineShapes(r *scenario.Result, from string) map[string]string {
	shapes := map[string]string{}
	for _, m := range r.Syslog {
		if m.From.String() != from {
			continue
		}
		shape := termState.ReplaceAllString(digits.ReplaceAllString(m.Raw, "9"), "$1.. ")
		if _, ok := shapes[shape]; !ok {
			shapes[shape] = m.Raw
		}
	}
	return shapes
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// mailShapes returns the distinct mails with their Date and the SMTP
// client's port (X-Peer, added by the server) blanked.
func mailShapes(r *scenario.Result) map[string]bool {
	shapes := map[string]bool{}
	for _, m := range r.Mails {
		var b strings.Builder
		for _, line := range strings.Split(strings.ReplaceAll(string(m.Raw), "\r\n", "\n"), "\n") {
			switch {
			case strings.HasPrefix(line, "Date: "):
				line = "Date: ..."
			case strings.HasPrefix(line, "X-Peer: "):
				line = digits.ReplaceAllString(line, "9")
			}
			b.WriteString(line + "\n")
		}
		shapes[b.String()] = true
	}
	return shapes
}

// runVariant runs the scenario with v's programs in a lab of its own and
// returns the result; a step that fails fails the test (the result so far
// is still returned, for the table).
func runVariant(t *testing.T, v variant, bins string) (*scenario.Scenario, *scenario.Result) {
	sc, err := scenario.Load("scenario/reference.toml")
	if err != nil {
		t.Fatal(err)
	}
	sc.Programs["gproxy"].Path = filepath.Join(bins, "gproxy")
	sc.Programs["gkeepalived"].Path = filepath.Join(bins, "gkeepalived")
	for _, u := range []struct{ host, role, prog string }{
		{"lb1", scenario.RoleProxy, v.lb1Proxy}, {"lb1", scenario.RoleVRRP, v.lb1VRRP},
		{"lb2", scenario.RoleProxy, v.lb2Proxy}, {"lb2", scenario.RoleVRRP, v.lb2VRRP},
	} {
		if err := sc.UseOn(u.host, u.role, u.prog); err != nil {
			t.Fatal(err)
		}
	}
	// The lab's own command log is long: kept in its directory, shown
	// only through that path when the test fails.
	var labLog syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := lab.New(ctx, "seed-"+v.name, &labLog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Close()
		if t.Failed() {
			os.WriteFile(filepath.Join(l.Dir(), "lab.log"), labLog.Bytes(), 0o644)
			t.Logf("lab %s: logs kept in %s (lab.log: every command it ran)", v.name, l.Dir())
			return
		}
		os.RemoveAll(l.Dir())
	})
	res, err := sc.Run(ctx, l, logWriter{t})
	if err != nil {
		t.Errorf("%s: run: %v", v.name, err)
	}
	return sc, res
}

// checkEach runs one subtest per expectation of the scenario, so that a
// failure names what a user would see broken.
func checkEach(t *testing.T, sc *scenario.Scenario, res *scenario.Result) {
	errs := sc.Check(res)
	for i, e := range sc.Expect {
		if e.What == "compare" {
			continue
		}
		name := strings.TrimSpace(e.What + " " + e.Name + " " + e.Host + " " + e.Contains)
		t.Run(name, func(t *testing.T) {
			tag := fmt.Sprintf("expect[%d] ", i)
			for _, err := range errs {
				if strings.Contains(err.Error(), tag) {
					t.Error(err)
				}
			}
		})
	}
}

// outageNames are the scenario's measure steps, in order.
var outageNames = []string{"failover", "takeback", "lb1 vrrp stopped", "lb2 vrrp stopped"}

// figures formats one table: for each variant and outage, how long the
// client was not served and how many of its requests failed.
func figures(results map[string]*scenario.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed scenario, same run: outage (ms) / failed of sent requests\n")
	fmt.Fprintf(&b, "%-8s", "")
	for _, n := range outageNames {
		fmt.Fprintf(&b, " | %-20s", n)
	}
	fmt.Fprintf(&b, " | %s\n", "programs")
	for _, v := range variants {
		r := results[v.name]
		fmt.Fprintf(&b, "%-8s", v.name)
		for _, n := range outageNames {
			cell := "-"
			if r != nil {
				if o := r.Outage(n); o != nil {
					if o.Duration > 0 {
						cell = fmt.Sprintf("%5d ms  %2d/%d", o.Duration.Milliseconds(), o.Failed, o.Requests)
					} else {
						cell = fmt.Sprintf("never     %2d/%d", o.Failed, o.Requests)
					}
				}
			}
			fmt.Fprintf(&b, " | %-20s", cell)
		}
		progs := ""
		if r != nil {
			progs = strings.Join(r.Programs, "; ")
		}
		fmt.Fprintf(&b, " | %s\n", progs)
	}
	fmt.Fprintf(&b, "failover: %s on lb1 (killall haproxy) until lb2 serves; takeback: restart until lb1 serves;\n", "SIGTERM to the proxy")
	fmt.Fprintf(&b, "lbN vrrp stopped: SIGTERM to the master's VRRP daemon (priority 0) until the other serves.\n")
	return b.String()
}

// buildOurs builds gproxy and gkeepalived from this checkout into a
// temporary directory, as `make build` does, so that the test never runs
// stale binaries.
func buildOurs(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	dir := t.TempDir()
	for _, cmd := range []string{"gproxy", "gkeepalived"} {
		c := exec.Command(goBin, "build", "-trimpath", "-o", filepath.Join(dir, cmd), "./cmd/"+cmd)
		c.Dir = root
		c.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("go build ./cmd/%s: %v\n%s", cmd, err, out)
		}
	}
	return dir
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// syncBuffer is a bytes.Buffer safe for the lab's concurrent logging.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}
