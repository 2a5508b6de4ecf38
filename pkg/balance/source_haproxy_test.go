package balance

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSourceMapLayout pins haproxy's map layout (lb_map.c): weights reduced
// by their GCD, ties to the first declared server.
func TestSourceMapLayout(t *testing.T) {
	for _, tt := range []struct {
		weights []int
		want    string
	}{
		{[]int{1, 1}, "s1 s2"},
		{[]int{1, 2}, "s1 s2 s2"},
		{[]int{2, 4}, "s1 s2 s2"},
		{[]int{1, 2, 3}, "s1 s3 s2 s3 s2 s3"},
		{[]int{5, 5, 5}, "s1 s2 s3"},
	} {
		_, ss := pool(tt.weights...)
		p := NewSource()
		var got []string
		for i := 0; i < len(strings.Fields(tt.want)); i++ {
			// 0.0.0.i hashes to i: slot i.
			a := netip.AddrFrom4([4]byte{0, 0, 0, byte(i)})
			got = append(got, name(p.Pick(ss, Key{Client: a})))
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("weights %v: slots %q, want %q", tt.weights, strings.Join(got, " "), tt.want)
		}
	}
	// The seed's client behind the seed's two web servers: haproxy 2.6
	// sends 192.168.1.10 to web01 (seen in the lab).
	_, ss := pool(1, 1)
	if got := name(NewSource().Pick(ss, Key{Client: netip.MustParseAddr("192.168.1.10")})); got != "s1" {
		t.Errorf("192.168.1.10 goes to %s, haproxy sends it to the first server", got)
	}
}

// TestIntegrationSourceMatchesHaproxy sends clients from 40 loopback
// addresses through the real haproxy 2.6 with `balance source` over
// servers of weights 1, 2 and 3, and checks that gproxy's policy picks the
// same server for every one of them.
func TestIntegrationSourceMatchesHaproxy(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: run as root (CI does)")
	}
	var backends []string
	for i := 1; i <= 3; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		backends = append(backends, ln.Addr().String())
		name := fmt.Sprintf("s%d", i)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				fmt.Fprintf(c, "%s\n", name)
				c.Close()
			}
		}()
	}
	fl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := fl.Addr().String()
	fl.Close()
	dir := t.TempDir()
	cfg := fmt.Sprintf("global\n    maxconn 100\ndefaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nlisten l\n    bind %s\n    balance source\n"+
		"    server s1 %s weight 1\n    server s2 %s weight 2\n    server s3 %s weight 3\n", front, backends[0], backends[1], backends[2])
	if err := os.WriteFile(filepath.Join(dir, "h.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/sbin/haproxy", "-f", filepath.Join(dir, "h.cfg"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() }()

	_, ss := pool(1, 2, 3)
	p := NewSource()
	deadline := time.Now().Add(10 * time.Second)
	for i := 2; i < 42; i++ {
		src := netip.AddrFrom4([4]byte{127, 0, byte(i), byte(i * 7)})
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}, Timeout: time.Second}
		var c net.Conn
		for {
			c, err = d.Dial("tcp", front)
			if err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("dial from %v: %v", src, err)
		}
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil {
			t.Fatalf("from %v: %v", src, err)
		}
		haproxy := strings.TrimSpace(line)
		if ours := name(p.Pick(ss, Key{Client: src})); ours != haproxy {
			t.Errorf("client %v: haproxy picks %s, gproxy %s", src, haproxy, ours)
		}
	}
}
