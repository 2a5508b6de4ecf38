// Package sdnotify tells systemd about a Type=notify service's state, as
// Debian's haproxy.service and keepalived.service expect.
package sdnotify

import (
	"net"
	"os"
)

// States sent by the daemons.
const (
	Ready     = "READY=1"
	Reloading = "RELOADING=1"
	Stopping  = "STOPPING=1"
)

// Notify sends state to $NOTIFY_SOCKET when systemd set it; otherwise it
// does nothing. Failures are ignored: systemd's own timeout reports them.
func Notify(state string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return
	}
	if path[0] == '@' {
		path = "\x00" + path[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = c.Write([]byte(state))
}
