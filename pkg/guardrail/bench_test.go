package guardrail_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
)

// Organizations as the benchmark sees it: each call takes benchLatency, and beyond benchRate calls
// a second (a token bucket holding one call) it answers TooManyRequestsException.
const (
	benchRate    = 10.0
	benchLatency = 40 * time.Millisecond
)

// BenchmarkLiftAndRestore lifts the guardrail from N accounts and puts it back, against the
// emulator's rate limit. The ideal is N ÷ rate for each; x-ideal is the time taken over that.
func BenchmarkLiftAndRestore(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			members := make([]string, n)
			for i := range members {
				members[i] = fmt.Sprintf("1000000000%02d", i)
			}
			org := orgemu.Standard("999999999999", "alice@example.com", members...)
			g := guardrail.New(testenv.Organizations(b, org), orgemu.GuardrailID, guardrail.Options{})
			org.SetLatency(benchLatency)
			ctx := context.Background()
			var lift, restore time.Duration
			throttledBefore := org.CountCalls("", "TooManyRequestsException")
			for b.Loop() {
				org.SetRateLimit(benchRate, 1)
				start := time.Now()
				if _, err := g.Lift(ctx, guardrail.Window{RequestID: "bench", End: time.Now().Add(time.Hour), AccountIDs: members}); err != nil {
					b.Fatal(err)
				}
				lift += time.Since(start)
				org.SetRateLimit(benchRate, 1)
				start = time.Now()
				if err := g.Restore(ctx, guardrail.Window{RequestID: "bench", AccountIDs: members}); err != nil {
					b.Fatal(err)
				}
				restore += time.Since(start)
			}
			ideal := time.Duration(float64(n) / benchRate * float64(time.Second))
			runs := float64(b.N)
			b.ReportMetric(lift.Seconds()/runs, "lift-s")
			b.ReportMetric(restore.Seconds()/runs, "restore-s")
			b.ReportMetric(lift.Seconds()/runs/ideal.Seconds(), "lift-x-ideal")
			b.ReportMetric(restore.Seconds()/runs/ideal.Seconds(), "restore-x-ideal")
			b.ReportMetric(float64(org.CountCalls("", "TooManyRequestsException")-throttledBefore)/runs, "throttled/op")
		})
	}
}
