package gproxyd

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"

	"hapair/pkg/haproxycfg"
)

// credentials resolves `user`/`group`/`uid`/`gid` from global to ids;
// -1 means unchanged.
func credentials(g haproxycfg.Global) (uid, gid int, err error) {
	uid, gid = g.UID, g.GID
	if g.User != "" {
		u, err := user.Lookup(g.User)
		if err != nil {
			return -1, -1, fmt.Errorf("global 'user %s': no such user on this machine (create it, e.g. `adduser --system --group %s`): %w", g.User, g.User, err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		if g.Group == "" && gid < 0 {
			gid, _ = strconv.Atoi(u.Gid)
		}
	}
	if g.Group != "" {
		gr, err := user.LookupGroup(g.Group)
		if err != nil {
			return -1, -1, fmt.Errorf("global 'group %s': no such group on this machine: %w", g.Group, err)
		}
		gid, _ = strconv.Atoi(gr.Gid)
	}
	return uid, gid, nil
}

// dropPrivileges chroots and switches user and group after every socket is
// bound, as haproxy does. Go applies setuid/setgid to every thread.
func dropPrivileges(g haproxycfg.Global, uid, gid int) error {
	if g.Chroot != "" {
		if err := syscall.Chroot(g.Chroot); err != nil {
			return fmt.Errorf("Cannot chroot(%s).", g.Chroot) // haproxy's words; errno is not shown
		}
		if err := syscall.Chdir("/"); err != nil {
			return fmt.Errorf("chdir / in chroot %s: %w", g.Chroot, err)
		}
	}
	if gid >= 0 {
		if err := syscall.Setgroups([]int{gid}); err != nil {
			return fmt.Errorf("setgroups %d: %w", gid, err)
		}
		if err := syscall.Setgid(gid); err != nil {
			return fmt.Errorf("setgid %d: %w", gid, err)
		}
	}
	if uid >= 0 {
		if err := syscall.Setuid(uid); err != nil {
			return fmt.Errorf("setuid %d: %w", uid, err)
		}
	}
	return nil
}
