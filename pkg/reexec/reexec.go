// Package reexec finds the program to run when a daemon starts itself
// again (to detach, to start a worker, to reload).
package reexec

import (
	"os"
	"os/exec"
	"strings"
)

// Path returns the path this program was invoked by, without resolving
// symbolic links, so that the new process keeps the invoked name: installed
// as /usr/sbin/haproxy -> gproxy, the process must still be called
// "haproxy", or `killall -0 haproxy` (keepalived's track script) no longer
// finds it. os.Executable resolves the link and would rename the process.
func Path(argv0 string) (string, error) {
	if argv0 != "" {
		if strings.Contains(argv0, "/") {
			if _, err := os.Stat(argv0); err == nil {
				return argv0, nil
			}
		} else if p, err := exec.LookPath(argv0); err == nil {
			return p, nil
		}
	}
	return os.Executable()
}
