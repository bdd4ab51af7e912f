package window_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/window"
)

const (
	alice = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_abc/alice@example.com"
)

var (
	members = []string{"111111111111", "222222222222", "333333333333"}
	db      testenv.DB
	t0      = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
)

func TestMain(m *testing.M) {
	os.Exit(testenv.MainWithDynamoDB(m, func(c testenv.DB) { db = c }))
}

// env is the service and the steps over it (testenv.Windows), with this package's helpers.
type env struct{ *testenv.Windows }

func newEnv(t *testing.T) *env {
	t.Helper()
	return &env{testenv.NewWindows(t, db, orgemu.Standard(testenv.Management, "alice@example.com", members...), t0)}
}

func validRequest(accounts ...string) map[string]any {
	return map[string]any{"accountIds": accounts, "hours": 2, "reason": "Enable MFA delete (SEC-1234)", "requester": alice}
}

func (e *env) validate(t *testing.T, id string, req map[string]any) (contract.Window, error) {
	t.Helper()
	return e.Steps.Validate(context.Background(), e.Started(id, testenv.Input(t, req), starter(req)))
}

// starter is who starts a console request: the requester it names, asking for themselves.
func starter(req map[string]any) awsemu.Identity {
	if r, ok := req["requester"].(string); ok {
		return testenv.Person(r)
	}
	return testenv.Person(alice)
}

// open validates and lifts a window on accounts as request id.
func (e *env) open(t *testing.T, id string, accounts ...string) {
	t.Helper()
	if _, err := e.validate(t, id, validRequest(accounts...)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Steps.Detach(context.Background(), testenv.Decided(t, e.Deps.Ledger, id)); err != nil {
		t.Fatal(err)
	}
}

// endEarly ends request id's window as caller through the service, then plays what AWS does
// next (rescueEnded). It returns the record as that leaves it; a window End leaves as it is is
// returned as End answered.
func (e *env) endEarly(t *testing.T, id, caller string) (ledger.Record, error) {
	t.Helper()
	rec, err := e.Steps.End(context.Background(), id, caller)
	if err != nil || rec.Status != ledger.Closing {
		return rec, err
	}
	return e.rescueEnded(t, id)
}

// rescueEnded plays what follows an early end in AWS: the window's execution stopped (the
// emulator must have served that StopExecution), Step Functions' status change delivered to the
// safety net, which puts the guardrail back.
func (e *env) rescueEnded(t *testing.T, id string) (ledger.Record, error) {
	t.Helper()
	ctx := context.Background()
	arn := testenv.ExecutionARN(id)
	if !slices.ContainsFunc(e.Emu.Stops(), func(s awsemu.Stop) bool { return s.ExecutionARN == arn && s.Error == contract.ErrEndedEarly }) {
		return ledger.Record{}, fmt.Errorf("ending %s did not stop its execution %s: %+v", id, arn, e.Emu.Stops())
	}
	if e.Deps.Config.StateMachineARN != testenv.StateMachineARN {
		e.With(func(d *window.Deps) { d.Config.StateMachineARN = testenv.StateMachineARN })
	}
	if err := testenv.EndedEarly(t, e.Steps, id); err != nil {
		return ledger.Record{}, err
	}
	return e.Store.Get(ctx, id)
}

func TestWindowEndToEnd(t *testing.T) {
	for _, hours := range []int{1, 4} {
		t.Run(fmt.Sprintf("%d hours", hours), func(t *testing.T) {
			e := newEnv(t)
			before := e.Org.Snapshot()
			ctx := context.Background()
			req := validRequest(members[1], members[0])
			req["hours"] = hours
			w, err := e.validate(t, "req-1", req)
			if err != nil {
				t.Fatal(err)
			}
			want := contract.Window{RequestID: "req-1", AccountIDs: []string{members[0], members[1]}, Hours: hours, StartAt: "2026-11-23T10:00:00Z"}
			if !reflect.DeepEqual(w, want) {
				t.Errorf("window %+v, want %+v", w, want)
			}
			e.AssertGuardrail(t, true, members...)

			e.Now = t0.Add(90 * time.Second) // the lift happens later than the request
			o, err := e.Steps.Detach(ctx, testenv.Decided(t, e.Deps.Ledger, "req-1"))
			if err != nil {
				t.Fatal(err)
			}
			lifted := t0.Add(90 * time.Second)
			wantOpened := contract.Opened{RequestID: "req-1", Opened: true, Status: "OPEN",
				OpenedAt: lifted.Format(time.RFC3339), RestoreAt: lifted.Add(time.Duration(hours) * time.Hour).Format(time.RFC3339)}
			if o != wantOpened {
				t.Errorf("opened %+v, want %+v", o, wantOpened)
			}
			e.AssertGuardrail(t, false, members[0], members[1])
			e.AssertGuardrail(t, true, members[2])
			leases, _ := e.Store.Leases(ctx, members)
			if leases[members[0]].Until != lifted.Add(time.Duration(hours)*time.Hour) {
				t.Errorf("lease end %v", leases[members[0]].Until)
			}

			e.Now = lifted.Add(time.Duration(hours) * time.Hour)
			r, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeClose})
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != "CLOSED" || r.ClosedAt != e.Now.Format(time.RFC3339) {
				t.Errorf("restored %+v", r)
			}
			if after := e.Org.Snapshot(); !reflect.DeepEqual(before, after) {
				t.Errorf("organization not as before:\n%v\n%v", before, after)
			}
			rec := e.AssertStatus(t, "req-1", ledger.Closed)
			var statuses []ledger.Status
			for _, h := range rec.History {
				statuses = append(statuses, h.Status)
			}
			if !reflect.DeepEqual(statuses, []ledger.Status{ledger.Scheduled, ledger.Opening, ledger.Open, ledger.Closing, ledger.Closed}) {
				t.Errorf("history %v", statuses)
			}
			if leases, _ := e.Store.Leases(ctx, members); len(leases) != 0 {
				t.Errorf("leases left: %v", leases)
			}
			// Every step again (Lambda retries) changes nothing.
			if _, err := e.validate(t, "req-1", req); err != nil {
				t.Error(err)
			}
			if o2, err := e.Steps.Detach(ctx, testenv.Decided(t, e.Deps.Ledger, "req-1")); err != nil || o2.OpenedAt != o.OpenedAt {
				t.Errorf("detach again: %+v %v", o2, err)
			}
			if _, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeClose}); err != nil {
				t.Error(err)
			}
			e.AssertStatus(t, "req-1", ledger.Closed)
			e.AssertGuardrail(t, true, members...)
		})
	}
}

func TestScheduledStart(t *testing.T) {
	e := newEnv(t)
	req := validRequest(members[0])
	req["startAt"] = "2026-11-24T08:00:00+01:00"
	w, err := e.validate(t, "later", req)
	if err != nil {
		t.Fatal(err)
	}
	if !w.StartsLater || w.StartAt != "2026-11-24T07:00:00Z" {
		t.Errorf("window %+v", w)
	}
	if e.Writes() != 0 {
		t.Error("validation changed the organization")
	}
	leases, _ := e.Store.Leases(context.Background(), members)
	if leases[members[0]].Until != time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) {
		t.Errorf("lease %+v", leases)
	}
}

func rejection(t *testing.T, err error) []string {
	t.Helper()
	var rr *contract.RequestRejected
	if !errors.As(err, &rr) {
		t.Fatalf("want RequestRejected, got %v", err)
	}
	return rr.Problems
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *env)
		req   map[string]any
		want  []string
	}{
		{"contract problems", nil,
			map[string]any{"accountIds": []any{"1"}, "hours": 9, "reason": "x", "requester": alice},
			[]string{`accountIds[0]: "1" is not a 12-digit account ID`, `hours: must be from 1 to 4, got 9`}},
		{"not an administrator", nil,
			map[string]any{"accountIds": []string{members[0]}, "hours": 1, "reason": "x", "requester": "alice@example.com"},
			[]string{`requester: "alice@example.com" is not an administrator: only principals matching the configured adminPrincipals may ask for a window`}},
		{"not an owner", func(e *env) {
			e.Org.AddAccount(orgemu.Account{ID: "444444444444", Tags: map[string]string{"owner": "bob@example.com, carol@example.com"}}, orgemu.FullAWSAccessID, orgemu.GuardrailID)
		}, validRequest(members[0], "444444444444"),
			[]string{`accountIds[1]: "` + alice + `" is not an owner of 444444444444 (not listed in its "owner" tag)`}},
		{"no owner tag", func(e *env) {
			e.Org.AddAccount(orgemu.Account{ID: "444444444444"}, orgemu.FullAWSAccessID, orgemu.GuardrailID)
		}, validRequest("444444444444"),
			[]string{`accountIds[0]: 444444444444 has no "owner" tag, nor has any OU above it, so nobody owns it for rootwindow: tag the account (or its OU) with its owners first`}},
		{"inherited guardrail, management account, unknown account", func(e *env) {
			e.Org.AddOU("ou-ex01-abcdefgh", e.Org.Root(), orgemu.FullAWSAccessID, orgemu.GuardrailID)
			e.Org.AddAccount(orgemu.Account{ID: "444444444444", Parent: "ou-ex01-abcdefgh", Tags: map[string]string{"owner": "alice@example.com"}}, orgemu.FullAWSAccessID)
		}, validRequest("444444444444", testenv.Management, "555555555555", members[0]),
			[]string{
				`accountIds[0]: 444444444444 inherits the guardrail p-rootguard01 from ou-ex01-abcdefgh, not attached to the account itself; the detach strategy lifts a guardrail attached to the account and nowhere above it (deploy with liftStrategy exempt or auto, which lift it wherever it is attached, or attach it to each account under ou-ex01-abcdefgh, then detach it there)`,
				`accountIds[1]: 999999999999 is the organization's management account; SCPs never apply to it, so there is nothing to lift`,
				`accountIds[2]: 555555555555 is not an account of this organization`,
			}},
		{"unknown envelope field", nil, nil, []string{`input: must be {"request": {...}} with an optional "origin": requests is not a key here (expected request, origin, exactly)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			before := e.Org.Snapshot()
			in := testenv.Input(t, tt.req)
			if tt.req == nil {
				in = json.RawMessage(`{"requests": {}}`)
			}
			_, err := e.Steps.Validate(context.Background(), e.Started("bad-1", in, starter(tt.req)))
			if got := rejection(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems:\n got %q\nwant %q", got, tt.want)
			}
			if after := e.Org.Snapshot(); !reflect.DeepEqual(before, after) || e.Writes() != 0 {
				t.Error("a rejected request changed the organization")
			}
			rec := e.AssertStatus(t, "bad-1", ledger.Rejected)
			if !reflect.DeepEqual(rec.Problems, tt.want) {
				t.Errorf("ledger problems %q", rec.Problems)
			}
			if leases, _ := e.Store.Leases(context.Background(), append(members, "444444444444")); len(leases) != 0 {
				t.Errorf("a rejected request holds leases: %v", leases)
			}
			// Asking again gives the same answer.
			_, err = e.Steps.Validate(context.Background(), e.Started("bad-1", in, starter(tt.req)))
			if got := rejection(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("second answer %q", got)
			}
		})
	}
}

func TestSecondRequestForAHeldAccount(t *testing.T) {
	e := newEnv(t)
	if _, err := e.validate(t, "first", validRequest(members[0])); err != nil {
		t.Fatal(err)
	}
	_, err := e.validate(t, "second", validRequest(members[1], members[0]))
	want := []string{`accountIds[1]: 111111111111 already has a window: request first holds it until 2026-11-23T12:00:00Z`}
	if got := rejection(t, err); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
	leases, _ := e.Store.Leases(context.Background(), members)
	if len(leases) != 1 || leases[members[0]].RequestID != "first" {
		t.Errorf("leases %v", leases)
	}
}

func TestDetachFailingPartWay(t *testing.T) {
	e := newEnv(t)
	before := e.Org.Snapshot()
	if _, err := e.validate(t, "req-1", validRequest(members...)); err != nil {
		t.Fatal(err)
	}
	e.Org.Inject(orgemu.Fault{Op: "DetachPolicy", Target: members[2], Policy: orgemu.GuardrailID, Code: "AccessDeniedException"})
	_, err := e.Steps.Detach(context.Background(), testenv.Decided(t, e.Deps.Ledger, "req-1"))
	var df *contract.DetachFailed
	if !errors.As(err, &df) || !strings.Contains(df.Msg, "333333333333 (AccessDeniedException)") {
		t.Fatalf("want DetachFailed naming the account, got %v", err)
	}
	if after := e.Org.Snapshot(); !reflect.DeepEqual(before, after) {
		t.Errorf("not put back:\n%v\n%v", before, after)
	}
	rec := e.AssertStatus(t, "req-1", ledger.Failed)
	if !strings.Contains(rec.LastError, "AccessDeniedException") {
		t.Errorf("ledger does not say why: %+v", rec)
	}
	if leases, _ := e.Store.Leases(context.Background(), members); len(leases) != 0 {
		t.Errorf("leases kept after a failed opening: %v", leases)
	}
	// The state machine's compensation step after this is harmless.
	if _, err := e.Steps.Reattach(context.Background(), contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeCompensate, Cause: "DetachFailed"}); err != nil {
		t.Error(err)
	}
	e.AssertStatus(t, "req-1", ledger.Failed)
}

func TestDetachThrottledThenRetried(t *testing.T) {
	e := newEnv(t)
	if _, err := e.validate(t, "req-1", validRequest(members...)); err != nil {
		t.Fatal(err)
	}
	e.Org.Inject(orgemu.Fault{Op: "DetachPolicy", Target: members[1], Policy: orgemu.GuardrailID, Code: "TooManyRequestsException"})
	_, err := e.Steps.Detach(context.Background(), testenv.Decided(t, e.Deps.Ledger, "req-1"))
	var th *contract.Throttled
	if !errors.As(err, &th) {
		t.Fatalf("want Throttled, got %v", err)
	}
	e.AssertGuardrail(t, true, members...)
	e.AssertStatus(t, "req-1", ledger.Opening)
	e.Org.ClearFaults()
	o, err := e.Steps.Detach(context.Background(), testenv.Decided(t, e.Deps.Ledger, "req-1"))
	if err != nil || !o.Opened {
		t.Fatalf("retry: %+v %v", o, err)
	}
	e.AssertGuardrail(t, false, members...)
}

func TestCompensationAfterCrashMidBatch(t *testing.T) {
	// The Lambda died after lifting some accounts: status OPENING, guardrail missing from one.
	e := newEnv(t)
	if _, err := e.validate(t, "req-1", validRequest(members...)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.Transition(context.Background(), "req-1", ledger.Opening, "test", "", ledger.Change{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Deps.Guardrail.Lift(context.Background(), guardrail.Window{RequestID: "req-1", End: e.Now.Add(2 * time.Hour), AccountIDs: members[:1]}); err != nil {
		t.Fatal(err)
	}
	r, err := e.Steps.Reattach(context.Background(), contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeCompensate, Cause: "Lambda.Unknown"})
	if err != nil || r.Status != "FAILED" {
		t.Fatalf("%+v %v", r, err)
	}
	e.AssertGuardrail(t, true, members...)
	if rec := e.AssertStatus(t, "req-1", ledger.Failed); rec.LastError != "Lambda.Unknown" {
		t.Errorf("cause not recorded: %+v", rec)
	}
}

func TestReattachKeepsTryingAndKeepsTheLease(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.open(t, "req-1", members[:2]...)
	e.Org.Inject(orgemu.Fault{Op: "AttachPolicy", Target: members[0], Code: "ConcurrentModificationException"})
	_, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeClose})
	var th *contract.Throttled
	if !errors.As(err, &th) {
		t.Fatalf("want Throttled, got %v", err)
	}
	rec := e.AssertStatus(t, "req-1", ledger.Closing)
	if !strings.Contains(rec.LastError, "restore failed") {
		t.Errorf("lastError %q", rec.LastError)
	}
	e.AssertGuardrail(t, true, members[1])
	leases, _ := e.Store.Leases(ctx, members)
	if len(leases) != 2 {
		t.Errorf("leases must stay until the guardrail is back: %v", leases)
	}
	e.Org.ClearFaults()
	if _, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeClose}); err != nil {
		t.Fatal(err)
	}
	e.AssertStatus(t, "req-1", ledger.Closed)
	e.AssertGuardrail(t, true, members...)
}

func TestReattachOverTheLimitIsRestoreFailed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.open(t, "req-1", members[0])
	e.Org.Inject(orgemu.Fault{Op: "AttachPolicy", Code: "ConstraintViolationException"})
	_, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeClose})
	var rf *contract.RestoreFailed
	if !errors.As(err, &rf) || !strings.Contains(rf.Msg, "ConstraintViolationException") {
		t.Fatalf("want RestoreFailed, got %v", err)
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	e := newEnv(t)
	req := validRequest(members[0])
	req["startAt"] = "2026-11-23T15:00:00Z"
	if _, err := e.validate(t, "req-1", req); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.Transition(context.Background(), "req-1", ledger.Cancelled, alice, "no longer needed", ledger.Change{}); err != nil {
		t.Fatal(err)
	}
	o, err := e.Steps.Detach(context.Background(), testenv.Decided(t, e.Deps.Ledger, "req-1"))
	if err != nil || o.Opened || o.Status != "CANCELLED" {
		t.Fatalf("%+v %v", o, err)
	}
	if e.Writes() != 0 {
		t.Error("a cancelled window lifted the guardrail")
	}
}

func TestReattachLeavesOtherWindowsAlone(t *testing.T) {
	// An old request whose window failed must not restore the guardrail on an account that a
	// newer request has lifted since.
	e := newEnv(t)
	ctx := context.Background()
	e.open(t, "old", members[0])
	if _, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "old", Mode: contract.ModeClose}); err != nil {
		t.Fatal(err)
	}
	e.open(t, "new", members[0])
	if _, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "old", Mode: contract.ModeCompensate}); err != nil {
		t.Fatal(err)
	}
	e.AssertGuardrail(t, false, members[0])
}

// The state machine matches errors by the errorType aws-lambda-go reports.
func TestCompensationEdges(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Validation failed before recording anything: compensation has nothing to do.
	r, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "never-recorded", Mode: contract.ModeCompensate, Cause: "Unavailable"})
	if err != nil || r.Status != "NONE" || e.Writes() != 0 {
		t.Errorf("compensating an unknown request: %+v %v (%d writes)", r, err, e.Writes())
	}
	// Closing an unknown request is a state error, not a silent success.
	_, err = e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "never-recorded", Mode: contract.ModeClose})
	var inv *contract.InvalidState
	if !errors.As(err, &inv) {
		t.Errorf("closing an unknown request: %v", err)
	}
	if _, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "x", Mode: "open"}); !errors.As(err, &inv) {
		t.Errorf("unknown mode: %v", err)
	}
	// The window opened but its step's answer was lost: compensation ends the window early.
	e.open(t, "lost", members[0])
	r, err = e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "lost", Mode: contract.ModeCompensate, Cause: "States.Timeout"})
	if err != nil || r.Status != "CLOSED" {
		t.Fatalf("%+v %v", r, err)
	}
	e.AssertGuardrail(t, true, members...)
	rec := e.AssertStatus(t, "lost", ledger.Closed)
	if note := rec.History[len(rec.History)-2].Note; !strings.Contains(note, "closing early") || !strings.Contains(note, "States.Timeout") {
		t.Errorf("closing note %q", note)
	}
}
