// Package scenario loads lab scenarios from TOML files and runs them: which
// hosts exist with which addresses, which programs (and config files) run
// where, a list of steps (start, kill, wait for a condition, send traffic,
// measure an outage) and expectations on the result.
//
// The programs are data: a host says `proxy = "haproxy"` and
// `vrrp = "keepalived"`, naming entries of [programs] that give the binary,
// its flag convention and its config template. Swapping Debian's daemons for
// ours (bin/gproxy, bin/gkeepalived, which take the same flags and files) is
// a change of those two words, or a call to (*Scenario).Use.
package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Roles a host can give a program: the load-balancing proxy and the VRRP daemon.
const (
	RoleProxy = "proxy"
	RoleVRRP  = "vrrp"
)

// Scenario is one parsed scenario file.
type Scenario struct {
	Name        string              `toml:"name"`
	Description string              `toml:"description"`
	Timeout     Duration            `toml:"timeout"` // the whole run; default 85s
	VIP         string              `toml:"vip"`     // the address VRRP moves
	Client      string              `toml:"client"`  // host that sends traffic
	URL         string              `toml:"url"`     // what the client fetches; default http://VIP/
	Programs    map[string]*Program `toml:"programs"`
	Hosts       []*Host             `toml:"hosts"`
	Steps       []*Step             `toml:"steps"`
	Expect      []*Expect           `toml:"expect"`

	file string // for error messages
	dir  string // relative paths are relative to it
	vip  netip.Addr
}

// Program is a daemon binary with its flag convention and config template.
type Program struct {
	// Kind is the flag convention: "haproxy" (-f CONFIG -p PIDFILE, daemon
	// mode from the config) or "keepalived" (--dont-fork --log-console -f
	// CONFIG, pidfiles under /run).
	Kind string `toml:"kind"`
	Path string `toml:"path"` // the binary; relative to the scenario file
	// Config is the config template, relative to the scenario file; each
	// host's `replace` pairs are applied to it.
	Config string `toml:"config"`
	// Process is the name the daemon runs under, what `killall` sees
	// (default: the kind, so that a track script's `killall -0 haproxy` also
	// finds gproxy).
	Process string   `toml:"process"`
	Args    []string `toml:"args"`    // replaces the kind's default arguments; {config} is the config's path
	Pidfile string   `toml:"pidfile"` // inside the host; default the kind's
	Listen  []int    `toml:"listen"`  // TCP ports that must listen before the daemon counts as started

	name string
}

// Host is one lab host and what runs on it.
type Host struct {
	Name  string   `toml:"name"`
	Addrs []string `toml:"addrs"` // CIDR prefixes on eth0, e.g. "192.168.1.80/24"
	Proxy string   `toml:"proxy"` // a [programs] entry, or empty
	VRRP  string   `toml:"vrrp"`  // a [programs] entry, or empty
	// Replace are [old, new] pairs applied to this host's config files
	// (the per-host substitutions the seed's comments ask for); each must
	// match in at least one of them.
	Replace [][]string `toml:"replace"`
	Web     string     `toml:"web"`    // nginx answering with this body (e.g. "web01")
	Syslog  bool       `toml:"syslog"` // rsyslog on UDP 514
	SMTP    bool       `toml:"smtp"`   // aiosmtpd on port 25

	prefixes []netip.Prefix
}

// Step is one action. Do is one of:
//
//	start    start Service on Host, or with neither every service of every
//	         host (web, syslog, smtp first, then proxies, then vrrp)
//	kill     send Signal (default KILL) to Service's processes on Host
//	wait     poll until Until holds, within Within (default 10s):
//	         vip (the VIP is on Host and no other host), http (the client
//	         gets 200 from URL), syslog / mail (at least Count received,
//	         syslog From an address, containing Contains in the raw
//	         message or the subject), running / stopped (Service on Host)
//	measure  after the last kill or start: poll URL from the client every
//	         Every (default 100ms, each request bounded by RequestTimeout,
//	         default 500ms) until a request succeeds while the VIP is on
//	         VIPOn; records an Outage called Name
//	traffic  Count requests to URL from the client; records a Traffic
//	http     one request to URL from the client (user:password@ in the URL
//	         for basic auth); records a Page called Name, never fails the run
//	         (an Expect "page" checks it)
//	sleep    wait For
//
// Say, on any step, is a sentence narrated before the step runs.
type Step struct {
	Do             string   `toml:"do"`
	Name           string   `toml:"name"`
	Host           string   `toml:"host"`
	Service        string   `toml:"service"` // proxy, vrrp, web, syslog, smtp
	Signal         string   `toml:"signal"`
	Until          string   `toml:"until"`
	Within         Duration `toml:"within"`
	Count          int      `toml:"count"`
	From           string   `toml:"from"`
	VIPOn          string   `toml:"vip_on"`
	Every          Duration `toml:"every"`
	RequestTimeout Duration `toml:"request_timeout"`
	For            Duration `toml:"for"`
	URL            string   `toml:"url"`      // measure, traffic, wait http: instead of the scenario's
	Contains       string   `toml:"contains"` // wait syslog: in the raw message; wait mail: in the subject
	Say            string   `toml:"say"`      // narrated before the step runs

	line string // "step N" for errors
}

// Expect is one expectation checked on the Result by Check. What is one of:
//
//	vip      the VIP is on Host at the end
//	outage   the outage Name lasted at most Max
//	failed   at most MaxCount requests failed during outage Name
//	syslog   at least Min messages, From an address if set, containing Contains
//	mails    at least Min mails, whose subject contains Contains
//	traffic  traffic Name had at least Min successful requests
//	page     the http step Name got status Status (default 200) and a body
//	         containing Contains
//	compare  (checked by Compare, across runs) the outage Name lasted at
//	         most Max longer than in the reference run
type Expect struct {
	What     string   `toml:"what"`
	Host     string   `toml:"host"`
	Name     string   `toml:"name"`
	Max      Duration `toml:"max"`
	MaxCount int      `toml:"max_count"`
	Min      int      `toml:"min"`
	From     string   `toml:"from"`
	Contains string   `toml:"contains"`
	Status   int      `toml:"status"`
}

// Duration is a time.Duration written as in Go ("3s", "100ms") in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses "3s", "100ms".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("negative duration %s", b)
	}
	d.Duration = v
	return nil
}

// Sentinel errors.
var (
	// ErrInvalid wraps every validation error of a scenario file.
	ErrInvalid = errors.New("invalid scenario")
)

// Load reads and validates a scenario file.
func Load(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return Parse(b, abs)
}

// Parse parses and validates a scenario; file names it in errors and its
// directory anchors relative paths.
func Parse(data []byte, file string) (*Scenario, error) {
	s := &Scenario{file: file, dir: filepath.Dir(file)}
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(s)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("%s:%d: %w: %s", file, perr.Position.Line, ErrInvalid, perr.Message)
		}
		return nil, fmt.Errorf("%s: %w: %v", file, ErrInvalid, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("%s: %w: unknown keys %s", file, ErrInvalid, strings.Join(keys, ", "))
	}
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", file, ErrInvalid, err)
	}
	return s, nil
}

// File is the path the scenario was loaded from.
func (s *Scenario) File() string { return s.file }

// Path resolves a path of the scenario file (relative to its directory).
func (s *Scenario) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(s.dir, p)
}

// Host returns the host called name, or nil.
func (s *Scenario) Host(name string) *Host {
	for _, h := range s.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// Use makes every host that has a program in role ("proxy" or "vrrp") run
// program instead, e.g. Use("proxy", "gproxy").
func (s *Scenario) Use(role, program string) error {
	if s.Programs[program] == nil {
		return fmt.Errorf("%s: %w: no program %q", s.file, ErrInvalid, program)
	}
	for _, h := range s.Hosts {
		switch role {
		case RoleProxy:
			if h.Proxy != "" {
				h.Proxy = program
			}
		case RoleVRRP:
			if h.VRRP != "" {
				h.VRRP = program
			}
		default:
			return fmt.Errorf("%s: %w: role %q: want proxy or vrrp", s.file, ErrInvalid, role)
		}
	}
	return nil
}

var (
	steps    = []string{"start", "kill", "wait", "measure", "traffic", "http", "sleep"}
	untils   = []string{"vip", "http", "syslog", "mail", "running", "stopped"}
	services = []string{"proxy", "vrrp", "web", "syslog", "smtp"}
	expects  = []string{"vip", "outage", "failed", "syslog", "mails", "traffic", "page", "compare"}
	kinds    = []string{"haproxy", "keepalived"}
)

func (s *Scenario) validate() error {
	if s.Name == "" {
		return errors.New("name is empty")
	}
	if s.Timeout.Duration == 0 {
		s.Timeout.Duration = 85 * time.Second
	}
	for name, p := range s.Programs {
		p.name = name
		if !slices.Contains(kinds, p.Kind) {
			return fmt.Errorf("programs.%s: kind %q: want one of %v", name, p.Kind, kinds)
		}
		if p.Path == "" || p.Config == "" {
			return fmt.Errorf("programs.%s: path and config are required", name)
		}
	}
	if s.VIP != "" {
		v, err := netip.ParseAddr(s.VIP)
		if err != nil {
			return fmt.Errorf("vip: %w", err)
		}
		s.vip = v
		if s.URL == "" {
			s.URL = "http://" + s.VIP + "/"
		}
	}
	seen := map[string]bool{}
	for i, h := range s.Hosts {
		if h.Name == "" || seen[h.Name] {
			return fmt.Errorf("hosts[%d]: name %q empty or repeated", i, h.Name)
		}
		seen[h.Name] = true
		for _, a := range h.Addrs {
			p, err := netip.ParsePrefix(a)
			if err != nil {
				return fmt.Errorf("host %s: address %q: %w", h.Name, a, err)
			}
			h.prefixes = append(h.prefixes, p)
		}
		for _, prog := range []string{h.Proxy, h.VRRP} {
			if prog != "" && s.Programs[prog] == nil {
				return fmt.Errorf("host %s: no program %q in [programs]", h.Name, prog)
			}
		}
		for j, r := range h.Replace {
			if len(r) != 2 || r[0] == "" {
				return fmt.Errorf("host %s: replace[%d]: want [\"old\", \"new\"]", h.Name, j)
			}
		}
		if (h.Web != "" || h.Syslog || h.SMTP) && len(h.prefixes) == 0 {
			return fmt.Errorf("host %s: a service needs an address", h.Name)
		}
	}
	if s.Client != "" && !seen[s.Client] {
		return fmt.Errorf("client: no host %q", s.Client)
	}
	hostRef := func(where, name string, required bool) error {
		if name == "" && !required {
			return nil
		}
		if !seen[name] {
			return fmt.Errorf("%s: no host %q", where, name)
		}
		return nil
	}
	for i, st := range s.Steps {
		st.line = fmt.Sprintf("steps[%d] (%s)", i, st.Do)
		if !slices.Contains(steps, st.Do) {
			return fmt.Errorf("steps[%d]: do %q: want one of %v", i, st.Do, steps)
		}
		if st.Service != "" && !slices.Contains(services, st.Service) {
			return fmt.Errorf("%s: service %q: want one of %v", st.line, st.Service, services)
		}
		if err := hostRef(st.line, st.Host, st.Do == "kill" || (st.Do == "start" && st.Service != "")); err != nil {
			return err
		}
		switch st.Do {
		case "kill":
			if st.Service == "" {
				return fmt.Errorf("%s: service is required", st.line)
			}
			if _, err := parseSignal(st.Signal); err != nil {
				return fmt.Errorf("%s: %w", st.line, err)
			}
		case "wait":
			if !slices.Contains(untils, st.Until) {
				return fmt.Errorf("%s: until %q: want one of %v", st.line, st.Until, untils)
			}
			if (st.Until == "vip" || st.Until == "running" || st.Until == "stopped") && st.Host == "" {
				return fmt.Errorf("%s: until %s needs a host", st.line, st.Until)
			}
			if (st.Until == "running" || st.Until == "stopped") && st.Service == "" {
				return fmt.Errorf("%s: until %s needs a service", st.line, st.Until)
			}
		case "measure", "traffic", "http":
			if s.Client == "" || (s.URL == "" && st.URL == "") {
				return fmt.Errorf("%s: needs client and url (or vip)", st.line)
			}
			if st.Name == "" {
				return fmt.Errorf("%s: name is required", st.line)
			}
			if err := hostRef(st.line, st.VIPOn, false); err != nil {
				return err
			}
		}
		if (st.Until == "vip" || st.VIPOn != "") && !s.vip.IsValid() {
			return fmt.Errorf("%s: needs vip", st.line)
		}
		if st.URL == "" {
			st.URL = s.URL
		}
		if st.Within.Duration == 0 {
			st.Within.Duration = 10 * time.Second
		}
		if st.Every.Duration == 0 {
			st.Every.Duration = 100 * time.Millisecond
		}
		if st.RequestTimeout.Duration == 0 {
			st.RequestTimeout.Duration = 500 * time.Millisecond
		}
		if st.Count == 0 {
			st.Count = 1
		}
	}
	for i, e := range s.Expect {
		if !slices.Contains(expects, e.What) {
			return fmt.Errorf("expect[%d]: what %q: want one of %v", i, e.What, expects)
		}
		if (e.What == "page" || e.What == "compare" || e.What == "outage" || e.What == "failed" || e.What == "traffic") && e.Name == "" {
			return fmt.Errorf("expect[%d] (%s): name is required", i, e.What)
		}
		if e.What == "page" && e.Status == 0 {
			e.Status = 200
		}
		if e.What == "vip" {
			if err := hostRef(fmt.Sprintf("expect[%d]", i), e.Host, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// UseOn makes host run program in role ("proxy" or "vrrp"), e.g.
// UseOn("lb2", "vrrp", "gkeepalived") for a mixed pair.
func (s *Scenario) UseOn(host, role, program string) error {
	h := s.Host(host)
	if h == nil {
		return fmt.Errorf("%s: %w: no host %q", s.file, ErrInvalid, host)
	}
	if s.Programs[program] == nil {
		return fmt.Errorf("%s: %w: no program %q", s.file, ErrInvalid, program)
	}
	switch role {
	case RoleProxy:
		h.Proxy = program
	case RoleVRRP:
		h.VRRP = program
	default:
		return fmt.Errorf("%s: %w: role %q: want proxy or vrrp", s.file, ErrInvalid, role)
	}
	return nil
}
