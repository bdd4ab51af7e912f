package window_test

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/window"
)

func TestZZProbeDetachCalls(t *testing.T) {
	for _, strategy := range []string{contract.StrategyDetach, contract.StrategyExempt} {
		for _, n := range []int{1, 10, 50} {
			org := orgemu.New(testenv.Management)
			const ou = "ou-ex01-workload"
			ouPol := []string{orgemu.FullAWSAccessID}
			direct := []string{orgemu.FullAWSAccessID, orgemu.GuardrailID}
			if strategy == contract.StrategyExempt {
				ouPol = append(ouPol, orgemu.GuardrailID)
				direct = []string{orgemu.FullAWSAccessID}
			}
			org.AddOU(ou, org.Root(), ouPol...)
			var accts []string
			for i := range n {
				id := fmt.Sprintf("8%011d", i)
				accts = append(accts, id)
				org.AddAccount(orgemu.Account{ID: id, Parent: ou, Tags: map[string]string{"owner": "alice@example.com"}}, direct...)
			}
			e := &env{testenv.NewWindows(t, db, org, t0)}
			e.With(func(d *window.Deps) { d.Config.LiftStrategy = strategy })
			if _, err := e.validate(t, "req-1", validRequest(accts...)); err != nil {
				t.Fatal(err)
			}
			before := len(org.Calls())
			if _, err := e.Steps.Detach(context.Background(), testenv.Decided(t, e.Deps.Ledger, "req-1")); err != nil {
				t.Fatal(err)
			}
			calls := org.Calls()[before:]
			by := map[string]int{}
			seen := map[string]int{}
			re := 0
			for _, c := range calls {
				if c.Error != "" {
					continue
				}
				by[c.Op]++
				k := c.Op + " " + c.Target + " " + c.Policy
				seen[k]++
				if seen[k] > 1 {
					re++
				}
			}
			var ops []string
			for op, k := range by {
				ops = append(ops, fmt.Sprintf("%s=%d", op, k))
			}
			sort.Strings(ops)
			t.Logf("%s n=%d total=%d repeats=%d %v", strategy, n, len(calls), re, ops)
		}
	}
}
