package harness

import (
	"sync"
	"time"
)

// Clock is the virtual clock shared by the handlers, the Organizations emulator and the state
// machine runner: it runs Factor times faster than the wall clock while an execution runs, and
// stands still otherwise (Freeze until Resume), so that starting node costs no virtual time.
type Clock struct {
	Factor float64

	mu        sync.Mutex
	baseMs    int64 // virtual time at realStart, Unix milliseconds
	realStart int64 // wall-clock Unix milliseconds
	frozen    bool
}

// ClockParams is what the runner needs to compute the same virtual time.
type ClockParams struct {
	BaseMs      int64   `json:"baseMs"`
	RealStartMs int64   `json:"realStartMs"`
	Factor      float64 `json:"factor"`
}

// NewClock returns a virtual clock frozen at the wall-clock time now: it runs only while an
// execution runs.
func NewClock(factor float64) *Clock {
	now := time.Now().UnixMilli()
	return &Clock{Factor: factor, baseMs: now, realStart: now, frozen: true}
}

func (c *Clock) nowMs() int64 {
	if c.frozen {
		return c.baseMs
	}
	return c.baseMs + int64(float64(time.Now().UnixMilli()-c.realStart)*c.Factor)
}

// Now is the virtual time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.UnixMilli(c.nowMs()).UTC()
}

// Freeze stops the clock until Resume.
func (c *Clock) Freeze() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.baseMs, c.frozen = c.nowMs(), true
}

// Resume restarts a frozen clock from where it stood and returns its parameters.
func (c *Clock) Resume() ClockParams {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		c.realStart, c.frozen = time.Now().UnixMilli(), false
	}
	return ClockParams{BaseMs: c.baseMs, RealStartMs: c.realStart, Factor: c.Factor}
}

// Real converts a virtual duration to the wall-clock time it takes.
func (c *Clock) Real(d time.Duration) time.Duration { return time.Duration(float64(d) / c.Factor) }

// Advance moves a frozen clock on by d, as time passing between executions (say, until the
// sweeper's next run finds a window over).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		c.baseMs += d.Milliseconds()
	}
}
