package health

import (
	"fmt"
	"os"
	"strconv"

	"hapair/pkg/proxy"
)

// sendState is the value of the X-Haproxy-Server-State header of
// `http-check send-state`, as haproxy 2.6's httpchk_build_status_header
// writes it: the state and health as the stats show them ("UP 1/3",
// "DOWN 1/2", "NOLB", "no check"), the server's address and port, its
// name, the node, its effective weight over the backend's total, its
// sessions over the backend's, its queue, and the throttle of a slow start.
// The node is the host name: gproxy ignores `node` (a cosmetic keyword).
func (m *Monitor) sendState(c *check) string {
	s := c.srv
	m.mu.Lock()
	st, disabled := c.st, c.disabled
	m.mu.Unlock()
	var state string
	switch {
	case disabled:
		state = "no check"
	case s.Up():
		word := "UP"
		if s.Stopping() {
			word = "NOLB"
		}
		state = word
		if st.Health != st.Rise+st.Fall-1 {
			state = fmt.Sprintf("%s %d/%d", word, st.Health-st.Rise+1, st.Fall)
		}
	case st.Health > 0:
		state = fmt.Sprintf("DOWN %d/%d", st.Health, st.Rise)
	default:
		state = "DOWN"
	}
	addr, port := s.Host(), strconv.Itoa(s.Port())
	if s.Config().Sock.IsSet() {
		addr, port = "unix", ""
	}
	b := s.Backend()
	bst := b.Stats()
	node, _ := os.Hostname()
	w := s.Weight()
	if s.AdminState() == proxy.AdminDrain || s.Stopping() {
		// haproxy keeps the effective weight of a draining or
		// soft-stopping server (the total leaves it out), as the stats.
		w = s.UserWeight()
	}
	out := fmt.Sprintf("%s; address=%s; port=%s; name=%s/%s; node=%s; weight=%d/%d; scur=%d/%d; qcur=%d",
		state, addr, port, b.Name(), s.Name(), node, w, totalWeight(b),
		s.Conns(), bst.CurSessions-bst.QueueCur, s.Stats().QueueCur)
	if el, ok := s.WarmupSeconds(); ok && s.Up() && !s.Stopping() {
		out += fmt.Sprintf("; throttle=%d%%", max(1, 100*el/int64(max(s.Config().SlowStart, 1))))
	}
	return out
}

// totalWeight is haproxy's lbprm.tot_weight on the user's scale.
func totalWeight(b *proxy.Backend) int {
	_, _, w := b.InUse()
	return w
}
