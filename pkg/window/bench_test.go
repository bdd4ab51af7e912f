package window_test

import (
	"context"
	"fmt"
	"testing"
	"time"

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
	const latency = 100 * time.Millisecond
	accounts := make([]string, 50)
	roots := map[string]rootemu.Root{}
	org := orgemu.New(testenv.Management)
	for i := range 5 {
		org.AddOU(fmt.Sprintf("ou-ex01-bench%03d", i), org.Root(), orgemu.FullAWSAccessID)
	}
	for i := range accounts {
		accounts[i] = fmt.Sprintf("5000000000%02d", i)
		roots[accounts[i]] = rootemu.Root{Password: i%2 == 0, MFADevices: 1}
		org.AddAccount(orgemu.Account{ID: accounts[i], Parent: fmt.Sprintf("ou-ex01-bench%03d", i%5), Tags: map[string]string{"owner": "alice@example.com"}},
			orgemu.FullAWSAccessID, orgemu.GuardrailID)
	}
	org.SetLatency(latency)
	client := testenv.Organizations(b, org)
	root := rootemu.New(roots)
	root.SetLatency(latency, nil)
	checker := testenv.RootAccess(b, root)
	for _, audit := range []bool{false, true} {
		for _, n := range []int{1, 10, 50} {
			b.Run(fmt.Sprintf("audit=%v/accounts=%d", audit, n), func(b *testing.B) {
				var took time.Duration
				var calls, bound float64
				for b.Loop() {
					e := testenv.NewWindows(b, db, org, t0)
					e.With(func(d *window.Deps) {
						d.Guardrail = guardrail.New(client, orgemu.GuardrailID, guardrail.Options{}) // paced under the documented throttles
						if audit {
							d.Root, d.Config.CentralizedRoot = checker, true
						}
					})
					org.Throttle(contract.OrganizationsRate)
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
					made := org.Calls()[before:]
					calls += float64(len(made))
					bound += orgemu.RateBound(made)
				}
				runs := float64(b.N)
				b.ReportMetric(took.Seconds()/runs, "s/admission")
				b.ReportMetric(calls/runs, "calls/op")
				b.ReportMetric(bound/runs, "bound-s")
			})
		}
	}
}
