package guardrail_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
)

// Organizations as the benchmarks see it: each call takes benchLatency, and each operation is
// throttled as AWS documents (contract.OrganizationsRates: a token bucket per operation, full
// at the start of each lift and each restore).
const benchLatency = 40 * time.Millisecond

// BenchmarkExemptWrites is the Organizations part of the exempt strategy for N accounts, against
// the same emulated Organizations: the lift reads the document, writes the render with the
// window's exemption (one UpdatePolicy whatever N) and reads it back; the restore writes the base
// back the same way. (The window service adds the ledger's lock and reads, and, like the detach
// strategy, the booking's checks again before the lift.)
func BenchmarkExemptWrites(b *testing.B) {
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
			before := org.Calls()
			for b.Loop() {
				org.Throttle(contract.OrganizationsRate)
				start := time.Now()
				c, err := g.Content(ctx)
				if err != nil {
					b.Fatal(err)
				}
				doc, err := guardrail.RenderExempt(c.Text, []guardrail.Exemption{{AccountIDs: members, End: time.Now().Add(time.Hour)}})
				if err != nil {
					b.Fatal(err)
				}
				if err := g.WriteDocument(ctx, doc); err != nil {
					b.Fatal(err)
				}
				lift += time.Since(start)
				org.Throttle(contract.OrganizationsRate)
				start = time.Now()
				if err := g.WriteDocument(ctx, orgemu.GuardrailContent); err != nil {
					b.Fatal(err)
				}
				restore += time.Since(start)
			}
			calls := org.Calls()[len(before):]
			writes, throttled := 0, 0
			for _, c := range calls {
				switch {
				case c.Error == "TooManyRequestsException":
					throttled++
				case c.Error == "" && c.Op == "UpdatePolicy":
					writes++
				}
			}
			runs := float64(b.N)
			b.ReportMetric(lift.Seconds()/runs, "lift-s")
			b.ReportMetric(restore.Seconds()/runs, "restore-s")
			b.ReportMetric(float64(writes)/runs, "writes/op")
			b.ReportMetric(float64(throttled)/runs, "throttled/op")
		})
	}
}

// BenchmarkLiftAndRestore lifts the guardrail from N accounts and puts it back, against
// Organizations' documented throttles, two ways in the same run: with the package's own pacer and retries
// (pacer), and with the SDK's adaptive retry mode doing the retrying and the client-side rate
// limiting instead (sdk-adaptive: the package's own retry loop left one attempt, so that its pacer
// never sees a throttle). A lift makes 2N+1 writes (CreatePolicy, then per account AttachPolicy
// of the window's SCP and DetachPolicy of the guardrail) and two reads; a restore 2N+1 writes
// (the guardrail back, the window's SCP off, DeletePolicy) and one read. The bound is orgemu.RateBound
// of the calls that succeeded; x-bound is the time taken over it.
func BenchmarkLiftAndRestore(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		for _, mode := range []string{"pacer", "sdk-adaptive"} {
			b.Run(fmt.Sprintf("accounts=%d/%s", n, mode), func(b *testing.B) {
				members := make([]string, n)
				for i := range members {
					members[i] = fmt.Sprintf("1000000000%02d", i)
				}
				org := orgemu.Standard("999999999999", "alice@example.com", members...)
				g := benchGuardrail(b, org, mode)
				org.SetLatency(benchLatency)
				ctx := context.Background()
				var lift, restore time.Duration
				var liftBound, restoreBound float64
				before := org.Calls()
				for b.Loop() {
					org.Throttle(contract.OrganizationsRate)
					mark := len(org.Calls())
					start := time.Now()
					if _, err := g.Lift(ctx, guardrail.Window{RequestID: "bench", End: time.Now().Add(time.Hour), AccountIDs: members}); err != nil {
						b.Fatal(err)
					}
					lift += time.Since(start)
					liftBound += orgemu.RateBound(org.Calls()[mark:])
					org.Throttle(contract.OrganizationsRate)
					mark = len(org.Calls())
					start = time.Now()
					if err := g.Restore(ctx, guardrail.Window{RequestID: "bench", AccountIDs: members}); err != nil {
						b.Fatal(err)
					}
					restore += time.Since(start)
					restoreBound += orgemu.RateBound(org.Calls()[mark:])
				}
				calls := org.Calls()[len(before):]
				writes, throttled := 0, 0
				for _, c := range calls {
					switch {
					case c.Error == "TooManyRequestsException":
						throttled++
					case c.Error == "" && (c.Op == "AttachPolicy" || c.Op == "DetachPolicy" || c.Op == "CreatePolicy" || c.Op == "DeletePolicy"):
						writes++
					}
				}
				runs := float64(b.N)
				b.ReportMetric(lift.Seconds()/runs, "lift-s")
				b.ReportMetric(restore.Seconds()/runs, "restore-s")
				b.ReportMetric(liftBound/runs, "lift-bound-s")
				b.ReportMetric(restoreBound/runs, "restore-bound-s")
				b.ReportMetric(lift.Seconds()/max(liftBound, 1e-9), "lift-x-bound")
				b.ReportMetric(restore.Seconds()/max(restoreBound, 1e-9), "restore-x-bound")
				b.ReportMetric(float64(writes)/runs, "writes/op")
				b.ReportMetric(float64(throttled)/runs, "throttled/op")
			})
		}
	}
}

// benchGuardrail is the Guardrail under test: the package's pacer and retries, or the SDK's
// adaptive retry mode (a client-side token bucket that slows on throttles) with a retry budget
// as large as the package's own.
func benchGuardrail(b *testing.B, org *orgemu.Server, mode string) *guardrail.Guardrail {
	if mode == "pacer" {
		return guardrail.New(testenv.Organizations(b, org), orgemu.GuardrailID, guardrail.Options{})
	}
	url := org.Start()
	b.Cleanup(org.Close)
	client := organizations.NewFromConfig(testenv.AWSConfig(), func(o *organizations.Options) {
		o.BaseEndpoint = aws.String(url)
		o.Retryer = retry.NewAdaptiveMode(func(ao *retry.AdaptiveModeOptions) {
			ao.StandardOptions = append(ao.StandardOptions, func(so *retry.StandardOptions) {
				so.MaxAttempts = 30
				so.MaxBackoff = guardrail.DefaultBackoff.Max
				so.RateLimiter = ratelimit.None // no retry quota: the package has none either
			})
		})
	})
	// The package neither retries nor paces: the SDK's mode does both.
	return guardrail.New(client, orgemu.GuardrailID, guardrail.Options{Backoff: guardrail.Backoff{Attempts: 1, Base: time.Millisecond, Max: guardrail.DefaultBackoff.Max}, Rates: guardrail.Unpaced})
}
