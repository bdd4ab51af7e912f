package window_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/notify"
)

// published lists the detail-types of the events put, and checks each one's SNS message twin.
func (e *env) published(t *testing.T) []string {
	t.Helper()
	var types []string
	for _, ev := range e.Emu.Events() {
		if ev.Source != contract.NotificationSource || ev.Bus != "default" {
			t.Errorf("event from %q on %q", ev.Source, ev.Bus)
		}
		types = append(types, ev.DetailType)
	}
	msgs := e.Emu.Messages()
	if len(msgs) != len(types) {
		t.Errorf("%d events but %d SNS messages", len(types), len(msgs))
	}
	for i, m := range msgs {
		if m.TopicARN != testenv.TopicARN || i < len(types) && m.Attributes["event"] != types[i] {
			t.Errorf("message %d: %+v (event %s)", i, m, types[i])
		}
	}
	return types
}

func (e *env) detail(t *testing.T, i int) notify.Detail {
	t.Helper()
	var d notify.Detail
	if err := json.Unmarshal(e.Emu.Events()[i].Detail, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestNotificationsFollowTheWindow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.validate(t, "req-1", validRequest(members[0])); err != nil {
		t.Fatal(err)
	}
	e.Now = t0.Add(time.Minute)
	if _, err := e.Steps.Detach(ctx, testenv.Decided(t, e.Deps.Ledger, "req-1")); err != nil {
		t.Fatal(err)
	}
	e.Now = t0.Add(time.Minute + 2*time.Hour)
	if _, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeClose}); err != nil {
		t.Fatal(err)
	}
	// Retries of every step send nothing twice.
	if _, err := e.Steps.Detach(ctx, testenv.Decided(t, e.Deps.Ledger, "req-1")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeClose}); err != nil {
		t.Fatal(err)
	}
	want := []string{"Root Access Window Scheduled", "Root Access Window Opened", "Root Access Window Closed"}
	if got := e.published(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("published %v, want %v", got, want)
	}
	closed := e.detail(t, 2)
	if closed.NotificationID != "req-1/Closed" || closed.Early == nil || *closed.Early || closed.Status != string(ledger.Closed) ||
		!closed.OpenedAt.Equal(t0.Add(time.Minute)) || closed.Requester != alice || len(closed.History) != 5 {
		t.Errorf("Closed detail %+v", closed)
	}
	if d := e.detail(t, 0); d.Early != nil || d.Status != string(ledger.Scheduled) {
		t.Errorf("Scheduled detail %+v", d)
	}
	msg := e.Emu.Messages()[1]
	if msg.Subject != "rootwindow: opened (111111111111)" || !strings.Contains(msg.Body, "Root access window OPEN") ||
		!strings.Contains(msg.Body, "Window:     2026-11-23 10:01 UTC to 2026-11-23 12:01 UTC (2 h)") {
		t.Errorf("Opened message %q\n%s", msg.Subject, msg.Body)
	}
}

func TestRejectionIsAnnouncedAlone(t *testing.T) {
	e := newEnv(t)
	if _, err := e.validate(t, "req-1", validRequest(members[0])); err != nil {
		t.Fatal(err)
	}
	_, err := e.validate(t, "req-2", validRequest(members[0], members[1]))
	if rejection(t, err) == nil {
		t.Fatal("a held account was accepted")
	}
	got := e.published(t)
	if want := []string{"Root Access Window Scheduled", "Root Access Window Rejected"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("published %v, want %v", got, want)
	}
	if d := e.detail(t, 1); d.RequestID != "req-2" || len(d.Problems) != 1 || !strings.Contains(d.Problems[0], "request req-1 holds it") {
		t.Errorf("Rejected detail %+v", d)
	}
}

func TestNonAdministratorLearnsNothingAboutTheOrganization(t *testing.T) {
	e := newEnv(t)
	req := validRequest("444444444444", members[0])
	req["requester"] = "arn:aws:iam::999999999999:user/mallory"
	_, err := e.validate(t, "req-1", req)
	probs := rejection(t, err)
	if len(probs) != 1 || !strings.HasPrefix(probs[0], `requester: "arn:aws:iam::999999999999:user/mallory" is not an administrator`) {
		t.Errorf("problems %q", probs)
	}
	if n := len(e.Org.Calls()); n != 0 {
		t.Errorf("%d Organizations calls for a non-administrator", n)
	}
}

func TestUndeliveredNotificationsGoOutWithTheNextStep(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.Emu.Fail(awsemu.OpPutEvents, 1)
	if _, err := e.validate(t, "req-1", validRequest(members[0])); err != nil {
		t.Fatalf("a notification failure must not fail the step: %v", err)
	}
	if got := e.published(t); len(got) != 0 {
		t.Fatalf("published %v while EventBridge failed", got)
	}
	if rec := e.AssertStatus(t, "req-1", ledger.Scheduled); len(rec.Notified) != 0 {
		t.Errorf("marked as notified: %v", rec.Notified)
	}
	e.Emu.Fail(awsemu.OpPublish, 1) // the event goes, the email does not: the event is sent again
	if _, err := e.Steps.Detach(ctx, testenv.Decided(t, e.Deps.Ledger, "req-1")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Steps.Detach(ctx, testenv.Decided(t, e.Deps.Ledger, "req-1")); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range e.Emu.Events() {
		types = append(types, ev.DetailType)
	}
	want := []string{"Root Access Window Scheduled", "Root Access Window Scheduled", "Root Access Window Opened"}
	if !reflect.DeepEqual(types, want) {
		t.Errorf("events %v, want %v (at least once, in order)", types, want)
	}
	if n := len(e.Emu.Messages()); n != 2 {
		t.Errorf("%d messages, want Scheduled and Opened", n)
	}
}

func TestEndCancelAndTheWorkflowRace(t *testing.T) {
	ctx := context.Background()
	const bob = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_abc/bob@example.com"
	t.Run("end an open window early", func(t *testing.T) {
		e := newEnv(t)
		if _, err := e.validate(t, "req-1", validRequest(members[0], members[1])); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Steps.Detach(ctx, testenv.Decided(t, e.Deps.Ledger, "req-1")); err != nil {
			t.Fatal(err)
		}
		e.Now = t0.Add(30 * time.Minute)
		writes := e.Writes()
		rec, err := e.Steps.End(ctx, "req-1", bob)
		if err != nil {
			t.Fatal(err)
		}
		// The end itself changes nothing in the organization: it stops the execution.
		if rec.Status != ledger.Closing || rec.History[3].Actor != bob || rec.History[3].Note != "ended early by "+bob || e.Writes() != writes {
			t.Errorf("ended %+v (%d writes)", rec, e.Writes()-writes)
		}
		if again, err := e.Steps.End(ctx, "req-1", bob); err != nil || again.Status != ledger.Closing || len(e.Emu.Stops()) != 2 {
			t.Errorf("ending twice before the stop took: %v %v, stops %+v", again.Status, err, e.Emu.Stops())
		}
		// Step Functions' status change brings the safety net, which restores.
		if rec, err = e.rescueEnded(t, "req-1"); err != nil {
			t.Fatal(err)
		}
		if rec.Status != ledger.Closed || !rec.ClosedAt.Equal(e.Now) || rec.History[4].Actor != "rootwindow:safety-net" {
			t.Errorf("closed %+v", rec)
		}
		e.AssertGuardrail(t, true, members...)
		if again, err := e.endEarly(t, "req-1", bob); err != nil || again.Status != ledger.Closed {
			t.Errorf("ending twice: %v %v", again.Status, err)
		}
		// Another window takes the account; the first workflow's restore at its planned end is a no-op.
		if _, err := e.validate(t, "req-2", validRequest(members[0])); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Steps.Detach(ctx, testenv.Decided(t, e.Deps.Ledger, "req-2")); err != nil {
			t.Fatal(err)
		}
		writes = e.Writes()
		e.Now = t0.Add(2 * time.Hour)
		if r, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeClose}); err != nil || r.Status != "CLOSED" {
			t.Fatalf("workflow restore after an early end: %+v %v", r, err)
		}
		if e.Writes() != writes {
			t.Error("the first window's restore touched the organization")
		}
		e.AssertGuardrail(t, false, members[0])
		closed := e.detail(t, 2)
		if closed.NotificationID != "req-1/Closed" || closed.Early == nil || !*closed.Early {
			t.Errorf("Closed detail %s, early=%v", closed.NotificationID, closed.Early)
		}
	})
	t.Run("end before it opens or while it opens", func(t *testing.T) {
		e := newEnv(t)
		req := validRequest(members[0])
		req["startAt"] = "2026-11-23T12:00:00Z"
		if _, err := e.validate(t, "req-1", req); err != nil {
			t.Fatal(err)
		}
		var ierr *contract.InvalidState
		if _, err := e.Steps.End(ctx, "req-1", bob); !errors.As(err, &ierr) || !strings.Contains(err.Error(), "cancel it instead") {
			t.Errorf("end of a scheduled window: %v", err)
		}
		if _, err := e.Store.Transition(ctx, "req-1", ledger.Opening, "rootwindow:detach", "", ledger.Change{}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Steps.End(ctx, "req-1", bob); !errors.As(err, &ierr) || !strings.Contains(err.Error(), "is opening") {
			t.Errorf("end during the lift: %v", err)
		}
		if _, err := e.Steps.Cancel(ctx, "req-1", bob); !errors.As(err, &ierr) || !strings.Contains(err.Error(), "end it instead") {
			t.Errorf("cancel after the start: %v", err)
		}
		if _, err := e.Steps.End(ctx, "nope", bob); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("end of an unknown request: %v", err)
		}
	})
	t.Run("cancel wins the race with the start", func(t *testing.T) {
		e := newEnv(t)
		if _, err := e.validate(t, "req-1", validRequest(members[0])); err != nil {
			t.Fatal(err)
		}
		rec, err := e.Steps.Cancel(ctx, "req-1", bob)
		if err != nil || rec.Status != ledger.Cancelled {
			t.Fatalf("cancel: %+v %v", rec, err)
		}
		o, err := e.Steps.Detach(ctx, testenv.Decided(t, e.Deps.Ledger, "req-1"))
		if err != nil || o.Opened {
			t.Errorf("detach after cancel: %+v %v", o, err)
		}
		e.AssertGuardrail(t, true, members...)
		if e.Writes() != 0 {
			t.Error("a cancelled window touched the organization")
		}
		if leases, _ := e.Store.Leases(ctx, members); len(leases) != 0 {
			t.Errorf("leases after cancel: %v", leases)
		}
		if again, err := e.Steps.Cancel(ctx, "req-1", bob); err != nil || again.Status != ledger.Cancelled {
			t.Errorf("cancel twice: %v", err)
		}
		if got := e.published(t); !reflect.DeepEqual(got, []string{"Root Access Window Scheduled", "Root Access Window Cancelled"}) {
			t.Errorf("published %v", got)
		}
	})
}

func TestAlarmKeepsTheLease(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.open(t, "req-1", members[0])
	r, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeAlarm, Cause: "Throttled"})
	if err != nil || r.Status != "OPEN" {
		t.Fatalf("alarm: %+v %v", r, err)
	}
	rec := e.AssertStatus(t, "req-1", ledger.Open)
	if rec.RestoreFailedAt.IsZero() || rec.LastError != "the guardrail could not be restored: Throttled" {
		t.Errorf("record %+v", rec)
	}
	if leases, _ := e.Store.Leases(ctx, members); leases[members[0]].RequestID != "req-1" {
		t.Errorf("lease %v", leases)
	}
	got := e.published(t)
	if got[len(got)-1] != "Root Access Window Restore Failed" {
		t.Errorf("published %v", got)
	}
	if m := e.Emu.Messages(); !strings.HasPrefix(m[len(m)-1].Body, "ACTION NEEDED") {
		t.Errorf("message %s", m[len(m)-1].Body)
	}
}

func TestDuplicateEventDelivery(t *testing.T) {
	e := newEnv(t)
	doc := func(t *testing.T) json.RawMessage {
		b, _ := json.Marshal(map[string]any{
			"request": validRequest(members[0]),
			"origin":  map[string]string{"channel": "eventbridge", "eventId": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "sourceAccount": members[0]},
		})
		return b
	}
	first, err := e.Steps.Validate(context.Background(), e.Started("exec-a", doc(t), testenv.EventsRule))
	if err != nil || first.DuplicateOf != "" {
		t.Fatalf("first delivery: %+v %v", first, err)
	}
	second, err := e.Steps.Validate(context.Background(), e.Started("exec-b", doc(t), testenv.EventsRule))
	if err != nil || !reflect.DeepEqual(second, contract.Window{RequestID: "exec-b", DuplicateOf: "exec-a"}) {
		t.Fatalf("second delivery: %+v %v", second, err)
	}
	if _, err := e.Store.Get(context.Background(), "exec-b"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("the duplicate was recorded: %v", err)
	}
	rec := e.AssertStatus(t, "exec-a", ledger.Scheduled)
	if !reflect.DeepEqual(rec.Origin, contract.Origin{Channel: "eventbridge", EventID: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
		SourceAccount: members[0], AssertedBy: []string{testenv.Integration}}) {
		t.Errorf("origin %+v", rec.Origin)
	}
}

// The console's and EventBridge's envelopes are read as strictly as the API's body: keys exactly
// as written (encoding/json would match "Request" to "request"), each once (it would keep the
// last of two), at the top and in the origin.
func TestEnvelopesAreStrict(t *testing.T) {
	req := `{"accountIds":["111111111111"],"hours":1,"reason":"x","requester":"` + alice + `"}`
	for name, tt := range map[string]struct{ input, want string }{
		"key in another case":      {`{"Request":` + req + `}`, "Request is not a key here (expected request, origin, exactly)"},
		"request twice":            {`{"request":` + req + `,"request":` + req + `}`, "request appears more than once"},
		"origin in another case":   {`{"request":` + req + `,"Origin":{"channel":"eventbridge"}}`, "Origin is not a key here"},
		"origin key in other case": {`{"request":` + req + `,"origin":{"Channel":"eventbridge"}}`, "origin: Channel is not a key here (expected channel, eventId, sourceAccount, caller, exactly)"},
		"origin channel twice":     {`{"request":` + req + `,"origin":{"channel":"stepfunctions","channel":"eventbridge"}}`, "origin: channel appears more than once"},
		"origin not strings":       {`{"request":` + req + `,"origin":{"channel":7}}`, "origin.channel must be a string"},
		"two documents":            {`{"request":` + req + `}{"request":` + req + `}`, "must hold exactly one JSON object"},
		"not an object":            {`["request"]`, "must be a JSON object"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.Steps.Validate(context.Background(), e.Started("req-1", json.RawMessage(tt.input), testenv.Person(alice)))
			var rej *contract.RequestRejected
			if !errors.As(err, &rej) || !strings.Contains(rej.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if e.Writes() != 0 {
				t.Errorf("%d writes", e.Writes())
			}
		})
	}
}

// A rejected request is recorded with what was asked, as far as it can be read safely.
func TestARejectionRecordsWhatWasAsked(t *testing.T) {
	e := newEnv(t)
	req := map[string]any{"accountIds": []any{members[1], "12345", members[0]}, "hours": 9, "reason": "Reset \u202Eroot", "requester": alice}
	if _, err := e.validate(t, "req-1", req); !errors.As(err, new(*contract.RequestRejected)) {
		t.Fatalf("got %v", err)
	}
	rec := e.AssertStatus(t, "req-1", ledger.Rejected)
	if rec.Requester != alice || !reflect.DeepEqual(rec.AccountIDs, []string{members[0], members[1]}) || rec.Hours != 0 || rec.Reason != "Reset \uFFFDroot" || len(rec.Problems) != 3 {
		t.Errorf("recorded %q %v %d h %q %v", rec.Requester, rec.AccountIDs, rec.Hours, rec.Reason, rec.Problems)
	}
}
