package window_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/request"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// Each function calls only the Organizations operations contract.OrganizationsCalls lists for it
// (what its role allows: infra/stack checks the roles against the same list). The steps run one
// after another, under each strategy, and the emulator's calls between two steps are that step's.
func TestEachFunctionCallsOnlyWhatItsRoleAllows(t *testing.T) {
	for _, strategy := range []string{contract.StrategyDetach, contract.StrategyExempt} {
		t.Run(strategy, func(t *testing.T) {
			layout := "direct"
			if strategy == contract.StrategyExempt {
				layout = "ou"
			}
			e := layoutEnv(t, layout, strategy)
			e.With(func(d *window.Deps) {
				d.Config.GuardrailSHA256 = sha(e.Org.Content(orgemu.GuardrailID))
				d.Config.StateMachineARN = testenv.StateMachineARN
			})
			ctx := context.Background()
			seen := 0
			as := func(function string, step func() error) {
				t.Helper()
				if err := step(); err != nil {
					t.Fatalf("%s: %v", function, err)
				}
				calls := e.Org.Calls()
				for _, c := range calls[seen:] {
					if !slices.Contains(contract.OrganizationsCalls[function], c.Op) {
						t.Errorf("%s calls %s, which contract.OrganizationsCalls (its role) does not list", function, c.Op)
					}
				}
				seen = len(calls)
			}
			// The API admits a request (a fresh service: DescribeOrganization is asked again).
			as("api", func() error {
				svc := window.New(e.Deps)
				req, err := request.Parse([]byte(`{"accountIds":["`+members[1]+`"],"hours":1,"reason":"x (SEC-1)","requester":"`+alice+`"}`), e.Deps.Config.RequestPolicy(e.Now))
				if err != nil {
					return err
				}
				_, _, err = svc.Admit(ctx, "api-1", testenv.ExecutionARN("api-1"), req, contract.Origin{Channel: contract.ChannelAPI, Caller: alice}, nil, window.ActorAPI)
				return err
			})
			as("validate", func() error { _, err := e.validate(t, "req-1", validRequest(members[0])); return err })
			as("detach", func() error {
				e.With(func(*window.Deps) {}) // a fresh instance
				_, err := e.Steps.Detach(ctx, testenv.Decided(t, e.Store, "req-1"))
				return err
			})
			as("api", func() error { _, err := e.Steps.End(ctx, "req-1", alice); return err })
			as("sweeper", func() error { _, err := e.rescueEnded(t, "req-1"); return err })
			as("validate", func() error { _, err := e.validate(t, "req-2", validRequest(members[0])); return err })
			as("detach", func() error { _, err := e.Steps.Detach(ctx, testenv.Decided(t, e.Store, "req-2")); return err })
			e.Now = e.Now.Add(2 * time.Hour)
			as("reattach", func() error {
				e.With(func(*window.Deps) {})
				_, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "req-2", Mode: contract.ModeClose})
				return err
			})
			as("sweeper", func() error {
				e.With(func(d *window.Deps) { d.Config.DriftScanMinutes = 5 })
				_, err := e.Steps.Sweep(ctx)
				return err
			})
			if seen == 0 {
				t.Fatal("no Organizations call recorded: the check proves nothing")
			}
		})
	}
}

// The Detach step under the detach strategy reads the guardrail's document once: the window's SCP
// is made from the document the step checked against the pin, not from a second read that could
// see another document.
func TestTheLiftReadsTheGuardrailOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.validate(t, "req-1", validRequest(members[0])); err != nil {
		t.Fatal(err)
	}
	before := len(e.Org.Calls())
	if _, err := e.Steps.Detach(ctx, testenv.Decided(t, e.Deps.Ledger, "req-1")); err != nil {
		t.Fatal(err)
	}
	reads := 0
	for _, c := range e.Org.Calls()[before:] {
		if c.Op == "DescribePolicy" && c.Policy == orgemu.GuardrailID {
			reads++
		}
	}
	if reads != 1 {
		t.Errorf("the Detach step read the guardrail's document %d times, want once", reads)
	}
	e.AssertStatus(t, "req-1", ledger.Open)
}

// A step reads the root's tags once, however many of its checks ask: the owners', where the
// account's owners come from the root's tag, and the claim on the guardrail, a tag on the root;
// and it finds the root on the way up from the account, not by ListRoots.
func TestAStepReadsTheRootsTagsOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.Org.SetTag(members[0], "owner", "")
	e.Org.SetTag(e.Org.Root(), "owner", "alice@example.com")
	rootReads := func(from int) int {
		n := 0
		for _, c := range e.Org.Calls()[from:] {
			if c.Op == "ListTagsForResource" && c.Target == e.Org.Root() {
				n++
			}
		}
		return n
	}
	before := len(e.Org.Calls())
	if _, err := e.validate(t, "req-1", validRequest(members[0])); err != nil {
		t.Fatal(err)
	}
	if n := rootReads(before); n != 1 {
		t.Errorf("the booking read the root's tags %d times, want once", n)
	}
	before = len(e.Org.Calls())
	if _, err := e.Steps.Detach(ctx, testenv.Decided(t, e.Deps.Ledger, "req-1")); err != nil {
		t.Fatal(err)
	}
	// The first lift also claims the guardrail, and reads the claim back once it is made.
	if n := rootReads(before); n != 2 || e.Org.CountCalls("TagResource", "") != 1 {
		t.Errorf("the lift read the root's tags %d times with %d claims, want twice with one", n, e.Org.CountCalls("TagResource", ""))
	}
	// The root is known from the way up from the account: no ListRoots (1 a second, shared by
	// every instance) for the claim.
	if n := e.Org.CountCalls("ListRoots", ""); n != 0 {
		t.Errorf("ListRoots called %d times; the root was seen on the way up", n)
	}
	e.AssertStatus(t, "req-1", ledger.Open)
}

// Under the exempt strategy the Detach and Reattach steps read the guardrail's document once each:
// the check and the write are one locked section (the document read under the ledger's lock is
// both what is checked and what is replaced), and the write is verified from UpdatePolicy's own
// answer, which shows the policy as updated.
func TestTheExemptStepsReadTheGuardrailOnce(t *testing.T) {
	e := layoutEnv(t, "ou", contract.StrategyExempt)
	ctx := context.Background()
	if _, err := e.validate(t, "req-1", validRequest(members[0])); err != nil {
		t.Fatal(err)
	}
	reads := func(step string, run func() error) {
		t.Helper()
		before := len(e.Org.Calls())
		if err := run(); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		n, writes := 0, 0
		for _, c := range e.Org.Calls()[before:] {
			switch {
			case c.Op == "DescribePolicy" && c.Policy == orgemu.GuardrailID:
				n++
			case c.Op == "UpdatePolicy":
				writes++
			}
		}
		if writes != 1 {
			t.Errorf("%s wrote the guardrail's document %d times, want once", step, writes)
		}
		if n != 1 {
			t.Errorf("%s read the guardrail's document %d times, want once", step, n)
		}
	}
	reads("Detach", func() error { _, err := e.Steps.Detach(ctx, testenv.Decided(t, e.Deps.Ledger, "req-1")); return err })
	e.AssertStatus(t, "req-1", ledger.Open)
	if !e.rootAllowed(members[0], e.Now) {
		t.Fatal("the Detach step did not lift the guardrail")
	}
	e.Now = e.Now.Add(2 * time.Hour)
	reads("Reattach", func() error {
		_, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeClose})
		return err
	})
	e.AssertStatus(t, "req-1", ledger.Closed)
	if e.rootAllowed(members[0], e.Now.Add(-time.Hour)) {
		t.Error("the Reattach step did not put the guardrail back")
	}
}
