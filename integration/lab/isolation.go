package lab

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
)

// lifetimes are the parts of `ip` output that change by themselves
// (address lifetimes and route expiry counting down under DHCP or SLAAC).
var lifetimes = regexp.MustCompile(`(valid_lft|preferred_lft|expires) \S+`)

// MachineSnapshot describes the machine's own network configuration:
// `ip -o addr`, `ip -o route` (v4 and v6), `ip -o link`, /etc/hosts and the
// hostname, with lifetimes that count down removed. Tests take one before
// and after building a lab: the two must be equal, since a lab never
// touches the machine's namespace.
func MachineSnapshot() (string, error) {
	var b strings.Builder
	for _, args := range [][]string{{"-o", "addr"}, {"-o", "-4", "route"}, {"-o", "-6", "route"}, {"-o", "link"}} {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("lab: ip %s: %w: %s", strings.Join(args, " "), err, out)
		}
		fmt.Fprintf(&b, "# ip %s\n%s", strings.Join(args, " "), lifetimes.ReplaceAllString(string(out), "$1"))
	}
	hosts, err := os.ReadFile("/etc/hosts")
	if err != nil {
		return "", fmt.Errorf("lab: %w", err)
	}
	hn, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("lab: %w", err)
	}
	fmt.Fprintf(&b, "# /etc/hosts\n%s# hostname\n%s\n", hosts, hn)
	return b.String(), nil
}
