package proxy

import "time"

// weightScale is haproxy's BE_WEIGHT_SCALE: the dynamic algorithms keep
// each server's effective weight (eweight) in 16ths of the user weight, so
// that a slow start can ramp it in small steps.
const weightScale = 16

// startWarmup begins a slow start (haproxy's SRV_ST_STARTING) when the
// server has `slowstart`: the server has just come up, by its checks or
// by leaving maintenance. haproxy counts in whole seconds of its clock.
func (s *Server) startWarmup() {
	if s.cfg.SlowStart <= 0 {
		return
	}
	s.warmFrom.Store(s.be.now().Unix())
	s.be.warmTicker()
}

// warming returns how many whole seconds of its slow start the server has
// done, and false when it is not (or no longer) starting.
func (s *Server) warming() (int64, bool) {
	from := s.warmFrom.Load()
	if from == 0 {
		return 0, false
	}
	el := s.be.now().Unix() - from
	if el < 0 || el >= int64(s.cfg.SlowStart) {
		// As server_recalc_eweight: full throttle once the interval is
		// over (or when the clock went back).
		s.warmFrom.CompareAndSwap(from, 0)
		return 0, false
	}
	return el, true
}

// WarmupSeconds is how many whole seconds of its slow start the server
// has run; false when it is not in one.
func (s *Server) WarmupSeconds() (int64, bool) {
	if s.be.staticLB() {
		return 0, false
	}
	return s.warming()
}

// Starting reports whether the server is in its slow start.
func (s *Server) Starting() bool {
	_, ok := s.warming()
	return ok
}

// EWeight is the effective weight in 16ths (haproxy's eweight with
// wmult 1): 0 while draining; during a slow start, on a backend whose
// algorithm takes weight changes, the user weight times
// (16*elapsed+slowstart)/slowstart, as server_recalc_eweight computes it.
func (s *Server) EWeight() int {
	if s.AdminState() == AdminDrain || s.stopping.Load() {
		return 0
	}
	uw := int(s.weight.Load())
	w := weightScale
	if el, ok := s.warming(); ok && !s.be.staticLB() {
		ss := int64(s.cfg.SlowStart)
		w = int((weightScale*el + ss) / ss)
	}
	return uw * w
}

// Throttle is the stats' throttle column: the percentage of its weight a
// starting server has (server_throttle_rate); 0 when it is not starting
// or drains.
func (s *Server) Throttle() int {
	if !s.Starting() || s.AdminState() == AdminDrain {
		return 0
	}
	uw := int(s.weight.Load())
	if uw == 0 {
		return 100
	}
	return (100*s.EWeight() + weightScale - 1) / (weightScale * uw)
}

// DynMaxConn is the server's connection limit now (srv_dynamic_maxconn):
// maxconn, or with `minconn` below it, a share of maxconn proportional to
// the backend's load against its fullconn, never below minconn; and
// during a slow start the elapsed part of that, at least 1.
func (s *Server) DynMaxConn() int {
	maxc, minc := s.MaxConn(), s.cfg.MinConn
	if minc == 0 || s.maxconn.Load() > 0 && minc == s.cfg.MaxConn {
		minc = maxc // static limit, or one an agent moved
	}
	if be := int(s.be.ctr.cur.Load()); be < s.be.fullconn && minc != maxc {
		maxc = max(minc, be*maxc/s.be.fullconn)
	}
	if el, ok := s.warming(); ok {
		ratio := int(100 * el / int64(s.cfg.SlowStart))
		maxc = max(1, maxc*ratio/100)
	}
	return maxc
}

// warmTicker lets queued connections take, every second, the slots and
// weight a slow start frees (haproxy's warmup task grabs from the backend
// queue at each step), until no server of the backend is starting.
func (b *Backend) warmTicker() {
	if !b.warm.CompareAndSwap(false, true) {
		return
	}
	var tick func()
	tick = func() {
		b.statusChanged(nil)
		if !b.anyStarting() {
			b.warm.Store(false)
			// A server that started meanwhile found the ticker running.
			if !b.anyStarting() || !b.warm.CompareAndSwap(false, true) {
				return
			}
		}
		time.AfterFunc(time.Second, tick)
	}
	time.AfterFunc(time.Second, tick)
}

func (b *Backend) anyStarting() bool {
	for _, s := range b.Servers() {
		if s.Starting() {
			return true
		}
	}
	return false
}
