package runtimeapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"hapair/pkg/health/healthtest"
	"hapair/pkg/runtimeapi"
)

// TestAddDelServerWhileServing adds, enables, disables and deletes servers
// while requests flow (run with -race): every request is answered, and
// the options gproxy does not apply to a dynamic server are refused by
// name instead of being ignored; so is a `track` of no server.
func TestAddDelServerWhileServing(t *testing.T) {
	s1, s2 := healthtest.StartNginx(t, "s1"), healthtest.StartNginx(t, "s2")
	e := start(t, "admin", s1)
	url := fmt.Sprintf("http://127.0.0.1:%d/", e.fe)
	refusals := []struct{ in, want string }{
		{"add server web/x " + s2.Addr() + " track web/nope", "unable to find required server 'nope' for tracking.\n"},
		{"add server web/x " + s2.Addr() + " ssl ciphers HIGH", "'ciphers' option is not implemented by gproxy for dynamic servers.\n"},
		{"add server web/x name.test:80", "a dynamic server named by a host name is not implemented by gproxy.\n"},
		{"add server web/x 127.0.0.1:80 resolvers dns", "'resolvers' option is not accepted for dynamic server\n"},
		{"del server web/s1", "Only servers in maintenance mode can be deleted."},
	}
	for _, tt := range refusals {
		if got := e.cmds.Exec(strings.Fields(tt.in), runtimeapi.LevelAdmin); got != tt.want {
			t.Errorf("%q answered %q, want %q", tt.in, got, tt.want)
		}
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := http.Get(url)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != 200 {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			if err != nil {
				select {
				case errs <- err:
				default:
				}
				return
			}
		}
	}()
	for i := range 20 {
		name := fmt.Sprintf("web/d%d", i)
		for _, c := range []string{"add server " + name + " " + s2.Addr() + " weight 2", "enable server " + name, "show stat", "disable server " + name} {
			e.cmds.Exec(strings.Fields(c), runtimeapi.LevelAdmin)
		}
		// A connection may still hold the server until its request ends.
		deadline := time.Now().Add(5 * time.Second)
		for {
			out := e.cmds.Exec(strings.Fields("del server "+name), runtimeapi.LevelAdmin)
			if out == "Server deleted." {
				break
			}
			if out != "Server still has connections attached to it, cannot remove it." || time.Now().After(deadline) {
				t.Fatalf("del server %s: %q", name, out)
			}
			time.Sleep(time.Millisecond) // poll
		}
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatalf("a request failed while servers came and went: %v", err)
	default:
	}
	if n := len(e.eng.Backend("web").Servers()); n != 1 {
		t.Errorf("%d servers left, want s1 alone", n)
	}
}
