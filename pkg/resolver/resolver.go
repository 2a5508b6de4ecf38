package resolver

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/health"
	"hapair/pkg/proxy"
)

// Options are a Resolver's collaborators.
type Options struct {
	// Logger receives the daemon's copy of each message (haproxy prints
	// them on stderr as [WARNING]).
	Logger zerolog.Logger
	// Log sends a message to the log targets of a proxy; may be nil.
	Log func(px *haproxycfg.Proxy, level haproxycfg.Level, msg string)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ResolvConf is the file `parse-resolv-conf` reads; "" means
	// /etc/resolv.conf.
	ResolvConf string
}

// Syslog severities of the messages.
const (
	levelEmerg  haproxycfg.Level = 0
	levelAlert  haproxycfg.Level = 1
	levelNotice haproxycfg.Level = 5
)

// Resolver runs the resolutions of every server with `resolvers`.
type Resolver struct {
	opts   Options
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// mu serialises the answers' effects on servers, so that the log
	// lines of one answer stay together.
	mu     sync.Mutex
	byServ map[*proxy.Server]*resolution
	// byKey holds the resolutions by section, name and type; SRV
	// answers add A/AAAA ones for their targets (guarded by mu).
	byKey map[resKey]*resolution
	ctx   context.Context
}

// resKey names a resolution: haproxy shares one per section, name and
// query type.
type resKey struct {
	sec  *section
	name string
	typ  uint16
}

// section is one resolvers section in use.
type section struct {
	cfg         *haproxycfg.Resolvers
	nameservers []haproxycfg.Nameserver
}

// Start begins resolving the names of the engine's servers that have
// `resolvers`. It fails when a section has no name server to ask.
func Start(eng *proxy.Engine, cfg *haproxycfg.Config, opts Options) (*Resolver, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ResolvConf == "" {
		opts.ResolvConf = "/etc/resolv.conf"
	}
	r := &Resolver{opts: opts, byServ: map[*proxy.Server]*resolution{}, byKey: map[resKey]*resolution{}}
	sections := map[string]*section{}
	var all []*resolution
	for _, b := range eng.Backends() {
		for _, s := range b.Servers() {
			d := s.Config().DNS
			if d.Resolvers == "" || d.Hostname == "" {
				continue
			}
			sec := sections[d.Resolvers]
			if sec == nil {
				rc := cfg.Resolver(d.Resolvers)
				if rc == nil {
					return nil, fmt.Errorf("resolver: server %s/%s: no resolvers section %q", b.Name(), s.Name(), d.Resolvers)
				}
				sec = &section{cfg: rc, nameservers: rc.Nameservers}
				if rc.ParseResolvConf {
					ns, err := readResolvConf(opts.ResolvConf)
					if err != nil {
						return nil, fmt.Errorf("resolver: resolvers %s: %w", rc.Name, err)
					}
					sec.nameservers = append(sec.nameservers, ns...)
				}
				if len(sec.nameservers) == 0 {
					return nil, fmt.Errorf("resolver: resolvers %s: no name server to ask", rc.Name)
				}
				sections[d.Resolvers] = sec
			}
			typ := dns.TypeAAAA
			if d.PreferIPv4 {
				typ = dns.TypeA
			}
			isSRV := strings.HasPrefix(d.Hostname, "_")
			if isSRV {
				// One SRV query per backend and name (haproxy's
				// find_srvrq_by_name looks in the server's proxy).
				typ = dns.TypeSRV
			}
			k := resKey{sec, dns.Fqdn(strings.ToLower(d.Hostname)), typ}
			if isSRV {
				k.name = b.Name() + "\x00" + k.name
			}
			res := r.byKey[k]
			if res == nil {
				res = &resolution{r: r, sec: sec, name: dns.Fqdn(strings.ToLower(d.Hostname)), prefer: typ, wake: make(chan struct{}, 1)}
				if isSRV {
					res.srv = &srvState{}
				}
				r.byKey[k] = res
				all = append(all, res)
			}
			q := &requester{srv: s, dns: d, maint: s.Unresolved()}
			if isSRV {
				res.srv.free = append(res.srv.free, q)
			} else {
				res.reqs = append(res.reqs, q)
			}
			r.byServ[s] = res
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.ctx = cancel, ctx
	for _, res := range all {
		r.wg.Add(1)
		go res.loop(ctx)
	}
	return r, nil
}

// Close stops every resolution and waits for them.
func (r *Resolver) Close() {
	if r == nil {
		return
	}
	r.cancel()
	r.wg.Wait()
}

// Trigger asks for a fresh resolution of a server's name when its last
// answer is older than `hold valid` or was not valid, as haproxy does
// before each health check of the server.
func (r *Resolver) Trigger(s *proxy.Server) {
	if r == nil {
		return
	}
	res := r.byServ[s]
	if res == nil || res.srv != nil {
		// haproxy's check asks the server's own A/AAAA resolution;
		// an SRV server's follow-up one runs on its own timer here.
		return
	}
	r.mu.Lock()
	stale := res.status != statusValid || res.lastResolution.IsZero() ||
		r.opts.Now().After(res.lastResolution.Add(res.sec.cfg.HoldValid))
	r.mu.Unlock()
	if stale {
		select {
		case res.wake <- struct{}{}:
		default:
		}
	}
}

// readResolvConf reads the nameserver lines of a resolv.conf; each is
// named by its address, as haproxy names them.
func readResolvConf(path string) ([]haproxycfg.Nameserver, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("failed to open %s: %w", path, err)
	}
	defer f.Close()
	var out []haproxycfg.Nameserver
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(fields[1])
		if err != nil {
			continue // haproxy warns and excludes it
		}
		out = append(out, haproxycfg.Nameserver{Name: fields[1], Addr: netip.AddrPortFrom(a.Unmap(), 53),
			Pos: haproxycfg.Pos{File: path, Line: line}})
	}
	return out, sc.Err()
}

// log sends a message to the proxy's log targets and the daemon log.
func (r *Resolver) log(px *haproxycfg.Proxy, level haproxycfg.Level, msg string) {
	if r.opts.Log != nil {
		r.opts.Log(px, level, msg)
	}
	if level == levelEmerg {
		r.opts.Logger.Error().Msgf("backend '%s' has no server available!", px.Name)
		return
	}
	r.opts.Logger.Warn().Msg(msg)
}

// usable counts the servers of b left taking traffic.
func usable(b *proxy.Backend) (int, int) { return health.Usable(b) }
