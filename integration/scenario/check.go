package scenario

import (
	"fmt"
	"slices"
	"strings"
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
		case "traffic":
			t := r.TrafficNamed(e.Name)
			if t == nil || t.OK < e.Min {
				fail(i, e, "traffic %q: %+v, want at least %d successful requests", e.Name, t, e.Min)
			}
		}
	}
	return slices.Clip(errs)
}
