package window_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// alice signed in again under another permission set: the same person.
const aliceAgain = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_other/alice@example.com"

// approvalEnv is an environment where every request needs a second administrator within an hour.
func approvalEnv(t *testing.T) *env {
	e := newEnv(t)
	e.With(func(d *window.Deps) { d.Config.Approval, d.Config.ApprovalMinutes = config.ApprovalSecondAdmin, 60 })
	return e
}

// waitForApproval validates id and enters the "Wait for approval" state with a token.
func (e *env) waitForApproval(t *testing.T, id string, accounts ...string) (contract.Window, string) {
	t.Helper()
	w, err := e.validate(t, id, validRequest(accounts...))
	if err != nil {
		t.Fatal(err)
	}
	token := "token-" + id
	e.Emu.WaitTask(token)
	if _, err := e.Steps.Validate(context.Background(), contract.ValidateInput{Execution: id, ExecutionARN: testenv.ExecutionARN(id), ApprovalToken: token}); err != nil {
		t.Fatal(err)
	}
	return w, token
}

func (e *env) outcome(t *testing.T, token string) awsemu.TaskOutcome {
	t.Helper()
	o, ok := e.Emu.Task(token)
	if !ok {
		t.Fatalf("no task %s", token)
	}
	return o
}

func (e *env) notified(kind string) int {
	n := 0
	for _, ev := range e.Emu.Events() {
		if ev.DetailType == "Root Access Window "+kind {
			n++
		}
	}
	return n
}

// A second administrator approves: the decision reaches the waiting execution, and the lift goes
// ahead only with the approver the record and the execution agree on.
func TestApprovalByASecondAdministrator(t *testing.T) {
	ctx := context.Background()
	e := approvalEnv(t)
	w, token := e.waitForApproval(t, "req-1", members[0])
	if !w.NeedsApproval || w.Approval.ApprovedBy != "" {
		t.Fatalf("window %+v", w)
	}
	rec := e.AssertStatus(t, "req-1", ledger.Scheduled)
	if !strings.HasSuffix(rec.ExecutionARN, ":execution:"+strings.Split(testenv.StateMachineARN, ":stateMachine:")[1]+":req-1") {
		t.Errorf("execution ARN %q", rec.ExecutionARN)
	}
	if !rec.ApproveBy.Equal(t0.Add(time.Hour)) || rec.ApprovalToken != token || e.notified("Approval Requested") != 1 {
		t.Fatalf("record %+v, %d approval requests", rec, e.notified("Approval Requested"))
	}

	// Nobody lifts it without the approval: not the execution, not with a forged approver.
	var failed *contract.DetachFailed
	if _, err := e.Steps.Detach(ctx, contract.DetachInput{RequestID: "req-1", ExecutionARN: testenv.ExecutionARN("req-1"), AccountIDs: w.AccountIDs, Hours: w.Hours, NeedsApproval: true}); !errors.As(err, &failed) {
		t.Errorf("a lift before the approval: %v", err)
	}
	var notRequester *window.NotRequesterError
	for _, who := range []string{alice, aliceAgain, "arn:aws:iam::999999999999:user/mallory"} {
		if _, err := e.Steps.Decide(ctx, "req-1", who, true, ""); !errors.As(err, &notRequester) {
			t.Errorf("%s approved: %v", who, err)
		}
	}
	if o := e.outcome(t, token); o.Status != "WAITING" || e.Writes() != 0 {
		t.Fatalf("refused approvals reached the execution: %+v", o)
	}

	rec, err := e.Steps.Decide(ctx, "req-1", bob, true, "checked SEC-1234")
	if err != nil || rec.ApprovedBy != bob {
		t.Fatalf("approve: %+v %v", rec, err)
	}
	o := e.outcome(t, token)
	var got contract.Approval
	if o.Status != "SUCCEEDED" || json.Unmarshal(o.Output, &got) != nil || got.ApprovedBy != bob || got.ApprovedAt != "2026-11-23T10:00:00Z" {
		t.Fatalf("the execution got %+v", o)
	}
	if e.notified("Approved") != 1 {
		t.Error("the approval was not announced")
	}
	if _, err := e.Steps.Detach(ctx, contract.DetachInput{RequestID: "req-1", ExecutionARN: testenv.ExecutionARN("req-1"), AccountIDs: w.AccountIDs, Hours: w.Hours, NeedsApproval: true, ApprovedBy: "someone else"}); !errors.As(err, &failed) {
		t.Errorf("a lift with another approver than the record's: %v", err)
	}
	if _, err := e.Steps.Detach(ctx, contract.DetachInput{RequestID: "req-1", ExecutionARN: testenv.ExecutionARN("req-1"), AccountIDs: w.AccountIDs, Hours: w.Hours, NeedsApproval: true, ApprovedBy: bob}); err != nil {
		t.Fatal(err)
	}
	e.AssertStatus(t, "req-1", ledger.Open)
	e.AssertGuardrail(t, false, members[0])
	// Approving again, after the execution went on with the approval, answers as the first time
	// did: the approval stands (not "no longer waits: nothing was lifted").
	if again, err := e.Steps.Decide(ctx, "req-1", bob, true, ""); err != nil || again.ApprovedBy != bob {
		t.Errorf("approving again after the lift: %v", err)
	}
	if _, err := e.Steps.Decide(ctx, "req-1", "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_abc/carol@example.com", false, ""); err == nil {
		t.Error("a decision after the lift was accepted")
	}
}

// A denial or the deadline ends the request with nothing lifted and its accounts released.
func TestApprovalDeniedOrTimedOutLiftsNothing(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name, cause, note string
	}{
		{"denied", contract.ErrApprovalDenied, "denied by " + bob + ": no change ticket; nothing was lifted"},
		{"timed out", contract.ErrTimeout, "not approved by 2026-11-23T11:00:00Z: nothing was lifted"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := approvalEnv(t)
			before := e.Org.Snapshot()
			_, token := e.waitForApproval(t, "req-1", members[0], members[1])
			if tt.cause == contract.ErrApprovalDenied {
				if _, err := e.Steps.Decide(ctx, "req-1", bob, false, "no change ticket"); err != nil {
					t.Fatal(err)
				}
				if o := e.outcome(t, token); o.Status != "FAILED" || o.Error != contract.ErrApprovalDenied || !strings.Contains(o.Cause, bob) {
					t.Fatalf("the execution got %+v", o)
				}
			} else {
				e.Now = t0.Add(time.Hour)
				if _, err := e.Steps.Decide(ctx, "req-1", bob, true, ""); err == nil || !strings.Contains(err.Error(), "ran out") {
					t.Fatalf("an approval after the deadline: %v", err)
				}
			}
			// The execution's Catch: the compensation.
			if _, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeCompensate, Cause: tt.cause}); err != nil {
				t.Fatal(err)
			}
			rec := e.AssertStatus(t, "req-1", ledger.Failed)
			if last := rec.History[len(rec.History)-1]; last.Note != tt.note || rec.LastError != tt.note {
				t.Errorf("history %q, lastError %q", last.Note, rec.LastError)
			}
			if leases, _ := e.Store.AllLeases(ctx); len(leases) != 0 {
				t.Errorf("leases kept: %v", leases)
			}
			if e.Org.CountCalls("DetachPolicy", "") != 0 || !equalSnapshots(before, e.Org.Snapshot()) {
				t.Error("something was lifted")
			}
			if e.notified("Failed") != 1 {
				t.Error("the end was not announced")
			}
		})
	}
}

// An approver quicker than the execution: the decision is recorded, and sent when the execution
// asks.
func TestApprovalBeforeTheExecutionAsks(t *testing.T) {
	ctx := context.Background()
	e := approvalEnv(t)
	if _, err := e.validate(t, "req-1", validRequest(members[0])); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Steps.Decide(ctx, "req-1", bob, true, ""); err != nil {
		t.Fatal(err)
	}
	e.Emu.WaitTask("late-token")
	if _, err := e.Steps.Validate(ctx, contract.ValidateInput{Execution: "req-1", ExecutionARN: testenv.ExecutionARN("req-1"), ApprovalToken: "late-token"}); err != nil {
		t.Fatal(err)
	}
	if o := e.outcome(t, "late-token"); o.Status != "SUCCEEDED" {
		t.Errorf("the execution got %+v", o)
	}
}

// Only the doors and accounts configured need an approval; other requests go ahead as before.
func TestApprovalOnlyWhereConfigured(t *testing.T) {
	e := approvalEnv(t)
	e.With(func(d *window.Deps) { d.Config.ApprovalChannels = []string{contract.ChannelAPI} })
	if w, err := e.validate(t, "req-console", validRequest(members[0])); err != nil || w.NeedsApproval {
		t.Errorf("a console request: %+v %v", w, err)
	}
	if _, err := e.Steps.Decide(context.Background(), "req-console", bob, true, ""); err == nil || !strings.Contains(err.Error(), "does not wait for an approval") {
		t.Errorf("deciding a request that needs no approval: %v", err)
	}
	if _, err := e.Steps.Cancel(context.Background(), "req-console", alice); err != nil {
		t.Fatal(err)
	}
	e.With(func(d *window.Deps) { d.Config.ApprovalChannels = nil })
	e.With(func(d *window.Deps) { d.Config.ApprovalScope = []string{members[2]} })
	if w, err := e.validate(t, "req-other", validRequest(members[1])); err != nil || w.NeedsApproval {
		t.Errorf("an account out of scope: %+v %v", w, err)
	}
	if w, err := e.validate(t, "req-scoped", validRequest(members[2])); err != nil || !w.NeedsApproval {
		t.Errorf("an account in scope: %+v %v", w, err)
	}
	e.With(func(d *window.Deps) { d.Config.ApprovalScope = []string{e.Org.Root()} })
	if w, err := e.validate(t, "req-root", validRequest(members[0])); err != nil || !w.NeedsApproval {
		t.Errorf("an account under the root listed: %+v %v", w, err)
	}
}

func equalSnapshots(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// A denial or nobody approving in time is the design working: the safety net does not count it
// as an unexpected failure (the ExecutionsFailed alarm); a timeout elsewhere still is one.
func TestApprovalFailuresDoNotAlarm(t *testing.T) {
	ctx := context.Background()
	denied, timeout, other := contract.ErrApprovalDenied, contract.ErrTimeout, "Lambda.Unknown"
	for _, tt := range []struct {
		name     string
		approval bool
		errName  *string
		alarms   bool
	}{
		{"denied", true, &denied, false},
		{"nobody approved", true, &timeout, false},
		{"a timeout without an approval to wait for", false, &timeout, true},
		{"another error", true, &other, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.approval {
				e.With(func(d *window.Deps) { d.Config.Approval, d.Config.ApprovalMinutes = config.ApprovalSecondAdmin, 60 })
			}
			if _, err := e.validate(t, "req-1", validRequest(members[0])); err != nil {
				t.Fatal(err)
			}
			var metrics strings.Builder
			e.With(func(d *window.Deps) { d.Metrics = &metrics })
			if _, err := e.Steps.SafetyNet(ctx, e.statusChange(t, "req-1", "FAILED", tt.errName)); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(metrics.String(), contract.MetricUnexpectedFailure); got != tt.alarms {
				t.Errorf("counted as unexpected: %v (metrics %q)", got, metrics.String())
			}
			e.AssertStatus(t, "req-1", ledger.Failed)
		})
	}
}

// With approverPrincipals, the approvers are those principals: an administrator who is not one
// may not decide, an approver who is not an administrator may (and may not ask for windows).
func TestApproversOfTheirOwn(t *testing.T) {
	ctx := context.Background()
	e := approvalEnv(t)
	const security = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_SecurityApprover_abc/sec@example.com"
	e.With(func(d *window.Deps) {
		d.Config.ApproverPrincipals = []string{"arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_SecurityApprover_*/*"}
	})
	w, _ := e.waitForApproval(t, "req-1", members[0])
	var notApprover *window.NotRequesterError
	if _, err := e.Steps.Decide(ctx, "req-1", bob, true, ""); !errors.As(err, &notApprover) || !strings.Contains(err.Error(), "is not an approver") {
		t.Errorf("an administrator who is not an approver: %v", err)
	}
	rec, err := e.Steps.Decide(ctx, "req-1", security, true, "checked")
	if err != nil || rec.ApprovedBy != security {
		t.Fatalf("the approver: %+v %v", rec, err)
	}
	if _, err := e.Steps.Detach(ctx, contract.DetachInput{RequestID: "req-1", ExecutionARN: testenv.ExecutionARN("req-1"), AccountIDs: w.AccountIDs, Hours: w.Hours, NeedsApproval: true, ApprovedBy: security}); err != nil {
		t.Fatal(err)
	}
	e.AssertStatus(t, "req-1", ledger.Open)
	// An approver is not an administrator: asking for a window is refused.
	_, err = e.validate(t, "req-2", map[string]any{"accountIds": []string{members[1]}, "hours": 1, "reason": "x (SEC-2)", "requester": security})
	if got := strings.Join(rejection(t, err), "\n"); !strings.Contains(got, "is not an administrator") {
		t.Errorf("an approver asking: %s", got)
	}
}

// The four-eyes rule holds across the forms one person can take: an IAM user cannot approve the
// window its owner asked for as an Identity Center user, and one session of a role whose session
// name the caller chooses cannot approve another's (the role is one principal). Nothing reaches
// the waiting execution and nothing is lifted; a second person still can approve.
func TestSelfApprovalAcrossIdentities(t *testing.T) {
	ctx := context.Background()
	const (
		aliceUser = "arn:aws:iam::999999999999:user/alice"
		opsOne    = "arn:aws:sts::999999999999:assumed-role/Ops/ticket-1"
		opsTwo    = "arn:aws:sts::999999999999:assumed-role/Ops/bob@example.com"
	)
	e := approvalEnv(t)
	e.With(func(d *window.Deps) {
		d.Config.AdminPrincipals = append(d.Config.AdminPrincipals, "arn:aws:iam::999999999999:user/*", "arn:aws:sts::999999999999:assumed-role/Ops/*")
	})
	_, token := e.waitForApproval(t, "req-1", members[0])
	var yours *window.NotRequesterError
	if _, err := e.Steps.Decide(ctx, "req-1", aliceUser, true, ""); !errors.As(err, &yours) || !strings.Contains(err.Error(), "is yours") {
		t.Errorf("the IAM user alice approved the Identity Center user alice@example.com's request: %v", err)
	}
	if o := e.outcome(t, token); o.Status != "WAITING" {
		t.Errorf("a refused approval reached the execution: %+v", o)
	}

	// A role's sessions own an account by the role's ARN, and are one principal.
	e.Org.SetTag(members[1], "owner", "arn:aws:iam::999999999999:role/Ops")
	req := validRequest(members[1])
	req["requester"] = opsOne
	if _, err := e.validate(t, "req-2", req); err != nil {
		t.Fatal(err)
	}
	token2 := "token-req-2"
	e.Emu.WaitTask(token2)
	if _, err := e.Steps.Validate(ctx, contract.ValidateInput{Execution: "req-2", ExecutionARN: testenv.ExecutionARN("req-2"), ApprovalToken: token2}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Steps.Decide(ctx, "req-2", opsTwo, true, ""); !errors.As(err, &yours) {
		t.Errorf("another session of the requester's role approved: %v", err)
	}
	if o := e.outcome(t, token2); o.Status != "WAITING" || e.Writes() != 0 {
		t.Errorf("a refused approval reached the execution or the organization: %+v", o)
	}
	e.AssertGuardrail(t, true, members[0], members[1])
	// Another person may.
	if rec, err := e.Steps.Decide(ctx, "req-2", bob, true, "checked"); err != nil || rec.ApprovedBy != bob {
		t.Fatalf("a second person: %+v %v", rec, err)
	}
}

// With identityStoreId set, the four-eyes rule knows an Identity Center user by the user ID the
// identity store gives, not only by names: a requester whose user name an administrator changed
// after the booking cannot approve or review the request under the new name (the names share
// nothing), and nothing reaches the execution; while the identity store cannot say who the
// approver is, the decision waits; another person still can approve.
func TestSelfApprovalUnderANewUserName(t *testing.T) {
	ctx := context.Background()
	const renamed = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_abc/a.smith@corp.example.net"
	e := approvalEnv(t)
	e.withGroups()
	aliceID := e.Emu.AddUser(identityStore, "alice@example.com")
	e.Emu.AddUser(identityStore, "bob@example.com")
	_, token := e.waitForApproval(t, "req-1", members[0])
	rec, err := e.Store.Get(ctx, "req-1")
	if err != nil || rec.RequesterUserID != aliceID {
		t.Fatalf("the requester's user ID: %q (want %q), %v", rec.RequesterUserID, aliceID, err)
	}
	e.Emu.RenameUser(identityStore, "alice@example.com", "a.smith@corp.example.net")
	var yours *window.NotRequesterError
	if _, err := e.Steps.Decide(ctx, "req-1", renamed, true, "lgtm"); !errors.As(err, &yours) || !strings.Contains(err.Error(), "is yours") {
		t.Errorf("the requester approved under her new user name: %v", err)
	}
	if _, err := e.Steps.Decide(ctx, "req-1", renamed, false, ""); !errors.As(err, &yours) {
		t.Errorf("the requester denied under her new user name: %v", err)
	}
	if o := e.outcome(t, token); o.Status != "WAITING" {
		t.Errorf("a refused decision reached the execution: %+v", o)
	}

	// The identity store cannot answer: no decision is taken on names alone.
	e.Emu.Fail(awsemu.OpGetUserID, 100)
	var unavailable *contract.Unavailable
	if _, err := e.Steps.Decide(ctx, "req-1", bob, true, ""); !errors.As(err, &unavailable) {
		t.Errorf("a decision while the identity store fails: %v", err)
	}
	e.Emu.Fail(awsemu.OpGetUserID, 0)
	if rec, err := e.Steps.Decide(ctx, "req-1", bob, true, "checked"); err != nil || rec.ApprovedBy != bob {
		t.Fatalf("a second person: %+v %v", rec, err)
	}
	if o := e.outcome(t, token); o.Status != "SUCCEEDED" {
		t.Errorf("the approval did not reach the execution: %+v", o)
	}

	// The identity store cannot answer at a booking: the request is booked, with no user ID (its
	// approvers are then told apart from its requester by names, as without a store).
	e.Emu.Fail(awsemu.OpGetUserID, 100)
	e.waitForApproval(t, "req-2", members[1])
	e.Emu.Fail(awsemu.OpGetUserID, 0)
	if rec, err := e.Store.Get(ctx, "req-2"); err != nil || rec.RequesterUserID != "" || rec.Status != ledger.Scheduled {
		t.Errorf("booked while the identity store fails: %+v %v", rec, err)
	}
}
