package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"hapair/integration/lab"
	"hapair/integration/peers"
)

// Result is what a run measured.
type Result struct {
	Scenario string
	Elapsed  time.Duration
	Events   []Event   // what happened, in order
	Started  []Started // every service start
	Outages  []Outage  // one per measure step
	Traffic  []Traffic // one per traffic step
	Pages    []Page    // one per http step
	VIPHosts []string  // hosts holding the VIP at the end (one, when all is well)
	Programs []string  // what ran where, e.g. "lb1: gproxy + gkeepalived"
	// Where the syslog host's received lines and the SMTP host's mails are
	// (outside the lab), when those services ran.
	SyslogFile, Maildir string
	Syslog              []peers.Message
	Mails               []peers.Mail
}

// Event is one line of the run's narration.
type Event struct {
	At   time.Duration // since the run started
	Text string
}

// Started is one service start.
type Started struct {
	At      time.Duration
	Host    string
	Service string // proxy, vrrp, web, syslog, smtp
	Program string // e.g. haproxy, gproxy, nginx
	Pid     int    // inside the host, from the pidfile (0 if none)
}

// Outage is what a measure step saw after a kill (or start).
type Outage struct {
	Name     string
	After    string        // the kill or start it is measured from
	Duration time.Duration // from that step to the first request served with the VIP where expected
	Requests int           // requests sent until then
	Failed   int           // of which failed (refused, timed out, bad status)
	Body     string        // the first good response's body (names the backend)
	VIPHost  string        // where the VIP was when it was served
}

// Traffic is what a traffic step saw.
type Traffic struct {
	Name   string
	OK     int
	Failed int
	Bodies map[string]int // response body → count
}

// Page is what an http step got.
type Page struct {
	Name   string
	URL    string // without the password
	Status int    // 0 when no response came
	Body   string
	Err    string // why no response came
}

// PageNamed returns the http step called name, or nil.
func (r *Result) PageNamed(name string) *Page {
	for i := range r.Pages {
		if r.Pages[i].Name == name {
			return &r.Pages[i]
		}
	}
	return nil
}

// Outage returns the outage called name, or nil.
func (r *Result) Outage(name string) *Outage {
	for i := range r.Outages {
		if r.Outages[i].Name == name {
			return &r.Outages[i]
		}
	}
	return nil
}

// TrafficNamed returns the traffic step called name, or nil.
func (r *Result) TrafficNamed(name string) *Traffic {
	for i := range r.Traffic {
		if r.Traffic[i].Name == name {
			return &r.Traffic[i]
		}
	}
	return nil
}

type runner struct {
	s       *Scenario
	l       *lab.Lab
	out     io.Writer
	r       *Result
	start   time.Time
	hosts   map[string]*lab.Host
	configs map[string]map[string][]byte // host → program → rendered config
	svcs    map[string]map[string]*peers.Service
	syslog  *peers.Syslog
	smtp    *peers.SMTP
	mark    time.Time // the last kill or start
	markTxt string
}

// Run builds the scenario's hosts in l, runs its steps and returns what it
// measured. Narration goes to narrate (may be nil). On a failed step it
// returns the result so far with the error. The whole run is bounded by the
// scenario's timeout.
func (s *Scenario) Run(ctx context.Context, l *lab.Lab, narrate io.Writer) (*Result, error) {
	if narrate == nil {
		narrate = io.Discard
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout.Duration)
	defer cancel()
	rn := &runner{s: s, l: l, out: narrate, r: &Result{Scenario: s.Name}, start: time.Now(),
		hosts: map[string]*lab.Host{}, svcs: map[string]map[string]*peers.Service{}}
	err := rn.run(ctx)
	rn.collect(context.Background())
	rn.r.Elapsed = time.Since(rn.start)
	return rn.r, err
}

func (rn *runner) eventf(format string, args ...any) {
	e := Event{At: time.Since(rn.start), Text: fmt.Sprintf(format, args...)}
	rn.r.Events = append(rn.r.Events, e)
	fmt.Fprintf(rn.out, "%6.2fs  %s\n", e.At.Seconds(), e.Text)
}

func (rn *runner) run(ctx context.Context) error {
	var err error
	if rn.configs, err = rn.s.render(); err != nil {
		return err
	}
	for _, h := range rn.s.Hosts {
		lh, err := rn.l.AddHost(h.Name, h.prefixes...)
		if err != nil {
			return err
		}
		rn.hosts[h.Name] = lh
		rn.svcs[h.Name] = map[string]*peers.Service{}
	}
	for _, h := range rn.s.Hosts {
		if h.Proxy != "" || h.VRRP != "" {
			rn.r.Programs = append(rn.r.Programs, fmt.Sprintf("%s: %s", h.Name, strings.Join(slices.DeleteFunc([]string{h.Proxy, h.VRRP}, func(p string) bool { return p == "" }), " + ")))
		}
	}
	rn.eventf("lab %s: %d hosts on bridge %s (files in %s); %s", rn.s.Name, len(rn.s.Hosts), lab.Bridge, rn.l.Dir(), strings.Join(rn.r.Programs, "; "))
	for _, st := range rn.s.Steps {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w", st.line, err)
		}
		if st.Say != "" {
			rn.eventf("%s", st.Say)
		}
		if err := rn.step(ctx, st); err != nil {
			rn.eventf("FAILED %s: %v", st.line, err)
			return fmt.Errorf("%s: %w", st.line, err)
		}
	}
	return nil
}

// render applies each host's replace pairs to its programs' config
// templates; every pair must match somewhere, so a template that drifted
// from the scenario is an error rather than a silently wrong config.
func (s *Scenario) render() (map[string]map[string][]byte, error) {
	out := map[string]map[string][]byte{}
	for _, h := range s.Hosts {
		out[h.Name] = map[string][]byte{}
		used := make([]bool, len(h.Replace))
		hasProgram := false
		for _, prog := range []string{h.Proxy, h.VRRP} {
			if prog == "" {
				continue
			}
			hasProgram = true
			p := s.Programs[prog]
			b, err := os.ReadFile(s.Path(p.Config))
			if err != nil {
				return nil, fmt.Errorf("host %s: program %s: %w", h.Name, prog, err)
			}
			text := string(b)
			for i, r := range h.Replace {
				if strings.Contains(text, r[0]) {
					used[i] = true
					text = strings.ReplaceAll(text, r[0], r[1])
				}
			}
			out[h.Name][prog] = []byte(text)
		}
		for i, ok := range used {
			if !ok && hasProgram {
				return nil, fmt.Errorf("host %s: replace %q matches none of its config files", h.Name, h.Replace[i][0])
			}
		}
	}
	return out, nil
}

func (rn *runner) setMark(text string) {
	rn.mark, rn.markTxt = time.Now(), text
}

func (rn *runner) step(ctx context.Context, st *Step) error {
	switch st.Do {
	case "start":
		if st.Service != "" {
			rn.setMark(fmt.Sprintf("start %s on %s", st.Service, st.Host))
			return rn.startService(ctx, rn.s.Host(st.Host), st.Service)
		}
		for _, svc := range []string{"web", "syslog", "smtp", RoleProxy, RoleVRRP} {
			for _, h := range rn.s.Hosts {
				if st.Host != "" && h.Name != st.Host || !h.has(svc) {
					continue
				}
				if err := rn.startService(ctx, h, svc); err != nil {
					return err
				}
			}
		}
		rn.setMark("start")
		return nil
	case "kill":
		svc := rn.svcs[st.Host][st.Service]
		if svc == nil {
			return fmt.Errorf("%s was not started on %s", st.Service, st.Host)
		}
		sig, _ := parseSignal(st.Signal)
		rn.setMark(fmt.Sprintf("kill -%s %s on %s", signalName(sig), svc.Process, st.Host))
		rn.eventf("%s: killall -s %s %s", st.Host, signalName(sig), svc.Process)
		return svc.Signal(ctx, sig)
	case "sleep":
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(st.For.Duration):
			return nil
		}
	case "wait":
		return rn.wait(ctx, st)
	case "measure":
		return rn.measure(ctx, st)
	case "traffic":
		return rn.traffic(ctx, st)
	case "http":
		return rn.page(ctx, st)
	}
	return fmt.Errorf("unknown step %q", st.Do)
}

func (h *Host) has(svc string) bool {
	switch svc {
	case "web":
		return h.Web != ""
	case "syslog":
		return h.Syslog
	case "smtp":
		return h.SMTP
	case RoleProxy:
		return h.Proxy != ""
	case RoleVRRP:
		return h.VRRP != ""
	}
	return false
}

func (rn *runner) startService(ctx context.Context, h *Host, svc string) error {
	lh := rn.hosts[h.Name]
	if !h.has(svc) {
		return fmt.Errorf("host %s has no %s", h.Name, svc)
	}
	var (
		s    *peers.Service
		prog string
		err  error
	)
	switch svc {
	case "web":
		prog = "nginx"
		s, err = peers.Nginx(ctx, rn.l, lh, h.Web)
	case "syslog":
		prog = "rsyslog"
		var sl *peers.Syslog
		if sl, err = peers.Rsyslog(ctx, rn.l, lh); sl != nil {
			rn.syslog, s = sl, sl.Service
		}
	case "smtp":
		prog = "aiosmtpd"
		var sm *peers.SMTP
		if sm, err = peers.Aiosmtpd(ctx, rn.l, lh); sm != nil {
			rn.smtp, s = sm, sm.Service
		}
	case RoleProxy, RoleVRRP:
		prog = h.Proxy
		if svc == RoleVRRP {
			prog = h.VRRP
		}
		p := rn.s.Programs[prog]
		s, err = peers.StartDaemon(ctx, rn.l, lh, rn.s.daemon(p), filepath.Base(p.Config), rn.configs[h.Name][prog])
	}
	if s != nil {
		rn.svcs[h.Name][svc] = s
	}
	if err != nil {
		return fmt.Errorf("starting %s (%s) on %s: %w", svc, prog, h.Name, err)
	}
	var pid int
	what := ""
	if s.Pidfile == "" && s.Proc != nil {
		pid = s.Proc.Pid()
	} else {
		// Some daemons (rsyslogd) write their pidfile after they listen.
		for i := 0; i < 20; i++ {
			if pid, err = s.Pid(); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			what = fmt.Sprintf(" (no pid: %v)", err)
		}
	}
	rn.r.Started = append(rn.r.Started, Started{At: time.Since(rn.start), Host: h.Name, Service: svc, Program: prog, Pid: pid})
	rn.eventf("%s: %s (%s) started, pid %d%s", h.Name, svc, prog, pid, what)
	return nil
}

func (s *Scenario) daemon(p *Program) peers.Daemon {
	var d peers.Daemon
	switch p.Kind {
	case "haproxy":
		d = peers.Haproxy(s.Path(p.Path))
	case "keepalived":
		d = peers.Keepalived(s.Path(p.Path))
	}
	d.Name = p.name
	if p.Process != "" {
		d.Process = p.Process
	}
	if len(p.Args) > 0 {
		d.Args = p.Args
	}
	if p.Pidfile != "" {
		d.Pidfile = p.Pidfile
	}
	d.ListenTCP = p.Listen
	return d
}

// vipHosts returns the hosts (among those running VRRP) holding the VIP.
func (rn *runner) vipHosts(ctx context.Context) ([]string, error) {
	var on []string
	for _, h := range rn.s.Hosts {
		if h.VRRP == "" {
			continue
		}
		ps, err := rn.hosts[h.Name].Addresses(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if p.Addr() == rn.s.vip {
				on = append(on, h.Name)
			}
		}
	}
	return on, nil
}

func (rn *runner) get(ctx context.Context, url string, timeout time.Duration) (string, error) {
	code, body, err := rn.hosts[rn.s.Client].Get(ctx, url, timeout)
	if err != nil {
		return "", err
	}
	if code != 200 {
		return string(body), fmt.Errorf("status %d", code)
	}
	return string(body), nil
}

func (rn *runner) wait(ctx context.Context, st *Step) error {
	deadline := time.Now().Add(st.Within.Duration)
	var last error
	for {
		last = rn.check(ctx, st)
		if last == nil {
			rn.eventf("%s", rn.waited(st))
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("wait %s: not within %s: %w", st.Until, st.Within.Duration, last)
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waited says in plain words what a wait step saw.
func (rn *runner) waited(st *Step) string {
	switch st.Until {
	case "vip":
		return fmt.Sprintf("the VIP %s is on %s (and on no other load balancer)", rn.s.VIP, st.Host)
	case "http":
		return fmt.Sprintf("the client gets 200 from %s", redact(st.URL))
	case "syslog":
		n, _ := rn.syslogCount(st.From, st.Contains)
		return fmt.Sprintf("the syslog host has %d messages%s containing %q", n, suffix2(" from ", st.From), st.Contains)
	case "mail":
		return fmt.Sprintf("the SMTP host has at least %d mail(s) titled %q", st.Count, st.Contains)
	case "running":
		return fmt.Sprintf("%s is running on %s", rn.svcs[st.Host][st.Service].Process, st.Host)
	case "stopped":
		return fmt.Sprintf("no process called %s is left on %s", rn.svcs[st.Host][st.Service].Process, st.Host)
	}
	return "wait " + st.Until + ": ok"
}

func suffix2(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func suffix(host string) string {
	if host == "" {
		return ""
	}
	return " on " + host
}

var errNotYet = errors.New("not yet")

func (rn *runner) check(ctx context.Context, st *Step) error {
	switch st.Until {
	case "vip":
		on, err := rn.vipHosts(ctx)
		if err != nil {
			return err
		}
		if len(on) != 1 || on[0] != st.Host {
			return fmt.Errorf("%w: VIP %s on %v", errNotYet, rn.s.VIP, on)
		}
	case "http":
		rctx, cancel := context.WithTimeout(ctx, st.RequestTimeout.Duration)
		defer cancel()
		_, err := rn.get(rctx, st.URL, st.RequestTimeout.Duration)
		return err
	case "syslog":
		n, err := rn.syslogCount(st.From, st.Contains)
		if err != nil {
			return err
		}
		if n < st.Count {
			return fmt.Errorf("%w: %d syslog messages%s", errNotYet, n, suffix(st.From))
		}
	case "mail":
		if rn.smtp == nil {
			return errors.New("no smtp service started")
		}
		mails, err := rn.smtp.Mails()
		if err != nil {
			return err
		}
		n := 0
		for _, m := range mails {
			if strings.Contains(m.Subject, st.Contains) {
				n++
			}
		}
		if n < st.Count {
			return fmt.Errorf("%w: %d mails with %q in the subject", errNotYet, n, st.Contains)
		}
	case "running", "stopped":
		svc := rn.svcs[st.Host][st.Service]
		if svc == nil {
			return fmt.Errorf("%s was not started on %s", st.Service, st.Host)
		}
		if running := svc.Running(ctx); running != (st.Until == "running") {
			return fmt.Errorf("%w: %s running = %v", errNotYet, svc.Process, running)
		}
	}
	return nil
}

func (rn *runner) syslogCount(from, contains string) (int, error) {
	if rn.syslog == nil {
		return 0, errors.New("no syslog service started")
	}
	msgs, err := rn.syslog.Messages()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range msgs {
		if (from == "" || m.From.String() == from) && strings.Contains(m.Raw, contains) {
			n++
		}
	}
	return n, nil
}

// probe is one request of a measure step.
type probe struct {
	sent, done time.Time
	body       string
	err        error
}

// measure sends a request from the client every st.Every, without waiting
// for the earlier ones (each bounded by st.RequestTimeout), until one is
// answered while the VIP is on st.VIPOn: the outage lasts from the last kill
// (or start) to that answer. Overlapping requests keep the figure's
// resolution at st.Every even when a request hangs until its timeout (a SYN
// sent to the old master is dropped and retried only after 1 s). Requests
// sent before that answer and failed, or still failing after it (waited for
// up to their timeout), are counted as failed.
func (rn *runner) measure(ctx context.Context, st *Step) error {
	if rn.mark.IsZero() {
		return errors.New("measure: no kill or start before it")
	}
	o := Outage{Name: st.Name, After: rn.markTxt}
	deadline := rn.mark.Add(st.Within.Duration)
	results := make(chan probe, 64)
	pending := 0
	var sent []probe // finished probes
	send := func() {
		pending++
		o.Requests++
		go func() {
			p := probe{sent: time.Now()}
			rctx, cancel := context.WithTimeout(ctx, st.RequestTimeout.Duration)
			defer cancel()
			p.body, p.err = rn.get(rctx, st.URL, st.RequestTimeout.Duration)
			p.done = time.Now()
			results <- p
		}()
	}
	// drain waits for the requests still out (each ends within its
	// timeout) and counts those sent before end that failed.
	drain := func(end time.Time) {
		limit := time.After(st.RequestTimeout.Duration + time.Second)
		for pending > 0 {
			select {
			case p := <-results:
				pending--
				sent = append(sent, p)
			case <-limit:
				pending = 0
			}
		}
		o.Requests, o.Failed = 0, 0
		for _, p := range sent {
			if !end.IsZero() && p.sent.After(end) {
				continue
			}
			o.Requests++
			if p.err != nil {
				o.Failed++
			}
		}
	}
	send()
	tick := time.NewTicker(st.Every.Duration)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			drain(time.Time{})
			rn.r.Outages = append(rn.r.Outages, o)
			return fmt.Errorf("measure %s: %w", st.Name, ctx.Err())
		case <-tick.C:
			if time.Now().After(deadline) {
				drain(time.Time{})
				rn.r.Outages = append(rn.r.Outages, o)
				return fmt.Errorf("measure %s: not served via %s within %s of %q (%d of %d requests failed)",
					st.Name, st.VIPOn, st.Within.Duration, rn.markTxt, o.Failed, o.Requests)
			}
			send()
		case p := <-results:
			pending--
			sent = append(sent, p)
			if p.err != nil {
				continue
			}
			on, err := rn.vipHosts(ctx)
			if err != nil {
				return err
			}
			if st.VIPOn != "" && !slices.Contains(on, st.VIPOn) {
				continue
			}
			o.Duration = p.done.Sub(rn.mark)
			o.Body = strings.TrimSpace(p.body)
			o.VIPHost = strings.Join(on, ",")
			drain(p.done)
			rn.r.Outages = append(rn.r.Outages, o)
			rn.eventf("%s: the client is served again (by %s, the VIP %s on %s) %s after %q; %d of its %d requests failed",
				o.Name, o.Body, rn.s.VIP, o.VIPHost, o.Duration.Round(time.Millisecond), o.After, o.Failed, o.Requests)
			return nil
		}
	}
}

func (rn *runner) traffic(ctx context.Context, st *Step) error {
	t := Traffic{Name: st.Name, Bodies: map[string]int{}}
	for i := 0; i < st.Count; i++ {
		rctx, cancel := context.WithTimeout(ctx, st.RequestTimeout.Duration)
		body, err := rn.get(rctx, st.URL, st.RequestTimeout.Duration)
		cancel()
		if err != nil {
			t.Failed++
			continue
		}
		t.OK++
		t.Bodies[strings.TrimSpace(body)]++
	}
	rn.r.Traffic = append(rn.r.Traffic, t)
	rn.eventf("%s: %d requests to %s: %d answered, %d failed; answered by %s", t.Name, st.Count, redact(st.URL), t.OK, t.Failed, bodies(t.Bodies))
	return nil
}

// page makes one request and records what came back, whatever it was.
func (rn *runner) page(ctx context.Context, st *Step) error {
	p := Page{Name: st.Name, URL: redact(st.URL)}
	code, body, err := rn.hosts[rn.s.Client].Get(ctx, st.URL, st.RequestTimeout.Duration)
	p.Status, p.Body = code, string(body)
	if err != nil {
		p.Err = err.Error()
	}
	rn.r.Pages = append(rn.r.Pages, p)
	if err != nil {
		rn.eventf("%s: GET %s: no answer: %v", p.Name, p.URL, err)
		return nil
	}
	rn.eventf("%s: GET %s: %d %s, %d bytes", p.Name, p.URL, code, http.StatusText(code), len(body))
	return nil
}

// redact hides the password of a URL's user info.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}

// bodies says which backend answered how often: "web01 ×2, web02 ×2".
func bodies(m map[string]int) string {
	if len(m) == 0 {
		return "nobody"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		keys[i] = fmt.Sprintf("%s ×%d", k, m[k])
	}
	return strings.Join(keys, ", ")
}

// collect records where the VIP is and what the syslog and SMTP servers
// received, best effort.
func (rn *runner) collect(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if rn.s.vip.IsValid() && len(rn.hosts) == len(rn.s.Hosts) {
		rn.r.VIPHosts, _ = rn.vipHosts(ctx)
	}
	if rn.syslog != nil {
		rn.r.Syslog, _ = rn.syslog.Messages()
		rn.r.SyslogFile = rn.syslog.File
	}
	if rn.smtp != nil {
		rn.r.Mails, _ = rn.smtp.Mails()
		rn.r.Maildir = rn.smtp.Maildir
	}
}

var signals = map[string]syscall.Signal{
	"KILL": syscall.SIGKILL, "TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "HUP": syscall.SIGHUP,
	"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "QUIT": syscall.SIGQUIT, "STOP": syscall.SIGSTOP,
	"CONT": syscall.SIGCONT,
}

// parseSignal accepts "KILL", "SIGKILL" and ""(KILL).
func parseSignal(s string) (syscall.Signal, error) {
	if s == "" {
		return syscall.SIGKILL, nil
	}
	if sig, ok := signals[strings.TrimPrefix(strings.ToUpper(s), "SIG")]; ok {
		return sig, nil
	}
	return 0, fmt.Errorf("signal %q: want one of KILL, TERM, INT, HUP, USR1, USR2, QUIT, STOP, CONT", s)
}

func signalName(sig syscall.Signal) string {
	for name, s := range signals {
		if s == sig {
			return name
		}
	}
	return fmt.Sprint(int(sig))
}
