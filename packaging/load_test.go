package packaging_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"hapair/integration/lab"
)

// load is a client loop on a lab host: a few workers, each sending GET
// requests on new connections one after the other, counting the served
// (200) and the failed ones, and the longest outage: the time between the
// last success before a run of failures and the first success after it.
type load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	served  int
	failed  int
	lastOK  time.Time
	failing bool
	outage  time.Duration
	errs    map[string]int
	start   time.Time
	when    []string // the first failures: seconds after start, error
}

type loadResult struct {
	Served, Failed int
	Outage         time.Duration
	Errors         string
	When           string // when the first failures happened
}

func startLoad(c *lab.Host, url string, workers int) *load {
	ctx, cancel := context.WithCancel(context.Background())
	ld := &load{cancel: cancel, lastOK: time.Now(), errs: map[string]int{}, start: time.Now()}
	for i := 0; i < workers; i++ {
		ld.wg.Add(1)
		go func() {
			defer ld.wg.Done()
			for ctx.Err() == nil {
				code, body, err := c.Get(ctx, url, 2*time.Second)
				if ctx.Err() != nil {
					return
				}
				ld.record(code, body, err)
				// Leaves the two shared cores to the daemons under test.
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	return ld
}

func (ld *load) record(code int, body []byte, err error) {
	now := time.Now()
	ld.mu.Lock()
	defer ld.mu.Unlock()
	if err == nil && code == 200 && strings.HasPrefix(string(body), "web0") {
		ld.served++
		if ld.failing {
			if d := now.Sub(ld.lastOK); d > ld.outage {
				ld.outage = d
			}
			ld.failing = false
		}
		ld.lastOK = now
		return
	}
	ld.failed++
	ld.failing = true
	key := fmt.Sprintf("status %d", code)
	if err != nil {
		key = err.Error()
		if i := strings.LastIndex(key, ": "); i >= 0 {
			key = key[i+2:]
		}
	}
	ld.errs[key]++
	if len(ld.when) < 5 {
		ld.when = append(ld.when, fmt.Sprintf("%s at +%.2f s", key, now.Sub(ld.start).Seconds()))
	}
}

// stop ends the loop and returns its figures. An outage still going on at
// the end counts up to now.
func (ld *load) stop() loadResult {
	ld.cancel()
	ld.wg.Wait()
	ld.mu.Lock()
	defer ld.mu.Unlock()
	if ld.failing {
		if d := time.Since(ld.lastOK); d > ld.outage {
			ld.outage = d
		}
	}
	var errs []string
	for k, n := range ld.errs {
		errs = append(errs, fmt.Sprintf("%d× %s", n, k))
	}
	return loadResult{Served: ld.served, Failed: ld.failed, Outage: ld.outage, Errors: strings.Join(errs, "; "), When: strings.Join(ld.when, ", ")}
}

// table collects the figures of each step for the test's log (the
// report's table).
type table struct {
	mu   sync.Mutex
	rows []string
}

func (tb *table) add(step, pkgs string, r loadResult, note string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.rows = append(tb.rows, fmt.Sprintf("| %s | %s | %d | %d | %d | %s |", step, pkgs, r.Served, r.Failed, r.Outage.Milliseconds(), note))
}

func (tb *table) log(t *testing.T) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	t.Logf("\n| step | packages | served | failed | outage ms | seen |\n|---|---|---|---|---|---|\n%s", strings.Join(tb.rows, "\n"))
}
