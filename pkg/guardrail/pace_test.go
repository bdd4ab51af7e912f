package guardrail

import (
	"context"
	"testing"
	"time"
)

// A pacer on a fake clock: sleeping advances the clock.
func fakePacer(maxGap time.Duration) (*pacer, *time.Time, *[]time.Duration) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var slept []time.Duration
	p := newPacer(func() time.Time { return now }, func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		now = now.Add(d)
		return nil
	}, maxGap)
	return p, &now, &slept
}

func TestPacerIsUnpacedUntilThrottled(t *testing.T) {
	p, now, slept := fakePacer(15 * time.Second)
	ctx := context.Background()
	for range 20 {
		if err := p.wait(ctx); err != nil {
			t.Fatal(err)
		}
		p.succeeded()
		*now = now.Add(10 * time.Millisecond) // 100 calls a second get through
	}
	if len(*slept) != 0 || p.Rate() != 0 {
		t.Fatalf("paced before any throttle: slept %v, rate %v", *slept, p.Rate())
	}
	// The first throttle halves the rate calls were starting at (about 100/s, over the last second).
	p.throttled()
	if r := p.Rate(); r < 45 || r > 55 {
		t.Errorf("first cut to %.1f/s, want about 50", r)
	}
	// Throttles seen by calls in flight together cut once.
	r := p.Rate()
	p.throttled()
	if p.Rate() != r {
		t.Errorf("a second throttle within one interval cut again: %.2f → %.2f", r, p.Rate())
	}
	// Calls now start 1/rate apart.
	_ = p.wait(ctx)
	_ = p.wait(ctx)
	if len(*slept) != 2 || (*slept)[1] < 15*time.Millisecond {
		t.Errorf("slept %v", *slept)
	}
	// A later throttle cuts again, by 0.9.
	*now = now.Add(time.Second)
	p.throttled()
	if got := p.Rate(); got < r*0.89 || got > r*0.91 {
		t.Errorf("cut from %.2f to %.2f, want ×0.9", r, got)
	}
	// Each success adds 0.1/s; after a quiet spell with no throttle, pacing stops.
	r = p.Rate()
	p.succeeded()
	if got := p.Rate(); got < r+0.09 || got > r+0.11 {
		t.Errorf("increase from %.2f to %.2f", r, got)
	}
	*now = now.Add(quietSpell + time.Second)
	p.succeeded()
	if p.Rate() != 0 {
		t.Errorf("still paced at %.2f after a quiet spell", p.Rate())
	}
}

func TestPacerNeverSlowerThanTheBackoffsLongestDelay(t *testing.T) {
	p, now, _ := fakePacer(200 * time.Millisecond)
	for range 100 {
		p.throttled()
		*now = now.Add(time.Second)
	}
	if p.Rate() != 5 {
		t.Errorf("rate %.2f, want the floor of 5/s (one call per 200 ms)", p.Rate())
	}
}
