package keepalived

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/notify"
	"hapair/pkg/track"
	"hapair/pkg/vrrpfsm"
)

// syncGroup is one running vrrp_sync_group: the state machine's Group and
// the group's own notifications. It implements vrrpfsm.GroupEffects.
type syncGroup struct {
	name      string
	env       *Env
	scripts   notify.Scripts
	smtpAlert bool
	fsm       *vrrpfsm.Group

	mu       sync.Mutex
	mailed   bool
	lastMail notify.State
}

// newSyncGroup groups the members that run (in the configured order) and
// prepares the group's notify scripts. A group left with no member is not
// made; keepalived already warned about it when reading the configuration.
func newSyncGroup(env *Env, cfg *keepalivedcfg.Config, g *keepalivedcfg.SyncGroup, members []*node, opts track.Options) (*syncGroup, error) {
	sg := &syncGroup{name: g.Name, env: env, scripts: groupScripts(g, opts, env.Log), smtpAlert: groupSMTPAlert(cfg, g)}
	ins := make([]*vrrpfsm.Instance, 0, len(members))
	for _, n := range members {
		ins = append(ins, n.fsm)
		n.syncPeers = nil
		for _, m := range members {
			if m != n {
				n.syncPeers = append(n.syncPeers, m)
			}
		}
	}
	fsm, err := vrrpfsm.NewGroup(g.Name, ins, sg, env.Log)
	if err != nil {
		return nil, err
	}
	sg.fsm = fsm
	return sg, nil
}

// NotifyGroup implements vrrpfsm.GroupEffects: the group's notify_* script,
// its generic notify script ("GROUP G1 MASTER 0") and its smtp_alert, sent
// only when the state differs from the last mail's (vrrp_notify.c
// vrrp_sync_smtp_notifier).
func (sg *syncGroup) NotifyGroup(to vrrpfsm.State) {
	st, ok := notifyState(to)
	if !ok {
		return
	}
	if sg.env.Notifier != nil {
		sg.env.Notifier.Notify(sg.scripts, notify.Event{Group: true, Name: sg.name, State: st})
	}
	if !sg.smtpAlert {
		return
	}
	sg.mu.Lock()
	send := !sg.mailed || sg.lastMail != st
	sg.mailed, sg.lastMail = true, st
	sg.mu.Unlock()
	if m := sg.env.mailer(); m != nil && send {
		m.AlertGroup(context.Background(), sg.name, st)
	}
}

// groupSMTPAlert resolves the group's smtp_alert as keepalived does
// (vrrp.c sync_group_tracking_init): the group's own setting, else
// smtp_alert_vrrp, else smtp_alert, else off.
func groupSMTPAlert(cfg *keepalivedcfg.Config, g *keepalivedcfg.SyncGroup) bool {
	switch {
	case g.SMTPAlert != nil:
		return *g.SMTPAlert
	case cfg.Global.SMTPAlertVRRP != nil:
		return *cfg.Global.SMTPAlertVRRP
	case cfg.Global.SMTPAlert != nil:
		return *cfg.Global.SMTPAlert
	}
	return false
}

// groupScripts prepares a sync group's notify_* commands.
func groupScripts(g *keepalivedcfg.SyncGroup, opts track.Options, log zerolog.Logger) notify.Scripts {
	prep := func(nf *keepalivedcfg.Notify) *track.Command {
		return prepareNotify("VRRP_Group("+g.Name+")", nf, opts, log)
	}
	return notify.Scripts{
		Master: prep(g.NotifyMaster), Backup: prep(g.NotifyBackup), Fault: prep(g.NotifyFault),
		Stop: prep(g.NotifyStop), Notify: prep(g.Notify),
	}
}

// syncGroupKeys returns, for each member of a sync group, what must be
// added to its instance key: the group's settings and every member's key.
// A change to one member or to the group then restarts the whole group, so
// that its members always run under one Group.
func syncGroupKeys(cfg *keepalivedcfg.Config, keys map[string]string) map[string]string {
	out := map[string]string{}
	for _, g := range cfg.SyncGroups {
		c := *g
		c.Pos = keepalivedcfg.Pos{}
		c.NotifyMaster, c.NotifyBackup, c.NotifyFault, c.NotifyStop, c.Notify = stripNotify(c.NotifyMaster), stripNotify(c.NotifyBackup), stripNotify(c.NotifyFault), stripNotify(c.NotifyStop), stripNotify(c.Notify)
		b, _ := json.Marshal(&c)
		var sb strings.Builder
		sb.Write(b)
		for _, name := range g.Instances {
			sb.WriteString("\x00")
			sb.WriteString(keys[name])
		}
		for _, name := range g.Instances {
			out[name] = sb.String()
		}
	}
	return out
}

func stripNotify(n *keepalivedcfg.Notify) *keepalivedcfg.Notify {
	if n == nil {
		return nil
	}
	m := *n
	m.Pos = keepalivedcfg.Pos{}
	return &m
}

// dumpSyncGroups writes the "VRRP Sync groups" section of keepalived's data
// dump (/tmp/keepalived.data on SIGUSR1; vrrp_data.c dump_sync_group),
// header included, or nothing without groups. keepalived prints it after
// the VRRP Topology (and Sockpool) sections, and in each member's topology
// entry "   Sync group = G1" after "   VRRP Version = 2" (syncGroupOf).
// The caller holds d.mu.
func (d *Daemon) dumpSyncGroups(b *strings.Builder) {
	if d.cfg == nil {
		return
	}
	header := false
	for _, g := range d.cfg.SyncGroups {
		sg := d.groups[g.Name]
		if sg == nil {
			continue
		}
		if !header {
			b.WriteString("------< VRRP Sync groups >------\n")
			header = true
		}
		fault, init := sg.fsm.Counts()
		fmt.Fprintf(b, " VRRP Sync Group = %s, %s\n", sg.name, sg.fsm.State())
		fmt.Fprintf(b, "   Num member fault %d, num member init %d\n", fault, init)
		b.WriteString("   VRRP member instances :\n")
		for _, name := range sg.fsm.Members() {
			fmt.Fprintf(b, "     %s\n", name)
		}
		fmt.Fprintf(b, "   Using smtp notification = %s\n", map[bool]string{true: "yes", false: "no"}[sg.smtpAlert])
		for _, s := range []struct {
			kind string
			cmd  *track.Command
		}{{"Backup", sg.scripts.Backup}, {"Master", sg.scripts.Master}, {"Fault", sg.scripts.Fault}, {"Stop", sg.scripts.Stop}, {"Generic", sg.scripts.Notify}} {
			if s.cmd == nil {
				continue
			}
			uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
			if c := s.cmd.Credential; c != nil {
				uid, gid = c.Uid, c.Gid
			}
			fmt.Fprintf(b, "   %s state transition script = %s, uid:gid %d:%d\n", s.kind, s.cmd.ShellLine(), uid, gid)
		}
	}
}

// syncGroupOf returns the name of the running sync group an instance
// belongs to, or "" (for the dump's "   Sync group = G1" line).
func (d *Daemon) syncGroupOf(instance string) string {
	for name, sg := range d.groups {
		for _, m := range sg.fsm.Members() {
			if m == instance {
				return name
			}
		}
	}
	return ""
}
