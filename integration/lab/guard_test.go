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
