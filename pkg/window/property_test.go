package window_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// TestWindowsHoldOverRandomLayoutsAndStrategies is a property test of the window service with
// lift strategy auto. Random organizations put the guardrail at the root, at OUs, on accounts, or
// several of these; random disjoint windows are lifted concurrently and ended in a random order,
// some at once. At every sampled instant the root user is allowed on exactly the accounts of
// windows still open and not past their end, and blocked on every other account, by the SCP
// evaluator over the organization as it stands. Windows sharing the guardrail's document never
// lose each other's exemption.
func TestWindowsHoldOverRandomLayoutsAndStrategies(t *testing.T) {
	seeds := 20
	if testing.Short() {
		seeds = 6
	}
	for seed := range seeds {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 7))
			org, accounts := randomLayout(rng)
			e := &env{testenv.NewWindows(t, db, org, t0)}
			e.With(func(d *window.Deps) { d.Config.LiftStrategy = contract.StrategyAuto })
			ctx := context.Background()

			free := slices.Clone(accounts)
			rng.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
			var ids []string
			windows := map[string]contract.Window{}
			for len(free) > 0 && len(ids) < 4 {
				n := 1 + rng.IntN(min(3, len(free)))
				id := fmt.Sprintf("req-%d", len(ids))
				req := validRequest(free[:n]...)
				req["hours"] = 1 + rng.IntN(4)
				w, err := e.Steps.Validate(ctx, e.Started(id, testenv.Input(t, req), starter(req)))
				if err != nil {
					t.Fatalf("%s on %v: %v", id, free[:n], err)
				}
				ids, windows[id] = append(ids, id), w
				free = free[n:]
			}
			var wg sync.WaitGroup
			for _, id := range ids {
				wg.Go(func() {
					w := windows[id]
					if _, err := e.Steps.Detach(ctx, contract.DetachInput{RequestID: id, ExecutionARN: testenv.ExecutionARN(id), AccountIDs: w.AccountIDs, Hours: w.Hours}); err != nil {
						t.Errorf("lift %s: %v", id, err)
					}
				})
			}
			wg.Wait()
			ended := map[string]bool{}
			e.holds(t, accounts, ids, ended, rng)
			order := slices.Clone(ids)
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			for len(order) > 0 {
				k := 1 + rng.IntN(len(order))
				for _, id := range order[:k] {
					ended[id] = true
					wg.Go(func() {
						if _, err := e.Steps.End(ctx, id, alice); err != nil {
							t.Errorf("end %s: %v", id, err)
						}
					})
				}
				wg.Wait()
				for _, id := range order[:k] {
					if _, err := e.rescueEnded(t, id); err != nil {
						t.Errorf("end %s: %v", id, err)
					}
				}
				order = order[k:]
				e.holds(t, accounts, ids, ended, rng)
			}
		})
	}
}

// holds samples instants and checks the root user of each account against the windows.
func (e *env) holds(t *testing.T, accounts, ids []string, ended map[string]bool, rng *rand.Rand) {
	t.Helper()
	recs := map[string]ledger.Record{}
	var instants []time.Time
	for _, id := range ids {
		rec, err := e.Store.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		recs[id] = rec
		instants = append(instants, rec.RestoreAt.Add(-time.Second), rec.RestoreAt.Add(time.Second))
	}
	for range 6 {
		instants = append(instants, e.Now.Add(time.Duration(rng.IntN(5*3600))*time.Second))
	}
	for _, at := range instants {
		for _, a := range accounts {
			want := false
			for _, id := range ids {
				if !ended[id] && slices.Contains(recs[id].AccountIDs, a) && !at.After(recs[id].RestoreAt) {
					want = true
				}
			}
			if got := e.Org.RootAllowed(a, at, false); got != want {
				t.Errorf("root on %s at %s: allowed %v, want %v (strategies %v)", a, at.Format(time.RFC3339), got, want, strategies(recs))
			}
		}
	}
}

func strategies(recs map[string]ledger.Record) map[string]string {
	out := map[string]string{}
	for id, r := range recs {
		out[id] = r.Strategy
	}
	return out
}

// randomLayout is an organization of 4 to 9 accounts under up to three OUs, each account with
// the guardrail where a random layout puts it: on the account, at an OU above it, at the root,
// or on the account and above it. Every account is owned by alice.
func randomLayout(rng *rand.Rand) (*orgemu.Server, []string) {
	org := orgemu.New(testenv.Management)
	parents := []string{org.Root()}
	for i := range 1 + rng.IntN(3) {
		id := fmt.Sprintf("ou-prop-%08d", i)
		var policies []string
		if rng.IntN(3) == 0 {
			policies = []string{orgemu.GuardrailID}
		}
		org.AddOU(id, parents[rng.IntN(len(parents))], append([]string{orgemu.FullAWSAccessID}, policies...)...)
		parents = append(parents, id)
	}
	if rng.IntN(4) == 0 {
		org.Attach(org.Root(), orgemu.GuardrailID)
	}
	var accounts []string
	for i := range 4 + rng.IntN(6) {
		id := fmt.Sprintf("8000000000%02d", i)
		policies := []string{orgemu.FullAWSAccessID}
		if rng.IntN(3) > 0 {
			policies = append(policies, orgemu.GuardrailID)
		}
		org.AddAccount(orgemu.Account{ID: id, Parent: parents[rng.IntN(len(parents))], Tags: map[string]string{"owner": "alice@example.com"}}, policies...)
		if !org.RootAllowed(id, t0, false) { // an account the guardrail protects
			accounts = append(accounts, id)
		} else {
			org.Attach(id, orgemu.GuardrailID) // protect it: every account in the test starts blocked
			accounts = append(accounts, id)
		}
	}
	return org, accounts
}
