package gproxyd

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		argv []string
		want Args
	}{
		// Debian's systemd unit.
		{[]string{"-Ws", "-f", "/etc/haproxy/haproxy.cfg", "-p", "/run/haproxy.pid", "-S", "/run/haproxy-master.sock"},
			Args{Files: []string{"/etc/haproxy/haproxy.cfg"}, MasterWorker: true, SystemdReady: true, PIDFile: "/run/haproxy.pid", MasterSocket: "/run/haproxy-master.sock"}},
		// Debian's init script: start, then reload.
		{[]string{"-f", "/etc/haproxy/haproxy.cfg", "-D", "-p", "/var/run/haproxy.pid"},
			Args{Files: []string{"/etc/haproxy/haproxy.cfg"}, Daemon: true, PIDFile: "/var/run/haproxy.pid"}},
		{[]string{"-f", "h.cfg", "-p", "/var/run/haproxy.pid", "-sf", "12", "13", "-D"},
			Args{Files: []string{"h.cfg"}, Daemon: true, PIDFile: "/var/run/haproxy.pid", SoftStopPIDs: []int{12, 13}}},
		{[]string{"-c", "-q", "-f", "a.cfg", "-f", "conf.d"},
			Args{Files: []string{"a.cfg", "conf.d"}, Check: true, Quiet: true}},
		{[]string{"-st", "7", "-f", "a.cfg", "-n", "100"},
			Args{Files: []string{"a.cfg"}, HardStopPIDs: []int{7}, MaxConn: 100}},
		// -dW: warnings are fatal, as `zero-warning`.
		{[]string{"-c", "-dW", "-f", "a.cfg"},
			Args{Files: []string{"a.cfg"}, Check: true, ZeroWarning: true}},
		{[]string{"-N", "5", "-C", "/etc/haproxy", "-L", "lb1", "-dr", "-f", "a.cfg"},
			Args{Files: []string{"a.cfg"}, ProxyMaxConn: 5, ChDir: "/etc/haproxy", LocalPeer: "lb1", DontFailResolve: true}},
		{[]string{"-de", "-dp", "-dS", "-dV", "-dM0x20,no-merge", "-f", "a.cfg"},
			Args{Files: []string{"a.cfg"}}},
	}
	for _, tt := range tests {
		got, err := ParseArgs(tt.argv)
		if err != nil {
			t.Errorf("ParseArgs(%q): %v", tt.argv, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseArgs(%q)\n got %+v\nwant %+v", tt.argv, got, tt.want)
		}
	}
}

func TestParseArgsErrors(t *testing.T) {
	for _, argv := range [][]string{{}, {"-f"}, {"-Z", "-f", "x"}, {"-n", "x", "-f", "a"}, {"-f", "a", "-p"},
		{"-m", "100", "-f", "a"}, {"-N", "0", "-f", "a"}, {"-dG", "-f", "a"}, {"-dR", "-f", "a"}, {"-f", "a", "-C"}} {
		if _, err := ParseArgs(argv); !errors.Is(err, ErrUsage) {
			t.Errorf("ParseArgs(%q) = %v, want ErrUsage", argv, err)
		}
	}
}

func TestReexec(t *testing.T) {
	a := Args{}
	got := a.Reexec([]string{"-f", "x.cfg", "-sf", "5", "6", "-D", "--", "y.cfg"}, 42)
	want := "-f x.cfg -D -sf 42 -- y.cfg"
	if strings.Join(got, " ") != want {
		t.Errorf("Reexec = %q, want %q", strings.Join(got, " "), want)
	}
}

func TestPlanFDs(t *testing.T) {
	// The seed: maxconn 20000 on a machine whose hard limit is 20000. It
	// needs 2 descriptors per connection, 2 per splice pipe for 5000 pipes
	// (maxconn/4) and the reserve: 40000 + 10000 + 64.
	p := PlanFDs(20000, 20000)
	if !p.Clamped || p.Need != 50064 {
		t.Fatalf("PlanFDs(20000, 20000) = %+v", p)
	}
	// The largest maxconn that fits: 7975 needs 15950 + 2*1993 + 64 = 20000.
	if p.MaxConn != 7975 || fdNeed(p.MaxConn) > 20000 || fdNeed(p.MaxConn+1) <= 20000 {
		t.Fatalf("PlanFDs(20000, 20000).MaxConn = %d (needs %d; %d needs %d), want 7975, the largest within 20000",
			p.MaxConn, fdNeed(p.MaxConn), p.MaxConn+1, fdNeed(p.MaxConn+1))
	}
	for _, s := range []string{"20000", "50064", "hard limit is 20000", "at most 7975", "LimitNOFILE=50064", "ulimit -Hn 50064"} {
		if !strings.Contains(p.Message(), s) {
			t.Errorf("message %q lacks %q", p.Message(), s)
		}
	}
	if p := PlanFDs(1000, 20000); p.Clamped || p.MaxConn != 1000 {
		t.Errorf("PlanFDs(1000, 20000) = %+v, want unclamped", p)
	}
	if p := PlanFDs(1000, rlimInfinity); p.Clamped {
		t.Errorf("unlimited: %+v", p)
	}
	for _, lim := range []uint64{0, 10, 70, 100, 1000, 19999} {
		p := PlanFDs(20000, lim)
		if !p.Clamped || p.MaxConn < 1 || (p.MaxConn > 1 && fdNeed(p.MaxConn) > lim) || fdNeed(p.MaxConn+1) <= lim {
			t.Errorf("PlanFDs(20000, %d) = %+v: not the largest maxconn within the limit (at least 1)", lim, p)
		}
	}
}
