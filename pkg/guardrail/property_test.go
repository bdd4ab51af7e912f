package guardrail_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
)

// TestWindowsHoldOverRandomLayouts is a property test. Over random organizations (accounts under
// random OUs, the guardrail attached directly to each, and in some layouts also to an OU above
// some of them, which the lift must refuse) and random sets of windows lifted at once, then
// restored in a random order: at every sampled instant the root user is blocked on every account
// outside its window (or whose window has ended, rootwindow or no rootwindow), and allowed on
// exactly the requested accounts inside theirs. Windows lifted and restored concurrently never
// take each other's exemption away. The decision is the SCP evaluator's (pkg/policy), over the
// organization as the emulator holds it.
func TestWindowsHoldOverRandomLayouts(t *testing.T) {
	seeds := 25
	if testing.Short() {
		seeds = 8
	}
	for seed := range seeds {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 42))
			org, accounts, liftable := randomOrganization(rng)
			g := guardrail.New(testenv.Organizations(t, org), orgemu.GuardrailID, guardrail.Options{Backoff: fast, Concurrency: 3, Rates: guardrail.Unpaced})
			ctx := context.Background()
			now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

			// The liftable accounts, dealt into disjoint windows (a lease holds each account once).
			rng.Shuffle(len(liftable), func(i, j int) { liftable[i], liftable[j] = liftable[j], liftable[i] })
			var windows []guardrail.Window
			for len(liftable) > 0 && len(windows) < 4 {
				n := 1 + rng.IntN(len(liftable))
				end := now.Add(time.Duration(1+rng.IntN(4)) * time.Hour).Add(time.Duration(rng.IntN(60)) * time.Minute)
				windows = append(windows, guardrail.Window{RequestID: fmt.Sprintf("w%d", len(windows)), End: end, AccountIDs: liftable[:n]})
				liftable = liftable[n:]
			}
			// Refused accounts are never lifted: a report's problem is checked as Validate checks it.
			reports, err := g.Inspect(ctx, accounts)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range windows {
				for _, a := range w.AccountIDs {
					if p := g.Problem(reports[a]); p != "" {
						t.Fatalf("a liftable account is refused: %s %s", a, p)
					}
				}
			}

			var wg sync.WaitGroup
			for i := range windows {
				wg.Go(func() {
					id, err := g.Lift(ctx, windows[i])
					if err != nil {
						t.Error(err)
					}
					windows[i].PolicyID = id
				})
			}
			wg.Wait()
			check(t, org, accounts, windows, nil, now, rng)

			// Restore in a random order, some at once; after each round the rest still hold.
			order := rng.Perm(len(windows))
			restored := map[int]bool{}
			for len(order) > 0 {
				k := 1 + rng.IntN(len(order))
				for _, i := range order[:k] {
					wg.Go(func() {
						if err := g.Restore(ctx, windows[i]); err != nil {
							t.Error(err)
						}
					})
					restored[i] = true
				}
				wg.Wait()
				order = order[k:]
				check(t, org, accounts, windows, restored, now, rng)
			}
			if n := len(org.Policies()); n != 2 {
				t.Errorf("%d policies left, want the guardrail and FullAWSAccess", n)
			}
		})
	}
}

// randomOrganization builds accounts under one to three OUs nested up to three deep, the guardrail
// on each account; in some layouts also on one OU, whose accounts are then not liftable.
func randomOrganization(rng *rand.Rand) (*orgemu.Server, []string, []string) {
	org := orgemu.New(mgmt)
	parents := []string{org.Root()}
	for i := range 1 + rng.IntN(3) {
		id := fmt.Sprintf("ou-rand-%08d", i)
		org.AddOU(id, parents[rng.IntN(len(parents))], orgemu.FullAWSAccessID)
		parents = append(parents, id)
	}
	guarded := ""
	if rng.IntN(3) == 0 && len(parents) > 1 {
		guarded = parents[1+rng.IntN(len(parents)-1)]
		org.Attach(guarded, orgemu.GuardrailID)
	}
	var accounts, liftable []string
	for i := range 4 + rng.IntN(8) {
		id := fmt.Sprintf("7000000000%02d", i)
		parent := parents[rng.IntN(len(parents))]
		org.AddAccount(orgemu.Account{ID: id, Parent: parent}, orgemu.FullAWSAccessID, orgemu.GuardrailID)
		accounts = append(accounts, id)
		if !under(org, parent, guarded) {
			liftable = append(liftable, id)
		}
	}
	return org, accounts, liftable
}

// under reports whether target is ou or below it.
func under(org *orgemu.Server, target, ou string) bool {
	if ou == "" {
		return false
	}
	for _, p := range org.Path(target) {
		if p == ou {
			return true
		}
	}
	return false
}

// check samples instants from now to after the last end: the root user is allowed on an account
// exactly when it is in a window not restored whose end has not passed.
func check(t *testing.T, org *orgemu.Server, accounts []string, windows []guardrail.Window, restored map[int]bool, now time.Time, rng *rand.Rand) {
	t.Helper()
	instants := []time.Time{now}
	for _, w := range windows {
		instants = append(instants, w.End, w.End.Add(time.Second), w.End.Add(-time.Second))
	}
	for range 10 {
		instants = append(instants, now.Add(time.Duration(rng.IntN(6*3600))*time.Second))
	}
	for _, at := range instants {
		for _, a := range accounts {
			want := false
			for i, w := range windows {
				for _, x := range w.AccountIDs {
					if x == a && !restored[i] && !at.After(w.End) {
						want = true
					}
				}
			}
			if got := org.RootAllowed(a, at, false); got != want {
				t.Errorf("root on %s at %s: allowed %v, want %v", a, at.Format(time.RFC3339), got, want)
			}
		}
	}
}
