package gproxyd

import (
	"fmt"
	"io"
	"os"

	"hapair/pkg/haproxycfg"
)

// printBuildInfo prints the lines of `haproxy -vv` that tools read to learn
// what the binary does (haproxy's scripts/run-regtests.sh reads the
// version, TARGET, "Feature list" and "Available services"): those of the
// haproxy 2.6 build gproxy stands in for, so that the same configurations
// and tests are selected; what gproxy does not implement is refused with
// file:line by -c (pkg/haproxycfg/KEYWORDS.md), never served differently.
func printBuildInfo(w io.Writer) {
	fmt.Fprintf(w, "HAProxy version %s-gproxy-%s - the haproxy version gproxy behaves as\n", haproxycfg.HAProxyVersion, Version)
	fmt.Fprintf(w, "Build options :\n  TARGET  = linux-glibc\n")
	fmt.Fprintf(w, "\nFeature list : %s\n\n", haproxycfg.FeatureList())
	fmt.Fprintf(w, "Available services : prometheus-exporter\n")
}

// checkCondition is `haproxy -cc EXPR`: exit 0 when the condition holds, 1
// when not, 2 (with an alert) when it cannot be evaluated. Variables are
// the environment's, as haproxy's.
func checkCondition(expr string, stderr io.Writer) int {
	ok, err := haproxycfg.EvalCondition(expr, os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT]    (%d) : Failed to evaluate condition: %v\n", os.Getpid(), err)
		return 2
	}
	if ok {
		return 0
	}
	return 1
}
