package gproxyd

import (
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/health"
	"hapair/pkg/proxy"
	"hapair/pkg/resolver"
	"hapair/pkg/runtimeapi"
	"hapair/pkg/stats"
)

// operatorServices are what operators watch and drive a running proxy with:
// health checks, the stats page and CSV, the stats socket and the
// Prometheus exporter.
type operatorServices struct {
	checks  *health.Monitor
	dns     *resolver.Resolver
	src     *stats.Source
	cmds    *runtimeapi.Commands
	sockets []*runtimeapi.Server
}

// startOperatorServices starts them for a running engine.
func startOperatorServices(log zerolog.Logger, cfg *haproxycfg.Config, eng *proxy.Engine, logs *sessionLogs, pid int) (*operatorServices, error) {
	logTo := func(px *haproxycfg.Proxy, level haproxycfg.Level, msg string) {
		if logs != nil {
			logs.proxyLog(px, level, msg)
		}
	}
	o := &operatorServices{}
	// Names follow DNS at run time (`resolvers`); a check asks for a
	// fresh answer first when the last one is stale.
	dns, err := resolver.Start(eng, cfg, resolver.Options{Logger: log, Log: logTo})
	if err != nil {
		return nil, err
	}
	o.dns = dns
	o.cmds = &runtimeapi.Commands{Log: logTo, Logger: log}
	applyServerState(log, cfg, eng, o.cmds)
	o.checks = health.Start(eng, health.Options{Logger: log, Log: logTo, Global: &cfg.Global, BeforeCheck: dns.Trigger})
	o.src = &stats.Source{Config: cfg, Engine: eng, Checks: o.checks, PID: pid, Start: time.Now(), UserWeight: o.cmds.UserWeight,
		Admin: o.cmds.StatsAdmin}
	o.cmds.Source = o.src
	for _, sock := range cfg.Global.StatsSockets {
		srv, err := runtimeapi.Listen(sock, cfg.Global.StatsTimeout, o.cmds, log)
		if err != nil {
			o.Close()
			return nil, err
		}
		o.sockets = append(o.sockets, srv)
	}
	return o, nil
}

// handler serves a `mode http` proxy with `stats enable` or the
// Prometheus exporter.
func (o *operatorServices) handler(px *haproxycfg.Proxy) http.Handler {
	if o == nil || (!px.Stats.Enabled && !px.Prometheus) {
		return nil
	}
	return stats.Handler(px, o.src)
}

// Close stops them.
func (o *operatorServices) Close() {
	if o == nil {
		return
	}
	for _, s := range o.sockets {
		_ = s.Close()
	}
	o.sockets = nil
	o.checks.Close()
	o.dns.Close()
}
