package window_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// eventInput is what the request rule hands the state machine for an event from sourceAccount.
func eventInput(t *testing.T, eventID, sourceAccount string, req map[string]any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(map[string]any{"request": req,
		"origin": map[string]string{"channel": "eventbridge", "eventId": eventID, "sourceAccount": sourceAccount}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// confirming is an environment whose EventBridge requests wait 10 minutes for their requester,
// with one such request (req-1, asserted by the integration for alice) validated.
func confirming(t *testing.T) (*env, contract.ValidateInput) {
	t.Helper()
	e := newEnv(t)
	e.With(func(d *window.Deps) { d.Config.EventConfirmMinutes = 10 })
	in := e.Started("req-1", eventInput(t, "0d9d1c56-0001-4000-8000-000000000001", members[0], validRequest(members[0])), testenv.EventsRule)
	_, err := e.Steps.Validate(context.Background(), in)
	var waiting *contract.AwaitingConfirmation
	if !errors.As(err, &waiting) || !strings.Contains(err.Error(), "POST /requests/req-1/confirm") {
		t.Fatalf("validate: %v", err)
	}
	rec := e.AssertStatus(t, "req-1", ledger.Scheduled)
	if want := t0.Add(10 * time.Minute); !rec.ConfirmBy.Equal(want) || !rec.AwaitsConfirmation() {
		t.Fatalf("confirmBy %v, want %v", rec.ConfirmBy, want)
	}
	return e, in
}

func TestAnAssertedRequestLiftsOnlyOnceItsRequesterConfirms(t *testing.T) {
	e, in := confirming(t)
	ctx := context.Background()
	// Not before: a Detach that reaches the lift without the confirmation lifts nothing.
	if _, err := e.Steps.Detach(ctx, contract.DetachInput{RequestID: "req-1", ExecutionARN: testenv.ExecutionARN("req-1"), AccountIDs: []string{members[0]}, Hours: 2}); err == nil {
		t.Fatal("lifted before the requester confirmed")
	}
	e.AssertGuardrail(t, true, members[0])
	// Someone else, even an administrator, cannot confirm for alice.
	_, err := e.Steps.Confirm(ctx, "req-1", bob)
	var notRequester *window.NotRequesterError
	if !errors.As(err, &notRequester) {
		t.Fatalf("bob confirmed: %v", err)
	}
	e.Now = e.Now.Add(3 * time.Minute)
	if _, err := e.Steps.Validate(ctx, in); !errors.As(err, new(*contract.AwaitingConfirmation)) {
		t.Fatalf("still waiting: %v", err)
	}
	rec, err := e.Steps.Confirm(ctx, "req-1", alice)
	if err != nil || rec.ConfirmedBy != alice || !rec.ConfirmedAt.Equal(e.Now) {
		t.Fatalf("confirm: %+v %v", rec, err)
	}
	if again, err := e.Steps.Confirm(ctx, "req-1", alice); err != nil || !again.ConfirmedAt.Equal(rec.ConfirmedAt) {
		t.Errorf("a second confirmation: %+v %v", again, err)
	}
	w, err := e.Steps.Validate(ctx, in)
	if err != nil || w.ConfirmedBy != alice {
		t.Fatalf("validate after the confirmation: %+v %v", w, err)
	}
	if _, err := e.Steps.Detach(ctx, contract.DetachInput{RequestID: "req-1", ExecutionARN: testenv.ExecutionARN("req-1"), AccountIDs: w.AccountIDs, Hours: w.Hours, ConfirmedBy: w.ConfirmedBy}); err != nil {
		t.Fatal(err)
	}
	e.AssertGuardrail(t, false, members[0])
	rec = e.AssertStatus(t, "req-1", ledger.Open)
	if last := rec.History[1]; last.Actor != alice || last.Note != "confirmed by the requester" {
		t.Errorf("history %+v", rec.History)
	}
}

func TestAnUnconfirmedRequestIsWithdrawnWhenItsTimeRunsOut(t *testing.T) {
	e, in := confirming(t)
	ctx := context.Background()
	e.Now = e.Now.Add(10*time.Minute + time.Second)
	_, err := e.Steps.Validate(ctx, in)
	var rej *contract.RequestRejected
	if !errors.As(err, &rej) || !strings.Contains(rej.Error(), "not confirmed by the requester by 2026-11-23T10:10:00Z") {
		t.Fatalf("got %v", err)
	}
	e.AssertStatus(t, "req-1", ledger.Failed)
	if leases, err := e.Store.Leases(ctx, []string{members[0]}); err != nil || len(leases) != 0 {
		t.Errorf("leases %v %v", leases, err)
	}
	// Too late to confirm now, and nothing was ever lifted.
	if _, err := e.Steps.Confirm(ctx, "req-1", alice); !errors.As(err, new(*contract.InvalidState)) {
		t.Errorf("confirmed a withdrawn request: %v", err)
	}
	if e.Writes() != 0 {
		t.Errorf("%d Organizations writes", e.Writes())
	}
}

func TestAConfirmationRemovedFromTheLedgerIsStillDue(t *testing.T) {
	e, in := confirming(t)
	ctx := context.Background()
	// Someone deletes the deadline from the record: the execution knows its door all the same.
	e.edit(t, "request#req-1", "REMOVE confirmBy", nil)
	if _, err := e.Steps.Validate(ctx, in); !errors.As(err, new(*contract.AwaitingConfirmation)) {
		t.Fatalf("got %v", err)
	}
	// And a confirmation written into the ledger by someone else does not agree with the execution.
	e.edit(t, "request#req-1", "SET confirmedBy = :b, confirmedAt = :t", map[string]types.AttributeValue{
		":b": &types.AttributeValueMemberS{Value: bob}, ":t": &types.AttributeValueMemberS{Value: "2026-11-23T10:01:00Z"}})
	if _, err := e.Steps.Detach(ctx, contract.DetachInput{RequestID: "req-1", ExecutionARN: testenv.ExecutionARN("req-1"), AccountIDs: []string{members[0]}, Hours: 2}); !errors.As(err, new(*contract.DetachFailed)) {
		t.Fatalf("got %v", err)
	}
	e.AssertGuardrail(t, true, members[0])
}

func TestOtherDoorsNeedNoConfirmation(t *testing.T) {
	e := newEnv(t)
	e.With(func(d *window.Deps) { d.Config.EventConfirmMinutes = 10 })
	w, err := e.validate(t, "req-1", validRequest(members[0]))
	if err != nil || w.ConfirmedBy != "" {
		t.Fatalf("%+v %v", w, err)
	}
	if rec := e.AssertStatus(t, "req-1", ledger.Scheduled); !rec.ConfirmBy.IsZero() {
		t.Errorf("confirmBy %v", rec.ConfirmBy)
	}
	if _, err := e.Steps.Confirm(context.Background(), "req-1", alice); !errors.As(err, new(*contract.InvalidState)) {
		t.Errorf("confirmed a request that needs no confirmation: %v", err)
	}
}

func TestAnEventFromAnAccountWithNoIntegrationIsRefused(t *testing.T) {
	e := newEnv(t)
	in := e.Started("req-1", eventInput(t, "0d9d1c56-0001-4000-8000-000000000002", members[2], validRequest(members[0])), testenv.EventsRule)
	_, err := e.Steps.Validate(context.Background(), in)
	var rej *contract.RequestRejected
	if !errors.As(err, &rej) || !strings.Contains(rej.Error(), `origin.sourceAccount: "333333333333" has no integration configured in eventIntegrations`) {
		t.Fatalf("got %v", err)
	}
	e.AssertStatus(t, "req-1", ledger.Rejected)
	if e.Writes() != 0 {
		t.Errorf("%d Organizations writes", e.Writes())
	}
}
