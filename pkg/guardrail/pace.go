package guardrail

import (
	"context"
	"sync"
	"time"
)

// pacer spaces the starts of Organizations calls so that they run at the rate Organizations
// accepts, which is not published and is shared with everything else calling it. Calls are not
// paced at all until Organizations throttles (most requests touch a few accounts and must not
// wait). The first throttle sets a rate just under the rate calls were being made; from then on
// it adapts like TCP's congestion control: each success raises the rate a little (additive
// increase), each throttle cuts it (multiplicative decrease, at most once per interval however
// many calls in flight saw it). After a quiet spell with no throttle, pacing stops again. So a
// long batch settles just under the limit instead of running into it and sleeping through
// backoffs.
type pacer struct {
	mu       sync.Mutex
	rate     float64 // calls per second allowed now; 0: unpaced
	next     time.Time
	lastCut  time.Time
	starts   []time.Time // the latest call starts, to size the first cut
	sleep    func(ctx context.Context, d time.Duration) error
	now      func() time.Time
	min      float64
	increase float64 // added to the rate per success
	decrease float64 // the rate is multiplied by this on a throttle
	quiet    time.Duration
}

// Pacing parameters.
const (
	minRate      = 1.0 / 60
	recentStarts = 64
	quietSpell   = 10 * time.Second
	firstCut     = 0.5
)

// newPacer paces calls never further apart than maxGap (the backoff's longest delay), reading the
// time from now and waiting with sleep.
func newPacer(now func() time.Time, sleep func(ctx context.Context, d time.Duration) error, maxGap time.Duration) *pacer {
	floor := minRate
	if maxGap > 0 {
		floor = max(floor, 1/maxGap.Seconds())
	}
	return &pacer{min: floor, increase: 0.1, decrease: 0.9, quiet: quietSpell, sleep: sleep, now: now}
}

// wait blocks until this call's turn.
func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	now := p.now()
	p.starts = append(p.starts, now)
	if len(p.starts) > recentStarts {
		p.starts = p.starts[1:]
	}
	if p.rate == 0 {
		p.mu.Unlock()
		return nil
	}
	start := p.next
	if start.Before(now) {
		start = now
	}
	p.next = start.Add(p.interval())
	p.mu.Unlock()
	if d := start.Sub(now); d > 0 {
		return p.sleep(ctx, d)
	}
	return nil
}

func (p *pacer) interval() time.Duration { return time.Duration(float64(time.Second) / p.rate) }

// succeeded raises the rate a little, or stops pacing after a quiet spell.
func (p *pacer) succeeded() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rate == 0 {
		return
	}
	if p.now().Sub(p.lastCut) > p.quiet {
		p.rate = 0
		return
	}
	p.rate += p.increase
}

// throttled cuts the rate. The parameters (first cut 0.5, then 0.9; +0.1 a success) were
// tuned with BenchmarkLiftAndRestore; see BENCHMARKS.md.
func (p *pacer) throttled() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.rate == 0 {
		// Calls were outrunning the limit by an unknown factor: halve, then creep back up.
		p.rate = max(p.min, p.recentRate(now)*firstCut)
	} else {
		if now.Sub(p.lastCut) < p.interval() {
			return
		}
		p.rate = max(p.min, p.rate*p.decrease)
	}
	p.lastCut = now
	if after := now.Add(p.interval()); after.After(p.next) {
		p.next = after
	}
}

// recentRate is the rate at which calls started over the last second.
func (p *pacer) recentRate(now time.Time) float64 {
	n, oldest := 0, now
	for _, t := range p.starts {
		if now.Sub(t) <= time.Second {
			n++
			if t.Before(oldest) {
				oldest = t
			}
		}
	}
	return float64(n) / max(now.Sub(oldest).Seconds(), 0.05)
}

// Rate is the pacer's current rate (0: unpaced), for logs.
func (p *pacer) Rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rate
}
