package guardrail

import (
	"context"
	"sync"
	"time"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// pacer spaces the starts of one Organizations operation's calls under its throttle. AWS
// documents the throttle of most operations this package calls (contract.OrganizationsRates): a
// token bucket per operation and account. The pacer keeps the same bucket on the caller's side
// (a generic cell rate algorithm), a little slower than AWS's (headroom, for the network's
// jitter): calls start at once while the burst lasts, then 1/rate apart; so a batch alone does
// not run into the limit, and a request of a few calls never waits.
//
// The budget is shared with whatever else calls Organizations from the account (Control Tower's
// scans, other tools), so a throttle means someone else is drawing on it: the pacer gives up
// its burst and adapts like TCP's congestion control, each throttle cutting the rate by 0.9 (at
// most once per interval, however many calls in flight saw it) and each success adding 0.1 a
// second, never above its own ceiling. After a quiet spell with no throttle, the ceiling and the
// burst come back. An operation with no known rate (Options.Rates answering zero) is not paced
// until it is throttled, and the first throttle halves the rate its calls were starting at.
type pacer struct {
	mu       sync.Mutex
	ceiling  float64 // the documented rate with headroom; 0: unknown
	burst    int     // calls that may start ahead of their turn at the ceiling (the burst less one)
	rate     float64 // calls per second allowed now; 0: unpaced
	slack    int     // calls that may start ahead of their turn now
	due      time.Time
	lastCut  time.Time
	starts   []time.Time // the latest call starts, to size the first cut of an unknown rate
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
	headroom     = 0.95 // of the documented rate: a call that arrives a little early still finds a token
)

// newPacer paces calls under r (unpaced until throttled when r.PerSecond is 0), never further
// apart than maxGap (the backoff's longest delay) unless r is slower, reading the time from now
// and waiting with sleep.
func newPacer(r contract.Rate, now func() time.Time, sleep func(ctx context.Context, d time.Duration) error, maxGap time.Duration) *pacer {
	floor := minRate
	if maxGap > 0 {
		floor = max(floor, 1/maxGap.Seconds())
	}
	p := &pacer{ceiling: r.PerSecond * headroom, min: floor, increase: 0.1, decrease: 0.9, quiet: quietSpell, sleep: sleep, now: now}
	if p.ceiling > 0 {
		p.min = min(p.min, p.ceiling)
		p.burst = max(0, r.Burst-1) // the first call is on its turn; the others ahead of theirs
		p.rate, p.slack = p.ceiling, p.burst
	}
	return p
}

// wait blocks until this call's turn.
func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	now := p.now()
	if p.ceiling == 0 {
		p.starts = append(p.starts, now)
		if len(p.starts) > recentStarts {
			p.starts = p.starts[1:]
		}
	}
	if p.rate == 0 {
		p.mu.Unlock()
		return nil
	}
	interval := p.interval()
	due := p.due
	if due.Before(now) {
		due = now
	}
	start := due.Add(-time.Duration(p.slack) * interval)
	if start.Before(now) {
		start = now
	}
	p.due = due.Add(interval)
	p.mu.Unlock()
	if d := start.Sub(now); d > 0 {
		return p.sleep(ctx, d)
	}
	return nil
}

func (p *pacer) interval() time.Duration { return time.Duration(float64(time.Second) / p.rate) }

// succeeded raises the rate a little, or after a quiet spell goes back to the documented rate
// and its burst (or to no pacing, for an unknown rate).
func (p *pacer) succeeded() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rate == 0 {
		return
	}
	if p.now().Sub(p.lastCut) > p.quiet {
		p.rate, p.slack = p.ceiling, p.burst
		return
	}
	p.rate += p.increase
	if p.ceiling > 0 {
		p.rate = min(p.rate, p.ceiling)
	}
}

// throttled cuts the rate. The parameters (first cut 0.5 of an unknown rate, then 0.9; +0.1 a
// success) were tuned with BenchmarkLiftAndRestore; see BENCHMARKS.md.
func (p *pacer) throttled() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	switch {
	case p.rate == 0:
		// Calls were outrunning an unknown limit by an unknown factor: halve, then creep back up.
		p.rate = max(p.min, p.recentRate(now)*firstCut)
	case now.Sub(p.lastCut) < p.interval():
		return
	default:
		p.rate = max(p.min, p.rate*p.decrease)
	}
	p.slack = 0
	p.lastCut = now
	if after := now.Add(p.interval()); after.After(p.due) {
		p.due = after
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
