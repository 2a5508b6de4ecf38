package vrrpfsm_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/vrrpfsm"
	"hapair/pkg/vrrpfsm/fsmtest"
)

// TestLoopLaunchStopsByStopOnly: an instance launched on a loop is not
// stopped by its context (its Effects still get it), only by the stop
// Launch returned; stopped runs once it ended.
func TestLoopLaunchStopsByStopOnly(t *testing.T) {
	clk := fsmtest.NewClock(t0)
	cfg := vrrpfsm.Config{Name: "VI_1", VRID: 51, Priority: 100, AdvertInt: time.Second,
		InitialState: vrrpfsm.Master, Address: netip.MustParseAddr("192.168.1.80")}
	fx := &fsmtest.Effects{}
	in := vrrpfsm.New(cfg, clk, &fsmtest.Sender{Clock: clk}, fx, zerolog.Nop())
	l := vrrpfsm.NewLoop(clk)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	stop, err := l.Launch(ctx, in, func() { close(stopped) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Launch(ctx, in, nil); !errors.Is(err, vrrpfsm.ErrRunning) {
		t.Fatalf("second Launch: %v, want ErrRunning", err)
	}
	in.Sync()
	if st := in.Status().State; st != vrrpfsm.Backup {
		t.Fatalf("state %v, want BACKUP (running)", st)
	}
	cancel()
	in.Sync()
	select {
	case <-in.Done():
		t.Fatal("the instance stopped with its context; Launch does not watch it")
	default:
	}
	stop()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("stopped never called after stop")
	}
	<-in.Done()
	if st := in.Status().State; st != vrrpfsm.Stop {
		t.Errorf("state %v after stop, want STOP", st)
	}
}
