package harness_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/pkg/contract"
)

// Published prices (us-east-1, November 2026): Step Functions Standard $0.025 per 1,000 state
// transitions; Lambda on arm64 $0.20 per million requests and $0.0000133334 per GB-second.
const (
	pricePerTransition = 0.025 / 1000
	pricePerInvocation = 0.20 / 1e6
	pricePerGBSecond   = 0.0000133334
	lambdaGB           = 128.0 / 1024
)

// BenchmarkRequestToLifted times one account's request from the API call to the moment the
// guardrail is off (the Detach invocation has returned), through the API handler, the
// synthesized state machine run locally and the Lambda handlers. It reports p50 and p99 over the
// runs, and the share of the p50 that is rootwindow's own code (the API handler and the Lambda
// handlers, with their calls to the emulators) rather than the local state machine runner.
func BenchmarkRequestToLifted(b *testing.B) {
	ctx := context.Background()
	var total, own []time.Duration
	for b.Loop() {
		if err := h.NewLedger(ctx); err != nil {
			b.Fatal(err)
		}
		post := apiSample(b, "api-post-request.json")
		delete(post.Headers, "Idempotency-Key")
		post.Body = `{"accountIds": ["111111111111"], "hours": 1, "reason": "benchmark"}`
		start := time.Now()
		res, err := h.API().Handle(ctx, post)
		if err != nil || res.StatusCode != 202 {
			b.Fatalf("%v %d %s", err, res.StatusCode, res.Body)
		}
		apiDone := time.Now()
		id := h.AWS.Executions()[0].Name
		run, err := h.RunStarted(ctx, id)
		if err != nil || run.Status != "SUCCEEDED" {
			b.Fatalf("%v %s %s", err, run.Status, run.Cause)
		}
		var lifted time.Time
		handlers := apiDone.Sub(start)
		for _, t := range run.Timings {
			if t.Task == contract.TaskDetach && lifted.IsZero() {
				lifted = t.End
			}
			if lifted.IsZero() || !t.End.After(lifted) {
				handlers += t.End.Sub(t.Start)
			}
		}
		total = append(total, lifted.Sub(start))
		own = append(own, handlers)
	}
	slices.Sort(total)
	p := func(q float64) time.Duration { return total[min(len(total)-1, int(q*float64(len(total))))] }
	var ownSum, totalSum time.Duration
	for i := range own {
		ownSum += own[i]
		totalSum += total[i]
	}
	b.ReportMetric(float64(p(0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(100*ownSum.Seconds()/totalSum.Seconds(), "own-code-%")
	b.ReportMetric(ownSum.Seconds()*1000/float64(len(own)), "own-code-ms")
}

// BenchmarkCostPerRequest runs a whole window (validate, lift, hold, restore) for N accounts and
// reports what Step Functions and Lambda bill for it: state transitions, Lambda invocations,
// Lambda GB-seconds at 128 MB (from the handlers' local durations), and the price per request.
func BenchmarkCostPerRequest(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			var transitions, invocations int
			var busy time.Duration
			for b.Loop() {
				if err := h.NewLedger(ctx); err != nil {
					b.Fatal(err)
				}
				res, err := h.Run(ctx, fmt.Sprintf("cost-%d", n), request(h.Members()[:n], 1, nil))
				if err != nil || res.Status != "SUCCEEDED" {
					b.Fatalf("%v %s %s", err, res.Status, res.Cause)
				}
				transitions += res.Transitions()
				for _, c := range res.Invocations {
					invocations += c
				}
				for _, t := range res.Timings {
					busy += t.End.Sub(t.Start)
				}
			}
			runs := float64(b.N)
			gbs := busy.Seconds() / runs * lambdaGB
			cost := float64(transitions)/runs*pricePerTransition + float64(invocations)/runs*pricePerInvocation + gbs*pricePerGBSecond
			b.ReportMetric(float64(transitions)/runs, "transitions/op")
			b.ReportMetric(float64(invocations)/runs, "invocations/op")
			b.ReportMetric(busy.Seconds()/runs*1000, "lambda-ms/op")
			b.ReportMetric(cost*1e6, "µUSD/op")
		})
	}
}

// BenchmarkAdmission is POST /requests for N accounts (under five OUs) at Organizations'
// documented throttles, each call answered after 100 ms, in virtual time, the functions making
// their calls one at a time (in AWS they make four at once). It reports the virtual time to the
// answer, the Organizations calls made, and the least time the documented rates allow for those
// calls (orgemu.RateBound).
func BenchmarkAdmission(b *testing.B) {
	ctx := context.Background()
	atDocumentedRates(b, 100*time.Millisecond)
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			var took time.Duration
			var tally orgemu.Tally
			for b.Loop() {
				if err := h.NewLedger(ctx); err != nil {
					b.Fatal(err)
				}
				h.Clock.Advance(time.Minute) // every bucket full again
				before := len(h.Org.Calls())
				_, d := admit(ctx, b, h.Members()[:n])
				took += d
				tally.Since(h.Org, before)
			}
			b.ReportMetric(took.Seconds()/float64(b.N), "virtual-s")
			tally.Report(b, b.N)
		})
	}
}
