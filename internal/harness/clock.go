package harness

import "time"

// Clock is the virtual clock shared by the handlers, the Organizations emulator and the state
// machine runner: it starts at the wall-clock time it was made and runs Factor times faster.
type Clock struct {
	Factor    float64
	BaseMs    int64 // virtual time at RealStart, Unix milliseconds
	RealStart int64 // wall-clock Unix milliseconds
}

// NewClock starts a virtual clock at the wall-clock time now.
func NewClock(factor float64) *Clock {
	now := time.Now().UnixMilli()
	return &Clock{Factor: factor, BaseMs: now, RealStart: now}
}

// Now is the virtual time.
func (c *Clock) Now() time.Time {
	real := time.Now().UnixMilli() - c.RealStart
	return time.UnixMilli(c.BaseMs + int64(float64(real)*c.Factor)).UTC()
}

// Real converts a virtual duration to the wall-clock time it takes.
func (c *Clock) Real(d time.Duration) time.Duration { return time.Duration(float64(d) / c.Factor) }
