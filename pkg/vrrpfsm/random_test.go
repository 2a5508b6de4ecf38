package vrrpfsm_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"hapair/pkg/vrrpfsm"
)

// byteSource yields pseudo-random choices from fuzz input or a PRNG.
type byteSource struct {
	data []byte
	rnd  *rand.Rand
}

func (b *byteSource) intn(n int) int {
	if b.rnd != nil {
		return b.rnd.IntN(n)
	}
	if len(b.data) == 0 {
		return 0
	}
	v := int(b.data[0])
	b.data = b.data[1:]
	return v % n
}

// scenario runs random events on two or three instances sharing a link,
// then lets them settle and checks: exactly one master among the instances
// not in FAULT once every event stopped and one master-down interval
// passed, and the VIPs held exactly by the master.
func scenario(t *testing.T, src *byteSource) {
	l := newLab(t)
	version := 2 + src.intn(2)
	adv := time.Second
	if version == 3 {
		adv = time.Duration(1+src.intn(20)) * 100 * time.Millisecond
	}
	count := 2 + src.intn(2)
	var trace []string
	for i := range count {
		cfg := vrrpfsm.Config{
			Name: fmt.Sprintf("VI_%d", i), VRID: 51, Version: version,
			Priority:          []int{100, 101, 150, 254, 255}[src.intn(5)],
			AdvertInt:         adv,
			Address:           addr(fmt.Sprintf("10.0.0.%d", i+1)),
			NoPreempt:         src.intn(4) == 0,
			LowerPrioNoAdvert: src.intn(4) == 0,
			Tracks: []vrrpfsm.Track{
				{Name: "w", Weight: []int{2, -2, 50, -120}[src.intn(4)]},
				{Name: "f", Initial: vrrpfsm.TrackUp},
			},
		}
		if i > 0 && cfg.Priority == 255 {
			cfg.Priority = 254 // two owners is a configuration error
		}
		if src.intn(2) == 0 {
			cfg.InitialState = vrrpfsm.Master
		} else {
			cfg.InitialState = vrrpfsm.Backup
		}
		if src.intn(4) == 0 {
			cfg.PreemptDelay = time.Duration(src.intn(5)) * time.Second
		}
		trace = append(trace, fmt.Sprintf("%+v", cfg))
		l.add(cfg)
	}
	for range 40 {
		n := l.nodes[src.intn(len(l.nodes))]
		name := n.in.Config().Name
		switch src.intn(7) {
		case 0:
			up := src.intn(2) == 0
			n.in.SetTrack("w", up)
			trace = append(trace, fmt.Sprintf("%s w=%v", name, up))
		case 1:
			up := src.intn(3) > 0
			n.in.SetTrack("f", up)
			trace = append(trace, fmt.Sprintf("%s f=%v", name, up))
		case 2:
			up := src.intn(3) > 0
			n.in.InterfaceUp(up)
			trace = append(trace, fmt.Sprintf("%s if=%v", name, up))
		case 3:
			cut := src.intn(2) == 0
			n.cut.Store(cut)
			trace = append(trace, fmt.Sprintf("%s cut=%v", name, cut))
		case 4:
			n.in.Receive(vrrpfsm.Advert{Src: addr("10.0.0.99"), Priority: uint8(src.intn(256)), AdvertInt: adv})
			trace = append(trace, name+" stray advert")
		default:
			d := time.Duration(src.intn(5000)) * time.Millisecond
			l.advance(d)
			trace = append(trace, fmt.Sprintf("advance %v", d))
		}
		l.settle()
	}
	// Events stop: heal the link and everything tracked.
	for _, n := range l.nodes {
		n.cut.Store(false)
	}
	l.settle()
	// Worst case: a backup whose timer was just reset (3 intervals + skew <
	// 4 intervals), then one interval for two masters to hear each other.
	l.advance(5*adv + time.Millisecond)
	masters, live := 0, 0
	for _, n := range l.nodes {
		st := n.in.State()
		if st != vrrpfsm.Fault {
			live++
		}
		if st == vrrpfsm.Master {
			masters++
		}
		if n.fx.HoldsVIPs() != (st == vrrpfsm.Master) {
			t.Errorf("%s: state %v but HoldsVIPs=%v", n.in.Config().Name, st, n.fx.HoldsVIPs())
		}
		for _, e := range n.fx.Events() {
			if e.Kind == "become-twice" {
				t.Errorf("%s: VIPs added twice", n.in.Config().Name)
			}
		}
	}
	if live > 0 && masters != 1 {
		t.Errorf("%d masters among %d live instances", masters, live)
	}
	if t.Failed() {
		t.Logf("trace:\n%s", strings.Join(trace, "\n"))
		for _, n := range l.nodes {
			t.Logf("%s log:\n%s", n.in.Config().Name, strings.Join(n.logs.info(), "\n"))
		}
	}
}

func TestRandomizedElections(t *testing.T) {
	for seed := range uint64(150) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			scenario(t, &byteSource{rnd: rand.New(rand.NewPCG(seed, 0x5eed))})
		})
	}
}

func FuzzElections(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2, 3, 4, 5, 6})
	f.Add([]byte{1, 5, 2, 4, 0, 0, 1, 3, 3, 3, 6, 6, 6, 1, 0, 1})
	f.Add([]byte("the seed's two load balancers"))
	f.Fuzz(func(t *testing.T, data []byte) {
		scenario(t, &byteSource{data: data})
	})
}
