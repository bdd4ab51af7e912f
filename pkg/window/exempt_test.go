package window_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// Layouts of the guardrail for the exempt strategy: at the root, at an OU, on the account and at
// its OU (mixed). Members 111111111111 and 222222222222 sit in the OU, 333333333333 under the root.
func layoutEnv(t *testing.T, layout, strategy string) *env {
	t.Helper()
	org := orgemu.New(testenv.Management)
	const ou = "ou-ex01-workload"
	var ouPolicies, rootExtra, direct []string
	switch layout {
	case "root":
		rootExtra = []string{orgemu.GuardrailID}
	case "ou":
		ouPolicies = []string{orgemu.GuardrailID}
	case "mixed":
		ouPolicies, direct = []string{orgemu.GuardrailID}, []string{orgemu.GuardrailID}
	case "direct":
		direct = []string{orgemu.GuardrailID}
	}
	for _, p := range rootExtra {
		org.Attach(org.Root(), p)
	}
	org.AddOU(ou, org.Root(), append([]string{orgemu.FullAWSAccessID}, ouPolicies...)...)
	for i, id := range members {
		parent := ou
		if i == 2 {
			parent = org.Root()
			if layout == "ou" || layout == "mixed" {
				direct = []string{orgemu.GuardrailID} // the third member keeps its own copy
			}
		}
		org.AddAccount(orgemu.Account{ID: id, Parent: parent, Tags: map[string]string{"owner": "alice@example.com"}}, append([]string{orgemu.FullAWSAccessID}, direct...)...)
	}
	e := &env{testenv.NewWindows(t, db, org, t0)}
	e.With(func(d *window.Deps) { d.Config.LiftStrategy = strategy })
	return e
}

func (e *env) rootAllowed(account string, at time.Time) bool {
	return e.Org.RootAllowed(account, at, false)
}

// lift validates and lifts request id on accounts, and returns its record.
func (e *env) lift(t *testing.T, id string, accounts ...string) ledger.Record {
	t.Helper()
	w, err := e.validate(t, id, validRequest(accounts...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Steps.Detach(context.Background(), contract.DetachInput{RequestID: id, ExecutionARN: testenv.ExecutionARN(id), AccountIDs: w.AccountIDs, Hours: w.Hours}); err != nil {
		t.Fatal(err)
	}
	return e.AssertStatus(t, id, ledger.Open)
}

func TestExemptLiftsAGuardrailAttachedAnywhere(t *testing.T) {
	for _, layout := range []string{"root", "ou", "mixed"} {
		t.Run(layout, func(t *testing.T) {
			e := layoutEnv(t, layout, contract.StrategyExempt)
			before := e.Org.Snapshot()
			rec := e.lift(t, "req-1", members[0])
			if rec.Strategy != contract.StrategyExempt || rec.WindowPolicyID != "" {
				t.Errorf("strategy %q, window SCP %q", rec.Strategy, rec.WindowPolicyID)
			}
			if n := e.Org.CountCalls("AttachPolicy", "") + e.Org.CountCalls("DetachPolicy", ""); n != 0 {
				t.Errorf("%d attachments changed: the exempt strategy only rewrites the document", n)
			}
			end := rec.RestoreAt
			if !e.rootAllowed(members[0], end.Add(-time.Second)) || e.rootAllowed(members[0], end.Add(time.Second)) {
				t.Errorf("root on the requested account: before the end %v, after %v", e.rootAllowed(members[0], end.Add(-time.Second)), e.rootAllowed(members[0], end.Add(time.Second)))
			}
			for _, other := range members[1:] {
				if e.rootAllowed(other, end.Add(-time.Second)) {
					t.Errorf("root allowed on %s, in no window", other)
				}
			}
			e.Now = end
			if _, err := e.Steps.Reattach(context.Background(), contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeClose, AccountIDs: rec.AccountIDs}); err != nil {
				t.Fatal(err)
			}
			if e.rootAllowed(members[0], end.Add(-time.Second)) {
				t.Error("root still allowed after the restore")
			}
			// The document is back byte for byte, and nothing else changed.
			if after := e.Org.Snapshot(); fmt.Sprint(before) != fmt.Sprint(after) {
				t.Errorf("the organization changed:\n%v\n%v", before, after)
			}
		})
	}
}

// Two windows under one guardrail: restoring one never takes the other's exemption away.
func TestExemptWindowsShareTheGuardrail(t *testing.T) {
	e := layoutEnv(t, "ou", contract.StrategyExempt)
	a := e.lift(t, "req-a", members[0])
	e.Now = e.Now.Add(30 * time.Minute)
	b := e.lift(t, "req-b", members[1])
	if _, err := e.endEarly(t, "req-a", alice); err != nil {
		t.Fatal(err)
	}
	at := b.RestoreAt.Add(-time.Second)
	if e.rootAllowed(members[0], e.Now) || !e.rootAllowed(members[1], at) {
		t.Errorf("after ending a: root on a's account %v, on b's %v", e.rootAllowed(members[0], e.Now), e.rootAllowed(members[1], at))
	}
	if !strings.Contains(e.Org.Content(orgemu.GuardrailID), b.RestoreAt.Format("20060102T150405Z")) || strings.Contains(e.Org.Content(orgemu.GuardrailID), a.RestoreAt.Format("20060102T150405Z")) {
		t.Errorf("document:\n%s", e.Org.Content(orgemu.GuardrailID))
	}
}

// A document someone else changed is not lifted; the restore writes the render over it anyway.
func TestExemptRefusesADocumentSomeoneElseChanged(t *testing.T) {
	e := layoutEnv(t, "ou", contract.StrategyExempt)
	w, err := e.validate(t, "req-1", validRequest(members[0]))
	if err != nil {
		t.Fatal(err)
	}
	e.Org.SetContent(orgemu.GuardrailID, `{"Version":"2012-10-17","Statement":[{"Sid":"DenyRootUser","Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":["arn:aws:iam::*:root"]}}}]}`)
	_, err = e.Steps.Detach(context.Background(), contract.DetachInput{RequestID: "req-1", ExecutionARN: testenv.ExecutionARN("req-1"), AccountIDs: w.AccountIDs, Hours: w.Hours})
	var df *contract.DetachFailed
	if !errors.As(err, &df) || !strings.Contains(df.Msg, "changed since rootwindow last wrote it") {
		t.Fatalf("got %v", err)
	}
	e.AssertStatus(t, "req-1", ledger.Scheduled) // the state machine's compensation withdraws it
	if strings.Contains(e.Org.Content(orgemu.GuardrailID), members[0]) {
		t.Error("the account was exempted")
	}
	// A restore writes the ledger's render over a changed document: it exempts fewer accounts.
	if _, err := e.Steps.Reattach(context.Background(), contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeCompensate, Cause: "DetachFailed"}); err != nil {
		t.Fatal(err)
	}
	e.AssertStatus(t, "req-1", ledger.Failed)
}

func TestExemptDocumentSizeQuota(t *testing.T) {
	e := layoutEnv(t, "ou", contract.StrategyExempt)
	e.lift(t, "req-1", members[0])
	// A quota the document with one window fits, and not with two.
	e.With(func(d *window.Deps) { d.Config.SCPSizeQuota = len(e.Org.Content(orgemu.GuardrailID)) + 10 })
	_, err := e.validate(t, "req-2", validRequest(members[1]))
	var rej *contract.RequestRejected
	if !errors.As(err, &rej) || !strings.Contains(rej.Error(), fmt.Sprintf("over the SCP size quota of %d, with 1 window(s) open", e.Deps.Config.SCPSizeQuota)) {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(e.Org.Content(orgemu.GuardrailID), members[1]) {
		t.Error("the rejected request was exempted")
	}
}

// auto detaches when every account allows it, and exempts otherwise.
func TestAutoChoosesTheStrategy(t *testing.T) {
	e := layoutEnv(t, "ou", contract.StrategyAuto)
	if rec := e.lift(t, "req-1", members[2]); rec.Strategy != contract.StrategyDetach || rec.WindowPolicyID == "" {
		t.Errorf("an account with the guardrail attached to it alone: %q %q", rec.Strategy, rec.WindowPolicyID)
	}
	rec := e.lift(t, "req-2", members[0])
	if rec.Strategy != contract.StrategyExempt {
		t.Errorf("an account under the guardrail's OU: %q", rec.Strategy)
	}
	for _, a := range []string{members[0], members[2]} {
		if !e.rootAllowed(a, e.Now) {
			t.Errorf("root blocked on %s inside its window", a)
		}
	}
	if e.rootAllowed(members[1], e.Now) {
		t.Error("root allowed outside any window")
	}
}

// The sweep renders the document from the ledger: an exemption a restore left behind goes.
func TestSweepRemovesAnExemptionLeftBehind(t *testing.T) {
	e := layoutEnv(t, "ou", contract.StrategyExempt)
	e.lift(t, "req-1", members[0])
	for _, to := range []ledger.Status{ledger.Closing, ledger.Closed} { // as if the restore died after this
		if _, err := e.Store.Transition(context.Background(), "req-1", to, "x", "", ledger.Change{}); err != nil {
			t.Fatal(err)
		}
	}
	if !e.rootAllowed(members[0], e.Now) {
		t.Fatal("the test needs the exemption left in the document")
	}
	if _, err := e.Steps.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.rootAllowed(members[0], e.Now) {
		t.Error("the sweep left the exemption")
	}
}

// An exemption for an account in no window, written into the document by someone else, is drift:
// the evaluator says the document does not deny that account's root user.
func TestSweepReportsAnExemptionForAnAccountInNoWindow(t *testing.T) {
	e := layoutEnv(t, "ou", contract.StrategyExempt)
	e.lift(t, "req-1", members[0])
	e.Now = e.Now.Add(5 * time.Hour) // req-1 over and settled by the sweep
	if _, err := e.Steps.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Someone exempts the account again, its window long over (drift checks the accounts
	// rootwindow knows: those of its leases and recent requests).
	doc, err := guardrail.RenderExempt(orgemu.GuardrailContent, []guardrail.Exemption{{AccountIDs: []string{members[0]}, End: e.Now.Add(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	e.Org.SetContent(orgemu.GuardrailID, doc)
	rep, err := e.Steps.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rep.Drift, members[0]) || rep.Content == "" {
		t.Errorf("drift %v, content %q", rep.Drift, rep.Content)
	}
	if !e.rootAllowed(members[0], e.Now) {
		t.Error("the sweep overwrote a document someone else changed; it reports it")
	}
}
