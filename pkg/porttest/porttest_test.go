package porttest

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// TestFreeNeverRepeats asks for many ports and checks none comes twice,
// though the kernel hands the same port 0 binding out again freely.
func TestFreeNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	for i := 0; i < 500; i++ {
		p := Free(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}

// TestFreeAcrossProcesses checks that a port held by another process is
// not handed out here.
func TestFreeAcrossProcesses(t *testing.T) {
	if os.Getenv("PORTTEST_CHILD") != "" {
		os.Stdout.WriteString(strconv.Itoa(Free(t)) + "\n")
		// Hold the lock until killed. Not select{}: run directly, without
		// -test.timeout, the binary has no timer pending, so the runtime
		// would call that a deadlock and exit, releasing the lock (seen
		// once under load, when the child died before the claim below).
		for {
			time.Sleep(time.Hour)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestFreeAcrossProcesses$")
	cmd.Env = append(os.Environ(), "PORTTEST_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	buf := make([]byte, 16)
	n, _ := out.Read(buf)
	child, err := strconv.Atoi(string(buf[:n-1]))
	if err != nil {
		t.Fatalf("child said %q", buf[:n])
	}
	mu.Lock()
	ok, err := claim(child)
	mu.Unlock()
	if err != nil || ok {
		t.Fatalf("the child's port %d could be claimed here too (%v)", child, err)
	}
}
