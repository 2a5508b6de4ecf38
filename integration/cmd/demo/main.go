// Command demo runs a lab scenario (by default the seed's network failing
// over, integration/scenario/reference.toml) and narrates it. Needs root.
//
//	go run ./integration/cmd/demo [-scenario FILE] [-proxy gproxy] [-vrrp gkeepalived] [-keep]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"hapair/integration/lab"
	"hapair/integration/scenario"
)

func main() {
	file := flag.String("scenario", "integration/scenario/reference.toml", "scenario file")
	proxy := flag.String("proxy", "", "program for the proxy role on every host that has one (e.g. gproxy)")
	vrrp := flag.String("vrrp", "", "program for the vrrp role on every host that has one (e.g. gkeepalived)")
	keep := flag.Bool("keep", false, "keep the lab's directory (logs, configs)")
	verbose := flag.Bool("v", false, "also show every command the lab runs")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *file, *proxy, *vrrp, *keep, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, file, proxy, vrrp string, keep, verbose bool) error {
	sc, err := scenario.Load(file)
	if err != nil {
		return err
	}
	for role, prog := range map[string]string{scenario.RoleProxy: proxy, scenario.RoleVRRP: vrrp} {
		if prog != "" {
			if err := sc.Use(role, prog); err != nil {
				return err
			}
		}
	}
	var labLog io.Writer
	if verbose {
		labLog = os.Stderr
	}
	l, err := lab.New(ctx, "demo", labLog)
	if err != nil {
		return err
	}
	defer func() {
		l.Close()
		if keep {
			fmt.Printf("lab files kept in %s\n", l.Dir())
		} else {
			os.RemoveAll(l.Dir())
		}
	}()
	fmt.Printf("scenario %s: %s\n", sc.Name, sc.Description)
	res, err := sc.Run(ctx, l, os.Stdout)
	for _, o := range res.Outages {
		fmt.Printf("%-10s after %q: %5d ms, %d of %d requests failed, served by %s via %s\n",
			o.Name, o.After, o.Duration.Milliseconds(), o.Failed, o.Requests, o.Body, o.VIPHost)
	}
	fmt.Printf("VIP on %v; %d syslog messages; %d mails; %s\n", res.VIPHosts, len(res.Syslog), len(res.Mails), res.Elapsed.Round(time.Millisecond))
	for _, m := range res.Mails {
		fmt.Printf("  mail: %s\n", m.Subject)
	}
	if err != nil {
		return err
	}
	if errs := sc.Check(res); len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(os.Stderr, "unmet:", e)
		}
		return fmt.Errorf("%d expectations unmet", len(errs))
	}
	fmt.Println("all expectations met")
	return nil
}
