package haproxycfg

import (
	"fmt"
	"os"
	"testing"
)

func TestZZDump(t *testing.T) {
	f := os.Getenv("DUMP")
	if f == "" {
		return
	}
	_, diags, _ := ParseFiles([]string{f}, ParseOptions{})
	for _, d := range diags {
		fmt.Println(d.FormatWithPID(1))
	}
}
