package window_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/rootemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// BenchmarkAdmission is the booking's admission (the Validate step: the checks, the reservation)
// for N accounts under five OUs, on the wall clock with the product's concurrency (four calls in
// flight), against Organizations throttling each operation as AWS documents and answering each
// call after 100 ms, with and without the root sign-in audit (STS and IAM answering after 100 ms
// too). It reports the time, the Organizations calls and the least time the documented
// throttles allow for them (orgemu.RateBound).
func BenchmarkAdmission(b *testing.B) {
	org, client, accounts := benchOrganization(b)
	roots := map[string]rootemu.Root{}
	for i, id := range accounts {
		roots[id] = rootemu.Root{Password: i%2 == 0, MFADevices: 1}
	}
	root := rootemu.New(roots)
	root.SetLatency(benchLatency, nil)
	checker := testenv.RootAccess(b, root)
	for _, audit := range []bool{false, true} {
		for _, n := range []int{1, 10, 50} {
			b.Run(fmt.Sprintf("audit=%v/accounts=%d", audit, n), func(b *testing.B) {
				var took time.Duration
				var tally orgemu.Tally
				for b.Loop() {
					e := benchWindows(b, org, client, func(d *window.Deps) {
						if audit {
							d.Root, d.Config.CentralizedRoot = checker, true
						}
					})
					before := len(org.Calls())
					start := time.Now()
					if _, err := e.Steps.Validate(context.Background(), e.Started("bench", testenv.Input(b, validRequest(accounts[:n]...)), starter(validRequest()))); err != nil {
						b.Fatal(err)
					}
					took += time.Since(start)
					rec, err := e.Store.Get(context.Background(), "bench")
					if err != nil || rec.Status != ledger.Scheduled || (audit && len(rec.SignIn) != n) {
						b.Fatalf("%v %s %d sign-in answers", err, rec.Status, len(rec.SignIn))
					}
					tally.Since(org, before)
				}
				b.ReportMetric(took.Seconds()/float64(b.N), "s/admission")
				tally.Report(b, b.N)
			})
		}
	}
}

// BenchmarkSteps is the Detach and Reattach steps as the product runs them (the booking's checks
// again, then the lift; the restore), for N accounts under each strategy, in the same setting as
// BenchmarkAdmission: the time, the Organizations calls, how many of those read what the step had
// read already (the same operation on the same target, successful), and the least time the
// documented throttles allow for them.
func BenchmarkSteps(b *testing.B) {
	org, client, accounts := benchOrganization(b)
	for _, strategy := range []string{contract.StrategyDetach, contract.StrategyExempt} {
		for _, n := range []int{1, 10, 50} {
			b.Run(fmt.Sprintf("strategy=%s/accounts=%d", strategy, n), func(b *testing.B) {
				var detach, reattach stepFigures
				for b.Loop() {
					e := benchWindows(b, org, client, func(d *window.Deps) { d.Config.LiftStrategy = strategy })
					ctx := context.Background()
					if _, err := e.Steps.Validate(ctx, e.Started("bench", testenv.Input(b, validRequest(accounts[:n]...)), starter(validRequest()))); err != nil {
						b.Fatal(err)
					}
					detach.measure(b, org, "Detach", func() error {
						_, err := e.Steps.Detach(ctx, testenv.Decided(b, e.Deps.Ledger, "bench"))
						return err
					})
					reattach.measure(b, org, "Reattach", func() error {
						_, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "bench", Mode: contract.ModeClose, AccountIDs: accounts[:n]})
						return err
					})
					e.AssertGuardrail(b, true, accounts[:n]...)
				}
				detach.report(b, "detach")
				reattach.report(b, "reattach")
			})
		}
	}
}

// stepFigures add up one step's runs: its time, Organizations calls, reads made again within the
// step, and the documented throttles' bound for its calls.
type stepFigures struct {
	took  time.Duration
	again float64
	orgemu.Tally
}

// measure runs step against org's buckets, full, and adds up what it took.
func (f *stepFigures) measure(b *testing.B, org *orgemu.Server, name string, step func() error) {
	org.Throttle(contract.OrganizationsRate)
	mark := len(org.Calls())
	start := time.Now()
	if err := step(); err != nil {
		b.Fatal(err)
	}
	f.took += time.Since(start)
	again := readsAgain(f.Since(org, mark))
	b.Logf("%s read again: %v", name, again)
	f.again += float64(len(again))
}

// report reports the figures per run, named prefix-….
func (f *stepFigures) report(b *testing.B, prefix string) {
	runs := float64(b.N)
	b.ReportMetric(f.took.Seconds()/runs, prefix+"-s")
	b.ReportMetric(f.Calls/runs, prefix+"-calls")
	b.ReportMetric(f.again/runs, prefix+"-rereads")
	b.ReportMetric(f.Bound/runs, prefix+"-bound-s")
}

// benchLatency is how long the emulators take to answer each call.
const benchLatency = 100 * time.Millisecond

// benchOrganization is 50 owned accounts under five OUs, the guardrail and FullAWSAccess on each,
// Organizations answering after benchLatency, and a client for it.
func benchOrganization(b *testing.B) (*orgemu.Server, *organizations.Client, []string) {
	accounts := make([]string, 50)
	org := orgemu.New(testenv.Management)
	for i := range 5 {
		org.AddOU(fmt.Sprintf("ou-ex01-bench%03d", i), org.Root(), orgemu.FullAWSAccessID)
	}
	for i := range accounts {
		accounts[i] = fmt.Sprintf("5000000000%02d", i)
		org.AddAccount(orgemu.Account{ID: accounts[i], Parent: fmt.Sprintf("ou-ex01-bench%03d", i%5), Tags: map[string]string{"owner": "alice@example.com"}},
			orgemu.FullAWSAccessID, orgemu.GuardrailID)
	}
	// Claimed by the benchmarks' deployment, as the guardrail is after a deployment's first lift
	// (which also claims it: one TagResource and one read of the root's tags more, once).
	org.SetTag(org.Root(), contract.TagGuardrailClaim+orgemu.GuardrailID, benchDeployment)
	org.SetLatency(benchLatency)
	return org, testenv.Organizations(b, org), accounts
}

// benchDeployment is the one deployment every run is, each on a fresh ledger (a stack deployed
// again keeps its name).
const benchDeployment = "999999999999/us-east-1/RootWindow"

// benchWindows is the window service over org on a fresh ledger, pacing its calls under the
// documented throttles (which org then applies, its buckets full), changed by change.
func benchWindows(b *testing.B, org *orgemu.Server, client *organizations.Client, change func(*window.Deps)) *testenv.Windows {
	e := testenv.NewWindows(b, db, org, t0)
	e.With(func(d *window.Deps) {
		d.Guardrail = guardrail.New(client, orgemu.GuardrailID, guardrail.Options{Deployment: benchDeployment})
		change(d)
	})
	org.Throttle(contract.OrganizationsRate)
	return e
}

// readsAgain lists the successful reads among calls that repeat an earlier one (the same
// operation on the same target and policy), as "op target policy".
func readsAgain(calls []orgemu.Call) []string {
	seen := map[orgemu.Call]bool{}
	var again []string
	for _, c := range calls {
		if c.Error != "" || !strings.HasPrefix(c.Op, "Describe") && !strings.HasPrefix(c.Op, "List") {
			continue
		}
		key := orgemu.Call{Op: c.Op, Target: c.Target, Policy: c.Policy}
		if seen[key] {
			again = append(again, strings.TrimSpace(c.Op+" "+c.Target+" "+c.Policy))
		}
		seen[key] = true
	}
	return again
}
