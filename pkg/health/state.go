package health

import "fmt"

// State is haproxy's rise/fall counter for one server ("health" in the
// stats CSV, field check_health). Health runs from 0 to Rise+Fall-1; the
// server is up while Health >= Rise. A server starts up with Health == Rise,
// so that its first failure takes it down, as haproxy does.
type State struct {
	Health, Rise, Fall int
}

// NewState is the state at startup. rise and fall below 1 count as 1.
func NewState(rise, fall int) State {
	rise, fall = max(rise, 1), max(fall, 1)
	return State{Health: rise, Rise: rise, Fall: fall}
}

// Up reports the operational state the counter gives.
func (s State) Up() bool { return s.Health >= s.Rise }

// Record counts one check result: a pass raises Health by one, and to
// the top once the server is up; a failure lowers it by one, and to 0 when
// it falls below Rise. It returns true when the server changes
// between up and down, and whether the failure counts in chkfail (failures
// seen while up).
func (s *State) Record(ok bool) (changed, failWhileUp bool) {
	top := s.Rise + s.Fall - 1
	if ok {
		wasUp := s.Up()
		if s.Health < top {
			s.Health++
		}
		// Once up, one pass restores full health (haproxy's "OK now").
		if s.Health >= s.Rise {
			s.Health = top
		}
		return !wasUp && s.Up(), false
	}
	if !s.Up() {
		if s.Health > 0 {
			s.Health = 0
		}
		return false, false
	}
	if s.Health > s.Rise {
		s.Health--
		return false, true
	}
	s.Health = 0
	return true, true
}

// Status is the end of haproxy's log-health-checks lines: "3/3 UP",
// "1/2 DOWN" (DRAIN in place of UP for a server of weight 0).
func (s State) Status(drain bool) string {
	if s.Up() {
		w := "UP"
		if drain {
			w = "DRAIN"
		}
		return fmt.Sprintf("%d/%d %s", s.Health-s.Rise+1, s.Fall, w)
	}
	return fmt.Sprintf("%d/%d DOWN", s.Health, s.Rise)
}

// Text is the status column of the stats for a checked server: "UP",
// "UP 1/3" while going down, "DOWN 1/2" while going up, "DOWN".
func (s State) Text() string {
	top := s.Rise + s.Fall - 1
	switch {
	case s.Up() && s.Health == top:
		return "UP"
	case s.Up():
		return fmt.Sprintf("UP %d/%d", s.Health-s.Rise+1, s.Fall)
	case s.Health == 0:
		return "DOWN"
	}
	return fmt.Sprintf("DOWN %d/%d", s.Health, s.Rise)
}

// Steady reports whether the counter is at an end (fully up or fully down),
// where haproxy checks every `inter` (or `downinter`), not `fastinter`.
func (s State) Steady() bool { return s.Health == 0 || s.Health == s.Rise+s.Fall-1 }
