package scenario

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Check returns one error per expectation of the scenario the result does
// not meet.
func (s *Scenario) Check(r *Result) []error {
	var errs []error
	fail := func(i int, e *Expect, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: expect[%d] (%s): %s", s.file, i, e.What, fmt.Sprintf(format, args...)))
	}
	for i, e := range s.Expect {
		switch e.What {
		case "vip":
			if len(r.VIPHosts) != 1 || r.VIPHosts[0] != e.Host {
				fail(i, e, "VIP %s on %v at the end, want only on %s", s.VIP, r.VIPHosts, e.Host)
			}
		case "outage", "failed":
			o := r.Outage(e.Name)
			switch {
			case o == nil:
				fail(i, e, "no outage %q measured", e.Name)
			case e.What == "outage" && o.Duration == 0:
				fail(i, e, "outage %q never ended", e.Name)
			case e.What == "outage" && e.Max.Duration > 0 && o.Duration > e.Max.Duration:
				fail(i, e, "outage %q lasted %s, want at most %s", e.Name, o.Duration, e.Max.Duration)
			case e.What == "failed" && o.Failed > e.MaxCount:
				fail(i, e, "%d requests failed during %q, want at most %d", o.Failed, e.Name, e.MaxCount)
			}
		case "syslog":
			n := 0
			for _, m := range r.Syslog {
				if (e.From == "" || m.From.String() == e.From) && strings.Contains(m.Raw, e.Contains) {
					n++
				}
			}
			if n < e.Min {
				fail(i, e, "%d syslog messages from %q containing %q, want at least %d", n, e.From, e.Contains, e.Min)
			}
		case "mails":
			n := 0
			for _, m := range r.Mails {
				if strings.Contains(m.Subject, e.Contains) {
					n++
				}
			}
			if n < e.Min {
				fail(i, e, "%d mails with %q in the subject, want at least %d", n, e.Contains, e.Min)
			}
		case "page":
			p := r.PageNamed(e.Name)
			switch {
			case p == nil:
				fail(i, e, "no http step %q", e.Name)
			case p.Status != e.Status:
				why := ""
				if p.Err != "" {
					why = " (" + p.Err + ")"
				}
				fail(i, e, "GET %s: status %d%s, want %d", p.URL, p.Status, why, e.Status)
			case !strings.Contains(p.Body, e.Contains):
				fail(i, e, "GET %s: body lacks %q", p.URL, e.Contains)
			}
		case "traffic":
			t := r.TrafficNamed(e.Name)
			if t == nil || t.OK < e.Min {
				fail(i, e, "traffic %q: %+v, want at least %d successful requests", e.Name, t, e.Min)
			}
		}
	}
	return slices.Clip(errs)
}

// Compare checks the scenario's "compare" expectations: each outage named
// lasted at most Max longer in r than in ref (the same scenario run with the
// reference daemons, in the same test run so that both saw the same load).
func (s *Scenario) Compare(ref, r *Result) []error {
	var errs []error
	for i, e := range s.Expect {
		if e.What != "compare" {
			continue
		}
		o, ro := r.Outage(e.Name), ref.Outage(e.Name)
		switch {
		case o == nil || o.Duration == 0:
			errs = append(errs, fmt.Errorf("%s: expect[%d] (compare): outage %q not measured in %s", s.file, i, e.Name, r.Scenario))
		case ro == nil || ro.Duration == 0:
			errs = append(errs, fmt.Errorf("%s: expect[%d] (compare): outage %q not measured in the reference run %s", s.file, i, e.Name, ref.Scenario))
		case o.Duration > ro.Duration+e.Max.Duration:
			errs = append(errs, fmt.Errorf("%s: expect[%d] (compare): outage %q lasted %s, the reference's %s: more than %s longer",
				s.file, i, e.Name, o.Duration.Round(time.Millisecond), ro.Duration.Round(time.Millisecond), e.Max.Duration))
		}
	}
	return errs
}
