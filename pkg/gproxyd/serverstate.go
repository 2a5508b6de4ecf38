package gproxyd

import (
	"fmt"
	"net/netip"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/health"
	"hapair/pkg/proxy"
	"hapair/pkg/runtimeapi"
	"hapair/pkg/serverstate"
)

// applyServerState gives the servers of backends with
// `load-server-state-from-file` the state saved before the reload, as
// haproxy 2.6 does at start: the administrative state (maintenance or
// drain set by an operator; a `disabled` server stays so unless the
// file says it was enabled), the weight set at run time when the
// configured one did not change, and the port. A server saved as stopped
// that has no health check starts down. The messages are haproxy's.
func applyServerState(log zerolog.Logger, cfg *haproxycfg.Config, eng *proxy.Engine, cmds *runtimeapi.Commands) {
	states := serverstate.Load(cfg)
	for _, w := range states.Warnings {
		log.Warn().Msg(w)
	}
	for _, b := range eng.Backends() {
		px := b.Proxy()
		for _, s := range b.Servers() {
			l, ok := states.Server(px, s.Name())
			if !ok {
				continue
			}
			c := s.Config()
			name := fmt.Sprintf("Server %s/%s", px.Name, s.Name())
			if s.Backup() {
				name = "Backup " + name
			}
			// Saved stopped: haproxy applies it before the administrative
			// state (so it reports it unless the server is `disabled`);
			// a server without checks leaving maintenance runs again.
			stopped := l.OpState == 0 && !c.Check
			if stopped && s.AdminState() != proxy.AdminMaint {
				s.SetUp(false)
				act, bck := health.Usable(b)
				log.Warn().Msgf("config : %s is DOWN, changed from server-state after a reload. %s %d sessions active, %d requeued, %d remaining in queue.",
					name, health.ServersLeft(act, bck), 0, 0, 0)
			}
			savedC, curC := l.AdminState&serverstate.AdminCMaint != 0, c.Disabled
			savedF := l.AdminState&serverstate.AdminFMaint != 0
			switch {
			case savedC != curC && curC, savedC == curC && savedF && !curC:
				s.SetAdminState(proxy.AdminMaint)
			case savedC != curC && !curC:
			case savedC != curC || (!savedF && curC):
				if s.AdminState() == proxy.AdminMaint {
					s.SetAdminState(proxy.AdminReady)
					log.Warn().Msgf("config : %s is UP/READY (leaving forced maintenance).", name)
				}
			}
			if s.AdminState() == proxy.AdminMaint {
				s.SetUp(true)
			}
			if s.AdminState() != proxy.AdminMaint && l.AdminState&serverstate.AdminFDrain != 0 && (l.IWeight > 0 || c.Weight == 0) {
				s.SetAdminState(proxy.AdminDrain)
				log.Warn().Msgf("config : %s remains in forced drain mode.", name)
			}
			if l.IWeight == c.Weight && l.UWeight != c.Weight {
				if err := cmds.RestoreWeight(s, l.UWeight); err != nil {
					log.Warn().Msgf("server-state partially applied for server '%s/%s', invalid srv_uweight value '%d'", px.Name, s.Name(), l.UWeight)
				}
			}
			if !c.Sock.IsSet() && l.Port != s.Port() && c.Port != 0 {
				a, _ := netip.ParseAddr(s.Host())
				s.SetAddrPort(a, l.Port)
			}
		}
	}
}
