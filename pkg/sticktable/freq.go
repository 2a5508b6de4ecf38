package sticktable

// FreqCtr is a frequency counter over a period, with haproxy 2.6's
// semantics (freq_ctr.h, freq_ctr.c): events are counted in the current
// period; the period starts at the first event and rotates when it is
// over, keeping the last period's count, which a read weighs by the share
// of it that still falls within one period before now. Times are
// millisecond ticks that wrap at 2^32, as haproxy's now_ms.
type FreqCtr struct {
	Tick uint32 // start of the current period
	Curr uint32 // events in the current period
	Prev uint32 // events in the previous period
}

// Update counts inc events at now over period (ms) and returns the
// current period's count.
func (f *FreqCtr) Update(now, period, inc uint32) uint32 {
	if now-f.Tick < period {
		f.Curr += inc
		return f.Curr
	}
	// Rotate: the current period becomes the previous one.
	f.Prev, f.Curr = f.Curr, inc
	f.Tick += period
	if now-f.Tick >= period {
		// At least two periods went by without an event.
		f.Prev = 0
		f.Tick = now
	}
	f.Tick &^= 1 // haproxy keeps the low bit as a lock: ticks are even
	return inc
}

// total is haproxy's freq_ctr_total with pend = -1: the events over the
// window ending at now, multiplied by period.
func (f *FreqCtr) total(now, period uint32) uint64 {
	curr, past := f.Curr, f.Prev
	remain := int64(int32(f.Tick + period - now))
	if remain < 0 {
		// Past the current period: it may still count as the previous.
		remain += int64(period)
		if remain >= 0 {
			past = curr
		} else {
			past = 0
		}
		curr = 0
	}
	if curr == 0 && past <= 1 {
		// Very low rates: no flapping between 0 and 1.
		return uint64(past) * uint64(period)
	}
	return uint64(past)*uint64(remain) + uint64(curr)*uint64(period)
}

// Read is the rate over period at now (read_freq_ctr_period).
func (f *FreqCtr) Read(now, period uint32) uint32 {
	if period == 0 {
		return 0
	}
	return uint32(f.total(now, period) / uint64(period))
}

// Set makes the rate read as v during the period starting now, fading
// out over the next one (the CLI's `set table ... data.X_rate V`).
func (f *FreqCtr) Set(now, v uint32) {
	f.Tick = now &^ 1
	f.Prev = 0
	f.Curr = v
}
