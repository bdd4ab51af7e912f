package guardrail

import (
	"context"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// A pacer on a fake clock, for an operation of rate r: sleeping advances the clock.
func fakePacer(r contract.Rate, maxGap time.Duration) (*pacer, *time.Time, *[]time.Duration) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var slept []time.Duration
	p := newPacer(r, func() time.Time { return now }, func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		now = now.Add(d)
		return nil
	}, maxGap)
	return p, &now, &slept
}

func TestPacerOfAnUnknownRateIsUnpacedUntilThrottled(t *testing.T) {
	p, now, slept := fakePacer(contract.Rate{}, 15*time.Second)
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
	p, now, _ := fakePacer(contract.Rate{}, 200*time.Millisecond)
	for range 100 {
		p.throttled()
		*now = now.Add(time.Second)
	}
	if p.Rate() != 5 {
		t.Errorf("rate %.2f, want the floor of 5/s (one call per 200 ms)", p.Rate())
	}

	// Never faster than 1 per the longest delay, unless the operation's own rate is slower.
	p, now, _ = fakePacer(contract.Rate{PerSecond: 1, Burst: 1}, 200*time.Millisecond)
	for range 100 {
		p.throttled()
		*now = now.Add(time.Second)
	}
	if r := p.Rate(); r != headroom {
		t.Errorf("rate %.2f, want ListRoots' own (1/s with headroom) as the floor", r)
	}
}

// At a documented rate the pacer keeps Organizations' own bucket with 5% headroom: the burst at
// once, then 1/rate apart, never faster, whatever the successes.
func TestPacerKeepsTheDocumentedBucket(t *testing.T) {
	p, now, slept := fakePacer(contract.Rate{PerSecond: 2.0 / headroom, Burst: 3}, 15*time.Second)
	ctx := context.Background()
	start := *now
	var starts []time.Duration
	for range 6 {
		if err := p.wait(ctx); err != nil {
			t.Fatal(err)
		}
		starts = append(starts, now.Sub(start))
		p.succeeded()
	}
	want := []time.Duration{0, 0, 0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond}
	for i := range want {
		if d := starts[i] - want[i]; d < -time.Microsecond || d > time.Microsecond {
			t.Fatalf("calls started at %v, want %v (a burst of three at once, then 2 a second)", starts, want)
		}
	}
	if r := p.Rate(); r < 1.999 || r > 2.001 {
		t.Errorf("successes raised the rate over its ceiling of 2/s: %.2f", r)
	}
	// A throttle (someone else draws on the budget) gives up the burst and cuts by 0.9.
	p.throttled()
	if r := p.Rate(); r < 1.79 || r > 1.81 {
		t.Errorf("cut to %.2f, want 1.8", r)
	}
	*slept = nil
	*now = now.Add(5 * time.Second) // rested, but still within the quiet spell
	_ = p.wait(ctx)
	_ = p.wait(ctx)
	if len(*slept) != 1 || (*slept)[0] < 550*time.Millisecond {
		t.Errorf("after a throttle, two calls slept %v: want the second a whole interval (1/1.8 s) after the first", *slept)
	}
	// Successes climb back, never above the documented rate; after a quiet spell, the burst too.
	for range 10 {
		p.succeeded()
	}
	if r := p.Rate(); r < 1.999 || r > 2.001 {
		t.Errorf("rate %.2f after ten successes, want back at its ceiling of 2/s and no more", r)
	}
	*now = now.Add(quietSpell + time.Second)
	p.succeeded()
	*slept = nil
	_ = p.wait(ctx)
	_ = p.wait(ctx)
	if len(*slept) != 0 {
		t.Errorf("after a quiet spell, two calls slept %v: the burst is back", *slept)
	}
}
