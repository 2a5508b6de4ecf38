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
	for _, argv := range [][]string{{}, {"-f"}, {"-Z", "-f", "x"}, {"-n", "x", "-f", "a"}, {"-f", "a", "-p"}} {
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
	// The seed: maxconn 20000 on a machine whose hard limit is 20000.
	p := PlanFDs(20000, 20000)
	if !p.Clamped || p.MaxConn != (20000-fdReserve)/2 || p.Need != 40064 {
		t.Fatalf("PlanFDs(20000, 20000) = %+v", p)
	}
	for _, s := range []string{"20000", "40064", "hard limit is 20000", "LimitNOFILE=40064", "ulimit -Hn 40064"} {
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
}
