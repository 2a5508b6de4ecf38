package vrrpfsm_test

import (
	"testing"
	"time"

	"hapair/pkg/vrrpfsm"
)

func TestMasterDownInterval(t *testing.T) {
	tests := []struct {
		name    string
		version int
		prio    int
		advInt  time.Duration
		skew    time.Duration
		down    time.Duration
	}{
		// v2: (256-p)/256 s, truncated to µs as keepalived does, interval ignored.
		{"v2 prio 102", 2, 102, time.Second, us(601562), 3*time.Second + us(601562)},
		{"v2 prio 100 int 2s", 2, 100, 2 * time.Second, us(609375), 6*time.Second + us(609375)},
		{"v2 owner", 2, 255, time.Second, us(3906), 3*time.Second + us(3906)},
		{"v2 prio 1", 2, 1, time.Second, us(996093), 3*time.Second + us(996093)},
		// v3: (256-p) × interval / 256.
		{"v3 prio 100 1s", 3, 100, time.Second, us(609375), 3*time.Second + us(609375)},
		{"v3 prio 100 2s", 3, 100, 2 * time.Second, us(1218750), 6*time.Second + us(1218750)},
		{"v3 prio 100 50ms", 3, 100, 50 * time.Millisecond, us(30468), 150*time.Millisecond + us(30468)},
		{"v3 owner 1s", 3, 255, time.Second, us(3906), 3*time.Second + us(3906)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := vrrpfsm.SkewTime(tt.version, tt.prio, tt.advInt); got != tt.skew {
				t.Errorf("SkewTime = %v, want %v", got, tt.skew)
			}
			if got := vrrpfsm.MasterDownInterval(tt.version, tt.prio, 3, tt.advInt); got != tt.down {
				t.Errorf("MasterDownInterval = %v, want %v", got, tt.down)
			}
		})
	}
}

func TestStateAndReasonNames(t *testing.T) {
	for s, want := range map[vrrpfsm.State]string{
		vrrpfsm.Init: "INIT", vrrpfsm.Backup: "BACKUP", vrrpfsm.Master: "MASTER",
		vrrpfsm.Fault: "FAULT", vrrpfsm.Stop: "STOP",
	} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(s), s, want)
		}
	}
	if got := vrrpfsm.ReasonMasterDown.String(); got != "master-down timer expired" {
		t.Errorf("ReasonMasterDown = %q", got)
	}
	if got := vrrpfsm.Reason(999).String(); got != "Reason(999)" {
		t.Errorf("unknown reason = %q", got)
	}
}

func TestConfigNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   vrrpfsm.Config
		want func(c vrrpfsm.Config) bool
	}{
		{"no priority with state MASTER is owner", vrrpfsm.Config{InitialState: vrrpfsm.Master},
			func(c vrrpfsm.Config) bool { return c.Priority == 255 }},
		{"no priority with state BACKUP is 100", vrrpfsm.Config{InitialState: vrrpfsm.Backup},
			func(c vrrpfsm.Config) bool { return c.Priority == 100 }},
		{"no state: owner is MASTER", vrrpfsm.Config{Priority: 255},
			func(c vrrpfsm.Config) bool { return c.InitialState == vrrpfsm.Master }},
		{"no state: others BACKUP", vrrpfsm.Config{Priority: 200},
			func(c vrrpfsm.Config) bool { return c.InitialState == vrrpfsm.Backup }},
		{"AH clears state MASTER below 255", vrrpfsm.Config{Priority: 101, InitialState: vrrpfsm.Master, AuthAH: true},
			func(c vrrpfsm.Config) bool { return c.InitialState == vrrpfsm.Backup }},
		{"AH keeps the owner MASTER", vrrpfsm.Config{Priority: 255, InitialState: vrrpfsm.Master, AuthAH: true},
			func(c vrrpfsm.Config) bool { return c.InitialState == vrrpfsm.Master }},
		{"nopreempt cleared with state MASTER", vrrpfsm.Config{Priority: 100, InitialState: vrrpfsm.Master, NoPreempt: true},
			func(c vrrpfsm.Config) bool { return !c.NoPreempt }},
		{"preempt_delay cleared by nopreempt", vrrpfsm.Config{Priority: 100, NoPreempt: true, PreemptDelay: time.Second},
			func(c vrrpfsm.Config) bool { return c.NoPreempt && c.PreemptDelay == 0 }},
		{"defaults", vrrpfsm.Config{},
			func(c vrrpfsm.Config) bool {
				return c.Version == 2 && c.AdvertInt == time.Second && c.DownTimerAdverts == 3
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := vrrpfsm.New(tt.in, nil, nil, nil, nopLog())
			if c := in.Config(); !tt.want(c) {
				t.Errorf("normalized config %+v", c)
			}
		})
	}
}
