package gproxyd

import (
	"context"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"hapair/pkg/haproxycfg"
	"hapair/pkg/peers"
	"hapair/pkg/sticktable"
)

// envOldWorker tells a worker the master started it to replace another
// (haproxy passes -sf to it): its peers sections wait for the old
// worker's tables.
const envOldWorker = "GPROXY_OLD_WORKER"

// peerSections are the running `peers` sections of a process.
type peerSections []*peers.Section

// startPeers starts every peers section of cfg on the engine's tables.
// waitLocal: this process replaces another, which will push its tables.
func startPeers(cfg *haproxycfg.Config, tables *sticktable.Set, pid int, waitLocal bool, log zerolog.Logger) (peerSections, error) {
	var out peerSections
	for _, sec := range cfg.Peers {
		pc := peers.Config{Name: sec.Name, Local: cfg.LocalPeer, Listen: sec.Listen, PID: pid, WaitLocal: waitLocal}
		for _, d := range sec.Peers {
			pc.Peers = append(pc.Peers, peers.Peer{Name: d.Name, Addr: d.Addr, Local: d.Local})
		}
		for _, t := range tables.Tables() {
			c := t.Config()
			if c.Peers != sec.Name {
				continue
			}
			size := c.KeySize
			if size == 0 {
				size = peers.DefaultKeySize(c.Type)
				if c.Type == sticktable.KeyBinary {
					size = c.Len
				}
			}
			// A peers section's own table (SECTION/NAME) goes by "/NAME"
			// on the wire (haproxy's nid: the name past the section's).
			name := t.Name()
			if strings.HasPrefix(name, sec.Name+"/") {
				name = name[len(sec.Name):]
			}
			pc.Tables = append(pc.Tables, peers.Table{T: t, Name: name, KeySize: size})
		}
		s, err := peers.New(pc, log)
		if err == nil {
			err = s.Start(context.Background())
		}
		if err != nil {
			out.Close()
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// softStop pushes the tables to the new process (a reload), for at most
// d; it returns at once without sections.
func (ps peerSections) softStop(d time.Duration) {
	if len(ps) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.SoftStop(ctx)
		}()
	}
	wg.Wait()
	ps.Close()
}

// Close stops the sections.
func (ps peerSections) Close() {
	for _, s := range ps {
		s.Close()
	}
}

func replacesOldProcess(a Args) bool {
	return len(a.SoftStopPIDs) > 0 || os.Getenv(envOldWorker) != ""
}

// hasWorker reports whether the master runs a worker already (the next
// one replaces it).
func (t *procTable) hasWorker() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.workers) > 0
}
