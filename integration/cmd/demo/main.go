// Command demo runs the seed's network (integration/scenario/reference.toml)
// in private network namespaces with our gproxy and gkeepalived on both load
// balancers, and narrates it: the election, traffic through the VIP, the
// stats page, a failover when the proxy dies, the takeback, clean handovers,
// and what the syslog and SMTP servers received. Needs root; `make demo`
// builds bin/gproxy and bin/gkeepalived first.
//
//	go run ./integration/cmd/demo [-scenario FILE] [-proxy haproxy] [-vrrp keepalived] [-clean] [-v]
package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"hapair/integration/lab"
	"hapair/integration/scenario"
)

func main() {
	file := flag.String("scenario", "integration/scenario/reference.toml", "scenario file")
	proxy := flag.String("proxy", "gproxy", "program for the proxy role on both load balancers: gproxy or haproxy (Debian's)")
	vrrp := flag.String("vrrp", "gkeepalived", "program for the vrrp role on both load balancers: gkeepalived or keepalived (Debian's)")
	clean := flag.Bool("clean", false, "remove the lab's directory (logs, mails) at the end instead of keeping it")
	verbose := flag.Bool("v", false, "also show every command the lab runs")
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "demo: needs root (it creates network namespaces, a bridge and the seed's addresses inside them, never on this machine's own network): run it as root, e.g. sudo make demo")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, *file, *proxy, *vrrp, *clean, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, file, proxy, vrrp string, clean, verbose bool) error {
	sc, err := scenario.Load(file)
	if err != nil {
		return err
	}
	for role, prog := range map[string]string{scenario.RoleProxy: proxy, scenario.RoleVRRP: vrrp} {
		if err := sc.Use(role, prog); err != nil {
			return err
		}
		if p := sc.Path(sc.Programs[prog].Path); !executable(p) {
			return fmt.Errorf("%s: no executable %s: run `make build` first (or `make demo`, which does)", prog, p)
		}
	}
	var labLog io.Writer = io.Discard
	if verbose {
		labLog = os.Stderr
	}
	l, err := lab.New(ctx, "demo", labLog)
	if err != nil {
		return err
	}
	defer func() {
		l.Close()
		if clean {
			os.RemoveAll(l.Dir())
		}
	}()
	fmt.Fprintf(out, "The seed's network (%s), %s as the proxy and %s as the VRRP daemon on lb1 (192.168.1.80) and lb2 (192.168.1.81); the VIP is %s.\n\n",
		sc.File(), proxy, vrrp, sc.VIP)
	res, runErr := sc.Run(ctx, l, out)
	fmt.Fprintln(out)
	report(out, res)
	if !clean {
		pointers(out, l.Dir(), res)
	}
	if runErr != nil {
		return runErr
	}
	if errs := sc.Check(res); len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(out, "NOT MET:", e)
		}
		return fmt.Errorf("%d expectations not met", len(errs))
	}
	fmt.Fprintln(out, "Every expectation of the scenario was met.")
	return nil
}

func executable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// report says in plain words what the run showed.
func report(out io.Writer, res *scenario.Result) {
	fmt.Fprintln(out, "What happened:")
	if p := res.PageNamed("stats csv"); p != nil {
		fmt.Fprintf(out, "- The stats page (%s) ", p.URL)
		switch {
		case p.Err != "":
			fmt.Fprintf(out, "did not answer: %s\n", p.Err)
		case p.Status != 200:
			fmt.Fprintf(out, "answered %d instead of the statistics.\n", p.Status)
		default:
			rows, err := statsRows(p.Body)
			if err != nil {
				fmt.Fprintf(out, "answered, but not in haproxy's CSV: %v\n", err)
				break
			}
			fmt.Fprintln(out, "showed (before the failover):")
			for _, r := range rows {
				fmt.Fprintf(out, "    %s\n", r)
			}
		}
	}
	for _, o := range res.Outages {
		if o.Duration == 0 {
			fmt.Fprintf(out, "- %s: after %q the client was never served again via the expected node (%d of %d requests failed).\n", o.Name, o.After, o.Failed, o.Requests)
			continue
		}
		fmt.Fprintf(out, "- %s: after %q the client was served again after %d ms, by %s through the VIP on %s; %d of its %d requests failed meanwhile.\n",
			o.Name, o.After, o.Duration.Milliseconds(), o.Body, o.VIPHost, o.Failed, o.Requests)
	}
	fmt.Fprintf(out, "- At the end the VIP is on %s.\n", strings.Join(res.VIPHosts, " and "))
	from := map[string]int{}
	for _, m := range res.Syslog {
		from[m.From.String()]++
	}
	fmt.Fprintf(out, "- The syslog host received %d lines (%s).\n", len(res.Syslog), counts(from))
	fmt.Fprintf(out, "- The SMTP host received %d mails:\n", len(res.Mails))
	for _, m := range res.Mails {
		fmt.Fprintf(out, "    %s\n", m.Subject)
	}
	fmt.Fprintf(out, "The run took %s.\n\n", res.Elapsed.Round(100*time.Millisecond))
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = fmt.Sprintf("%d from %s", m[k], k)
	}
	if len(keys) == 0 {
		return "none"
	}
	return strings.Join(keys, ", ")
}

// pointers says where the logs, received lines and mails are.
func pointers(out io.Writer, dir string, res *scenario.Result) {
	fmt.Fprintf(out, "Files kept in %s:\n", dir)
	logs, _ := filepath.Glob(filepath.Join(dir, "lb*-*.log"))
	for _, f := range logs {
		if strings.HasSuffix(f, "-init.log") {
			continue
		}
		fmt.Fprintf(out, "  %s\n", f)
	}
	if res.SyslogFile != "" {
		fmt.Fprintf(out, "  %s  (every syslog line received, after the sender's address)\n", res.SyslogFile)
	}
	if res.Maildir != "" {
		fmt.Fprintf(out, "  %s  (the alert mails, one file each)\n", filepath.Join(res.Maildir, "new"))
	}
	fmt.Fprintf(out, "  (rm -rf %s when done)\n\n", dir)
}

// errNotCSV is returned by statsRows for a body that is not haproxy's
// stats CSV (header "# pxname,svname,...").
var errNotCSV = errors.New("no '# pxname,svname,...' header")

// statsRows summarises haproxy's stats CSV (`/stats;csv`, the format the
// management guide's section 9.1 documents) as one line per proxy and
// server: its status, current and total sessions.
func statsRows(body string) ([]string, error) {
	if !strings.HasPrefix(body, "# ") {
		return nil, errNotCSV
	}
	r := csv.NewReader(strings.NewReader(body[2:]))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("stats CSV: %w", err)
	}
	if len(recs) == 0 {
		return nil, errNotCSV
	}
	col := map[string]int{}
	for i, name := range recs[0] {
		col[name] = i
	}
	for _, need := range []string{"pxname", "svname", "status", "scur", "stot"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("stats CSV: no column %q", need)
		}
	}
	get := func(rec []string, name string) string {
		if i := col[name]; i < len(rec) {
			return rec[i]
		}
		return ""
	}
	var rows []string
	for _, rec := range recs[1:] {
		if len(rec) < 2 {
			continue
		}
		rows = append(rows, fmt.Sprintf("%-8s %-9s %-9s %s current, %s total sessions",
			get(rec, "pxname"), get(rec, "svname"), get(rec, "status"), get(rec, "scur"), get(rec, "stot")))
	}
	return rows, nil
}
