package lab

import (
	"errors"
	"os"
	"testing"
)

// The lab refuses to configure a process that is still in the machine's
// network namespace (the race that once put br0 there).
func TestForeignNetnsRefusesMachineNamespace(t *testing.T) {
	if err := foreignNetns(os.Getpid(), 0); !errors.Is(err, ErrMachineNamespace) {
		t.Fatalf("foreignNetns(self) = %v; want ErrMachineNamespace", err)
	}
}

func TestSnapshotIgnoresLifetimes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`eth0 inet 10.0.0.2/24 valid_lft 3599sec preferred_lft 3599sec`, `eth0 inet 10.0.0.2/24 valid_lft preferred_lft`},
		{`eth0 inet 10.0.0.2/24 valid_lft forever preferred_lft forever`, `eth0 inet 10.0.0.2/24 valid_lft preferred_lft`},
		{`default via fe80::1 dev eth0 proto ra metric 1024 expires 1790sec pref medium`, `default via fe80::1 dev eth0 proto ra metric 1024 expires pref medium`},
	} {
		if got := lifetimes.ReplaceAllString(c.in, "$1"); got != c.want {
			t.Errorf("%q -> %q; want %q", c.in, got, c.want)
		}
	}
}
