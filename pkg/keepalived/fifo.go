package keepalived

import (
	"encoding/json"
	"errors"
	"os/user"
	"strconv"
	"syscall"

	"hapair/pkg/keepalivedcfg"
	"hapair/pkg/notify"
	"hapair/pkg/track"
)

// runningFIFOs are the open notify FIFOs and their scripts.
type runningFIFOs struct {
	key     string
	fifos   []*notify.FIFO
	scripts []track.Process
	// unlink: keepalived 2.2.7's VRRP process closes (and removes what it
	// made) only when a vrrp_notify_fifo is open; a lone notify_fifo
	// stays behind at exit (vrrp_daemon.c vrrp_terminate_phase2).
	unlink bool
}

// applyFIFOs opens notify_fifo and vrrp_notify_fifo (keepalived's
// notify_fifo_open, before the instances start), or keeps them over a
// reload that did not change them.
func (d *Daemon) applyFIFOs(g keepalivedcfg.Global, topts track.Options) {
	kb, _ := json.Marshal([]*keepalivedcfg.NotifyFIFO{g.NotifyFIFO, g.VRRPNotifyFIFO})
	key := string(kb)
	if d.fifos != nil && d.fifos.key == key {
		return
	}
	d.stopFIFOs()
	r := &runningFIFOs{key: key}
	for _, c := range []struct {
		f    *keepalivedcfg.NotifyFIFO
		kind string
	}{{g.NotifyFIFO, ""}, {g.VRRPNotifyFIFO, "vrrp_"}} {
		if c.f == nil {
			continue
		}
		f, p := d.openFIFO(c.f, c.kind, g, topts)
		if f != nil {
			r.fifos = append(r.fifos, f)
			r.unlink = r.unlink || c.kind == "vrrp_"
		}
		if p != nil {
			r.scripts = append(r.scripts, p)
		}
	}
	d.fifos = r
	if d.env.Notifier != nil {
		d.env.Notifier.SetFIFOs(r.fifos)
	}
}

func (d *Daemon) openFIFO(c *keepalivedcfg.NotifyFIFO, kind string, g keepalivedcfg.Global, topts track.Options) (*notify.FIFO, track.Process) {
	log := d.env.Log
	uid, gid := -1, -1
	name, group := c.User, c.Group
	if name == "" {
		name, group = g.ScriptUser, g.ScriptGroup
	}
	if name != "" {
		if u, err := user.Lookup(name); err == nil {
			uid, _ = strconv.Atoi(u.Uid)
			gid, _ = strconv.Atoi(u.Gid)
		}
		if group != "" {
			if gr, err := user.LookupGroup(group); err == nil {
				gid, _ = strconv.Atoi(gr.Gid)
			}
		}
		if uid == syscall.Getuid() {
			uid = -1
		}
		if gid == syscall.Getgid() {
			gid = -1
		}
	}
	created, err := notify.CreateFIFO(c.Path, uid, gid)
	if err != nil && !created {
		log.Info().Msgf("Unable to create %snotify fifo %s", kind, c.Path)
		return nil, nil
	} else if err != nil {
		log.Info().Msgf("%v", err)
	}
	var proc track.Process
	if c.Script != nil {
		o := topts
		if c.Script.User != "" {
			o.User, o.Group = c.Script.User, c.Script.Group
		}
		cmd, err := track.PrepareArgs(append(append([]string(nil), c.Script.Args...), c.Path), o, log)
		if err == nil {
			proc, err = track.Exec{}.Start(cmd)
		}
		if err != nil {
			log.Error().Msgf("%snotify_fifo_script %v: %v", kind, c.Script.Args, err)
		}
	}
	f, err := notify.OpenFIFO(c.Path, created)
	if err != nil {
		var en syscall.Errno
		errors.As(err, &en)
		log.Info().Msgf("Unable to open %snotify fifo %s - errno %d", kind, c.Path, int(en))
		return nil, proc
	}
	return f, proc
}

// stopFIFOScripts sends the FIFO scripts SIGTERM, as keepalived does when
// it stops: before the instances' STOP lines, which its scripts never
// read (seen with keepalived 2.2.7).
func (d *Daemon) stopFIFOScripts() {
	if d.fifos == nil {
		return
	}
	for _, p := range d.fifos.scripts {
		_ = p.Signal(syscall.SIGTERM)
	}
	d.fifos.scripts = nil
}

// stopFIFOs ends the FIFO scripts and closes the FIFOs.
func (d *Daemon) stopFIFOs() {
	if d.fifos == nil {
		return
	}
	if d.env.Notifier != nil {
		d.env.Notifier.SetFIFOs(nil)
	}
	d.stopFIFOScripts()
	for _, f := range d.fifos.fifos {
		f.Close(d.fifos.unlink)
	}
	d.fifos = nil
}
