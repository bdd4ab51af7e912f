package window_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/stepfunctions"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// statusChange is the status change of execution `name` as the stack's rule delivers it, the
// execution having ended so as Step Functions (the emulator) says.
func (e *env) statusChange(t *testing.T, name, status string, errName *string) events.CloudWatchEvent {
	t.Helper()
	e.confirmsStatusChanges(t)
	e.Emu.Ran(sampleStateMachine, name, json.RawMessage(`{}`), status)
	return testenv.StatusChange(t, sampleStateMachine, name, status, errName)
}

// sampleStateMachine is the state machine of the sample status-change event.
const sampleStateMachine = "arn:aws:states:us-east-1:999999999999:stateMachine:RootWindowWorkflowStateMachine"

// confirmsStatusChanges lets the sweeper ask the emulator whether an execution ended, as the
// stack's sweeper asks Step Functions.
func (e *env) confirmsStatusChanges(t *testing.T) {
	t.Helper()
	if e.Deps.Executions == nil {
		e.With(func(d *window.Deps) { d.Executions = stepfunctions.New(testenv.StepFunctions(e.Emu)) })
	}
	e.With(func(d *window.Deps) { d.Config.StateMachineARN = sampleStateMachine })
}

func TestRescueAfterTheExecutionEnded(t *testing.T) {
	ctx := context.Background()
	t.Run("stopped during the window", func(t *testing.T) {
		e := newEnv(t)
		e.open(t, "req-1", members[0], members[1])
		e.Now = t0.Add(30 * time.Minute)
		var metrics strings.Builder
		e.With(func(d *window.Deps) { d.Metrics = &metrics })
		// Duplicate and out-of-order events: the same ABORTED twice, then a stale RUNNING.
		for _, status := range []string{"ABORTED", "ABORTED", "RUNNING"} {
			if _, err := e.Steps.SafetyNet(ctx, e.statusChange(t, "req-1", status, nil)); err != nil {
				t.Fatalf("%s: %v", status, err)
			}
		}
		e.AssertGuardrail(t, true, members...)
		rec := e.AssertStatus(t, "req-1", ledger.Closed)
		if h := rec.History[3]; h.Actor != "rootwindow:safety-net" || h.Note != "execution ABORTED" {
			t.Errorf("closing recorded as %+v", h)
		}
		if leases, _ := e.Store.Leases(ctx, members); len(leases) != 0 {
			t.Errorf("leases %v", leases)
		}
		if got := e.published(t); !reflect.DeepEqual(got, []string{"Root Access Window Scheduled", "Root Access Window Opened", "Root Access Window Closed"}) {
			t.Errorf("published %v", got)
		}
		// Stopped by someone, not by an early end through rootwindow: counted for the alarm, at
		// each delivery.
		if !strings.Contains(metrics.String(), `"WindowsRescued":1`) || !strings.Contains(metrics.String(), `"WindowsClosed":1`) ||
			strings.Count(metrics.String(), `"ExecutionsStoppedUnexpectedly":1`) != 2 || strings.Count(metrics.String(), "\n") != 4 {
			t.Errorf("metrics %q", metrics.String())
		}
	})
	t.Run("stopped while waiting for the start", func(t *testing.T) {
		e := newEnv(t)
		req := validRequest(members[0])
		req["startAt"] = "2026-11-23T15:00:00Z"
		if _, err := e.validate(t, "req-1", req); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Steps.SafetyNet(ctx, e.statusChange(t, "req-1", "TIMED_OUT", nil)); err != nil {
			t.Fatal(err)
		}
		rec := e.AssertStatus(t, "req-1", ledger.Failed)
		if rec.LastError != "execution TIMED_OUT" || e.Writes() != 0 {
			t.Errorf("record %+v, %d writes", rec, e.Writes())
		}
		if leases, _ := e.Store.Leases(ctx, members); len(leases) != 0 {
			t.Errorf("leases %v", leases)
		}
	})
	t.Run("failed during the lift", func(t *testing.T) {
		e := newEnv(t)
		if _, err := e.validate(t, "req-1", validRequest(members[0], members[1])); err != nil {
			t.Fatal(err)
		}
		// The lift stopped half-way: one account lifted, the request OPENING.
		if _, err := e.Store.Transition(ctx, "req-1", ledger.Opening, "rootwindow:detach", "", ledger.Change{}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Deps.Guardrail.Lift(ctx, guardrail.Window{RequestID: "req-1", End: e.Now.Add(2 * time.Hour), AccountIDs: []string{members[0]}}); err != nil {
			t.Fatal(err)
		}
		failed := "States.Timeout"
		var metrics strings.Builder
		e.With(func(d *window.Deps) { d.Metrics = &metrics })
		if _, err := e.Steps.SafetyNet(ctx, e.statusChange(t, "req-1", "FAILED", &failed)); err != nil {
			t.Fatal(err)
		}
		e.AssertGuardrail(t, true, members...)
		e.AssertStatus(t, "req-1", ledger.Failed)
		if !strings.Contains(metrics.String(), `"ExecutionsFailedUnexpectedly":1`) {
			t.Errorf("metrics %q", metrics.String())
		}
	})
	t.Run("a rejected request's failure is expected and needs nothing", func(t *testing.T) {
		e := newEnv(t)
		_, _ = e.validate(t, "req-1", map[string]any{"hours": 9})
		rejected := contract.ErrRequestRejected
		var metrics strings.Builder
		e.With(func(d *window.Deps) { d.Metrics = &metrics })
		for _, name := range []string{"req-1", "never-recorded"} {
			if _, err := e.Steps.SafetyNet(ctx, e.statusChange(t, name, "FAILED", &rejected)); err != nil {
				t.Fatal(err)
			}
		}
		if metrics.Len() != 0 || len(e.Org.Calls()) != 0 {
			t.Errorf("metrics %q, %d Organizations calls", metrics.String(), len(e.Org.Calls()))
		}
	})
	t.Run("restore refused: alarm, lease kept, then the sweeper finishes it", func(t *testing.T) {
		e := newEnv(t)
		e.open(t, "req-1", members[0])
		e.Org.Inject(orgemu.Fault{Op: "AttachPolicy", Code: "ConstraintViolationException"})
		var rf *contract.RestoreFailed
		if _, err := e.Steps.SafetyNet(ctx, e.statusChange(t, "req-1", "ABORTED", nil)); !errors.As(err, &rf) {
			t.Fatalf("want RestoreFailed, got %v", err)
		}
		rec := e.AssertStatus(t, "req-1", ledger.Closing)
		if rec.RestoreFailedAt.IsZero() {
			t.Error("restoreFailedAt not recorded")
		}
		if leases, _ := e.Store.Leases(ctx, members); leases[members[0]].RequestID != "req-1" {
			t.Errorf("lease %v", leases)
		}
		e.Org.Reset()
		e.Now = t0.Add(3 * time.Hour)
		rep, err := e.Steps.Sweep(ctx)
		if err != nil || !reflect.DeepEqual(rep.Settled, []string{"req-1"}) {
			t.Fatalf("sweep %+v %v", rep, err)
		}
		e.AssertStatus(t, "req-1", ledger.Closed)
		got := e.published(t)
		if got[len(got)-2] != "Root Access Window Restore Failed" || got[len(got)-1] != "Root Access Window Closed" {
			t.Errorf("published %v", got)
		}
	})
}

func TestSweep(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.open(t, "over", members[0])    // its execution vanished: nobody will restore it
	e.open(t, "running", members[1]) // opened later, still within its window
	e.Now = t0.Add(2*time.Hour + window.SweepGrace)
	if _, err := e.Store.Transition(ctx, "running", ledger.Closing, "x", "", ledger.Change{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.Transition(ctx, "running", ledger.Closed, "x", "", ledger.Change{}); err != nil {
		t.Fatal(err)
	}
	// "running" is closed but a crash left its lease and its account lifted: a leftover, which the
	// sweep restores by its window SCP. The third member had a window, ended early; then someone
	// detached the guardrail by hand: drift.
	running, _ := e.Store.Get(ctx, "running")
	e.open(t, "earlier", members[2])
	if _, err := e.endEarly(t, "earlier", alice); err != nil {
		t.Fatal(err)
	}
	e.Org.Detach(members[2], orgemu.GuardrailID)
	var metrics strings.Builder
	e.With(func(d *window.Deps) { d.Metrics = &metrics })
	rep, err := e.Steps.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rep.Settled, []string{"over"}) && !reflect.DeepEqual(rep.Settled, []string{"over", "running"}) && !reflect.DeepEqual(rep.Settled, []string{"running", "over"}) {
		t.Errorf("settled %v", rep.Settled)
	}
	e.AssertStatus(t, "over", ledger.Closed)
	e.AssertGuardrail(t, true, members[0], members[1])
	if !reflect.DeepEqual(rep.Cleaned, []string{running.WindowPolicyID}) || slices.Contains(e.Org.Policies(), running.WindowPolicyID) {
		t.Errorf("the leftover window SCP: cleaned %v, policies %v", rep.Cleaned, e.Org.Policies())
	}
	if !reflect.DeepEqual(rep.Drift, []string{members[2]}) {
		t.Errorf("drift %v (checked %d)", rep.Drift, rep.Checked)
	}
	evs := e.Emu.Events()
	last := evs[len(evs)-1]
	if last.DetailType != "Root Access Window Drift Detected" || !strings.Contains(string(last.Detail), members[2]) {
		t.Errorf("last event %s %s", last.DetailType, last.Detail)
	}
	if !strings.Contains(metrics.String(), `"DriftDetected":1`) {
		t.Errorf("metrics %q", metrics.String())
	}
	if leases, _ := e.Store.AllLeases(ctx); len(leases) != 0 {
		t.Errorf("leases left: %v", leases)
	}
}

func TestSweepRacesItselfAndAnEarlyEnd(t *testing.T) {
	ctx := context.Background()
	for round := range 5 {
		e := newEnv(t)
		e.open(t, "req-1", members[0], members[1])
		e.Now = t0.Add(2*time.Hour + window.SweepGrace)
		var wg sync.WaitGroup
		errs := make([]error, 3)
		wg.Add(3)
		go func() { defer wg.Done(); _, errs[0] = e.Steps.Sweep(ctx) }()
		go func() { defer wg.Done(); _, errs[1] = e.Steps.Sweep(ctx) }()
		go func() { defer wg.Done(); _, errs[2] = e.Steps.End(ctx, "req-1", alice) }()
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d, racer %d: %v", round, i, err)
			}
		}
		rec := e.AssertStatus(t, "req-1", ledger.Closed)
		e.AssertGuardrail(t, true, members...)
		closes := 0
		for _, h := range rec.History {
			if h.Status == ledger.Closed {
				closes++
			}
		}
		if closes != 1 {
			t.Errorf("round %d: closed %d times: %+v", round, closes, rec.History)
		}
	}
}

func TestSafetyNetSchedule(t *testing.T) {
	e := newEnv(t)
	var ev events.CloudWatchEvent
	testenv.DecodeSample(t, "sweep-schedule.json", &ev)
	out, err := e.Steps.SafetyNet(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	// The first sweep reads the whole organization: every member carries the guardrail.
	if rep, ok := out.(window.SweepReport); !ok || !rep.Scanned || rep.Checked != len(members) || len(rep.Drift) != 0 {
		t.Errorf("%#v", out)
	}
	ev.DetailType = "Something Else"
	if _, err := e.Steps.SafetyNet(context.Background(), ev); err == nil {
		t.Error("an unknown event was accepted")
	}
}

// liftHeld validates a request for two members and starts lifting it with Organizations holding
// its writes; it returns once the request is OPENING (the lift is under way, its first write in
// flight), with the channel Detach's result will come on and what lets the writes go on.
func (e *env) liftHeld(t *testing.T, id string) (<-chan error, func()) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.validate(t, id, validRequest(members[0], members[1])); err != nil {
		t.Fatal(err)
	}
	release := e.Org.Gate("CreatePolicy", "AttachPolicy", "DetachPolicy", "UpdatePolicy")
	t.Cleanup(release)
	done := make(chan error, 1)
	go func() {
		_, err := e.Steps.Detach(ctx, testenv.Decided(t, e.Deps.Ledger, id))
		done <- err
	}()
	for {
		if rec, _ := e.Store.Get(ctx, id); rec.Status == ledger.Opening {
			return done, release
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// The execution is stopped while Detach is lifting, and the safety net races the Lambda that goes
// on running. Either the safety net settles the request first (FAILED) and Detach, finding it no
// longer its to open, puts back what it lifted; or Detach opens the window first and the safety
// net, finding it moved, closes it (CLOSED). Either way the guardrail ends up on every account.
func TestDetachRacingTheSafetyNet(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	done, release := e.liftHeld(t, "req-1")
	// Both go on at once, Organizations answering slowly: either may win.
	e.Org.SetLatency(20 * time.Millisecond)
	release()
	if _, err := e.Steps.SafetyNet(ctx, e.statusChange(t, "req-1", "ABORTED", nil)); err != nil {
		t.Fatal(err)
	}
	derr := <-done
	e.Org.SetLatency(0)
	e.AssertGuardrail(t, true, members...)
	rec, _ := e.Store.Get(ctx, "req-1")
	var ierr *contract.InvalidState
	switch {
	case rec.Status == ledger.Failed && errors.As(derr, &ierr):
		t.Log("the safety net won; detach put back what it lifted")
	case rec.Status == ledger.Closed && derr == nil:
		t.Log("detach won; the safety net closed the window")
	default:
		t.Errorf("inconsistent: request %s, detach returned %v", rec.Status, derr)
	}
	if leases, _ := e.Store.Leases(ctx, members); len(leases) != 0 {
		t.Errorf("leases left: %v", leases)
	}
}

// Deterministically, the other order: the request is settled (FAILED) while Detach is lifting.
func TestDetachPutsBackWhenTheRequestWasSettledDuringTheLift(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	done, release := e.liftHeld(t, "req-1")
	if _, err := e.Store.Transition(ctx, "req-1", ledger.Failed, "rootwindow:safety-net", "execution ABORTED", ledger.Change{}); err != nil {
		t.Fatal(err)
	}
	if err := e.Store.Release(ctx, "req-1", []string{members[0], members[1]}); err != nil {
		t.Fatal(err)
	}
	release()
	var ierr *contract.InvalidState
	if err := <-done; !errors.As(err, &ierr) {
		t.Errorf("detach: %v", err)
	}
	e.AssertGuardrail(t, true, members...)
}

// A lease whose request record is gone (a write lost between the two): the sweeper puts the
// guardrail back on its account and drops the lease.
func TestSweepRestoresOrphanLeases(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.open(t, "req-1", members[0])
	if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(e.Deps.Config.TableName),
		Key:       map[string]types.AttributeValue{contract.KeyAttribute: &types.AttributeValueMemberS{Value: "request#req-1"}},
	}); err != nil {
		t.Fatal(err)
	}
	e.AssertGuardrail(t, false, members[0])
	if _, err := e.Steps.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	e.AssertGuardrail(t, true, members[0])
	if leases, _ := e.Store.AllLeases(ctx); len(leases) != 0 {
		t.Errorf("leases left: %v", leases)
	}
}

// An ongoing drift is announced once, then reminded daily; a change in it is announced at once.
// The metric (and its alarm) counts it every sweep.
func TestDriftAnnouncedOnceThenDaily(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.open(t, "req-1", members[0])
	if _, err := e.endEarly(t, "req-1", alice); err != nil {
		t.Fatal(err)
	}
	e.Org.Detach(members[0], orgemu.GuardrailID)
	drifts := func() int {
		n := 0
		for _, ev := range e.Emu.Events() {
			if ev.DetailType == "Root Access Window Drift Detected" {
				n++
			}
		}
		return n
	}
	var metrics strings.Builder
	e.With(func(d *window.Deps) { d.Metrics = &metrics })
	for i := range 3 { // three sweeps, five minutes apart
		e.Now = e.Now.Add(5 * time.Minute)
		if _, err := e.Steps.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if n := drifts(); n != 1 {
			t.Fatalf("after sweep %d: %d drift notifications, want 1", i+1, n)
		}
	}
	if n := strings.Count(metrics.String(), `"DriftDetected":1`); n != 3 {
		t.Errorf("the metric was written %d times, want every sweep", n)
	}
	e.Now = e.Now.Add(24 * time.Hour)
	if _, err := e.Steps.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := drifts(); n != 2 {
		t.Errorf("a day later: %d drift notifications, want the reminder", n)
	}
	e.Org.Attach(members[0], orgemu.GuardrailID)
	e.Org.SetContent(orgemu.GuardrailID, `{"Version":"2012-10-17","Statement":[{"Sid":"DenyRootUser","Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":["arn:aws:iam::*:root"]}}}]}`)
	e.Now = e.Now.Add(5 * time.Minute)
	if _, err := e.Steps.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := drifts(); n != 3 {
		t.Errorf("a new drift: %d notifications, want it announced at once", n)
	}
}

// Drift is watched over every account the guardrail protects, not only those rootwindow has seen
// in a request: every driftScanMinutes the sweep reads the whole organization by parent and by
// policy target (no call per account), and between scans it checks what the last scan found
// drifted. An account stays watched until it leaves the organization or carries the
// rootwindow:unprotected tag, whose release is announced.
func TestDriftScanWatchesEveryProtectedAccount(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const ou, inOU, leaving, released = "ou-ex01-apps0001", "444444444444", "555555555555", "666666666666"
	e.Org.AddOU(ou, e.Org.Root(), orgemu.FullAWSAccessID, orgemu.GuardrailID) // never in any request
	for _, id := range []string{inOU, leaving, released} {
		e.Org.AddAccount(orgemu.Account{ID: id, Parent: ou}, orgemu.FullAWSAccessID)
	}
	sweep := func() window.SweepReport {
		t.Helper()
		e.Org.Reset()
		rep, err := e.Steps.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	announced := func() []string {
		var out []string
		for _, ev := range e.Emu.Events() {
			if ev.DetailType == "Root Access Window Drift Detected" {
				out = append(out, string(ev.Detail))
			}
		}
		return out
	}

	rep := sweep()
	if !rep.Scanned || rep.Checked != len(members)+3 || len(rep.Drift) != 0 {
		t.Fatalf("first scan: %+v", rep)
	}
	// The scan's reads: the tree, the accounts by parent, the guardrail's targets; nothing per
	// account (the root's tags are read once: which deployment claims the guardrail).
	for _, op := range []string{"ListPoliciesForTarget", "ListTagsForResource", "ListParents", "DescribeAccount"} {
		for _, c := range e.Org.Calls() {
			if c.Op == op && !(op == "ListTagsForResource" && c.Target == e.Org.Root()) {
				t.Errorf("the scan called %s on %s", op, c.Target)
			}
		}
	}

	e.Org.Detach(ou, orgemu.GuardrailID)
	e.Org.Attach(leaving, orgemu.GuardrailID)
	e.Org.Attach(released, orgemu.GuardrailID)
	e.Now = e.Now.Add(5 * time.Minute)
	if rep := sweep(); rep.Scanned || len(rep.Drift) != 0 || e.Org.CountCalls("ListAccountsForParent", "") != 0 {
		t.Fatalf("between scans only known and drifted accounts are checked: %+v", rep)
	}
	e.Now = e.Now.Add(time.Hour)
	if rep := sweep(); !rep.Scanned || !reflect.DeepEqual(rep.Drift, []string{inOU}) {
		t.Fatalf("the hourly scan: %+v", rep)
	}
	if a := announced(); len(a) != 1 || !strings.Contains(a[0], inOU) {
		t.Fatalf("announced %v", a)
	}
	// Between scans, the drifted account is checked on its own and still reported (not announced again).
	e.Now = e.Now.Add(5 * time.Minute)
	if rep := sweep(); rep.Scanned || !reflect.DeepEqual(rep.Drift, []string{inOU}) || len(announced()) != 1 {
		t.Fatalf("between scans: %+v, %d announcements", rep, len(announced()))
	}

	// Put back; then one account leaves the organization without the guardrail, and another is
	// taken out of it on purpose, tagged.
	e.Org.Attach(inOU, orgemu.GuardrailID)
	e.Org.Detach(leaving, orgemu.GuardrailID)
	e.Org.RemoveAccount(leaving)
	e.Org.Detach(released, orgemu.GuardrailID)
	e.Org.SetTag(released, "rootwindow:unprotected", "sandbox, SEC-42")
	e.Now = e.Now.Add(time.Hour)
	rep = sweep()
	if !rep.Scanned || len(rep.Drift) != 0 || !reflect.DeepEqual(rep.Released, []string{released}) {
		t.Fatalf("after the fix: %+v", rep)
	}
	if a := announced(); len(a) != 2 || !strings.Contains(a[1], `"releasedAccountIds":["`+released+`"]`) {
		t.Fatalf("the release is announced: %v", a)
	}
	// Released and gone accounts are no longer watched: the next scan reports nothing.
	e.Now = e.Now.Add(time.Hour)
	if rep := sweep(); !rep.Scanned || len(rep.Drift) != 0 || len(rep.Released) != 0 {
		t.Fatalf("next scan: %+v", rep)
	}
	prot, err := e.Store.Protection(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(prot.Accounts, leaving) || slices.Contains(prot.Accounts, released) || !slices.Contains(prot.Accounts, inOU) {
		t.Errorf("protected %v", prot.Accounts)
	}
}

// An early end stops the window's execution on purpose: the safety net restores the guardrail and
// counts nothing for the ExecutionsAborted alarm (a stop by anyone else counts:
// TestRescueAfterTheExecutionEnded). If the stop fails, the window stays CLOSING and the end can
// be asked again.
func TestAnEarlyEndStopsTheExecutionAndAlarmsNothing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.open(t, "req-1", members[0])
	var metrics strings.Builder
	e.With(func(d *window.Deps) { d.Metrics = &metrics })
	e.Emu.Fail(awsemu.OpStopExecution, 1)
	rec, err := e.Steps.End(ctx, "req-1", alice)
	var unavailable *contract.Unavailable
	if !errors.As(err, &unavailable) || rec.Status != ledger.Closing || len(e.Emu.Stops()) != 0 {
		t.Fatalf("the stop failing: %v, %s, stops %+v", err, rec.Status, e.Emu.Stops())
	}
	e.AssertGuardrail(t, false, members[0]) // nothing restores until the execution stops
	rec, err = e.endEarly(t, "req-1", alice)
	if err != nil || rec.Status != ledger.Closed {
		t.Fatalf("asked again: %v %s", err, rec.Status)
	}
	e.AssertGuardrail(t, true, members[0])
	if strings.Contains(metrics.String(), contract.MetricUnexpectedStop) || !strings.Contains(metrics.String(), `"WindowsRescued":1`) {
		t.Errorf("metrics %q", metrics.String())
	}
}

// Every sweep checks that the operators' email hears of what rootwindow announces: a subscription
// that is gone, unconfirmed, or confirmed by the link in SNS's message (so that a forwarded
// notification's unsubscribe link removes it) is reported and counted (OperatorsUnreachable); one
// confirmed with an AWS-signed ConfirmSubscription is not.
func TestSweepChecksTheOperatorsSubscription(t *testing.T) {
	const ops = "ops@example.com"
	for _, tt := range []struct {
		name string
		sub  *awsemu.Subscription
		want string
	}{
		{"none", nil, "is not subscribed to the operators' topic"},
		{"another address only", &awsemu.Subscription{Endpoint: "someone@example.com", Confirmed: true, Authenticated: true}, "is not subscribed"},
		{"pending confirmation", &awsemu.Subscription{Endpoint: ops}, "has not confirmed its subscription"},
		{"confirmed by the link", &awsemu.Subscription{Endpoint: ops, Confirmed: true}, "anyone holding a forwarded notification can unsubscribe it"},
		{"confirmed with authentication", &awsemu.Subscription{Endpoint: "OPS@example.com", Confirmed: true, Authenticated: true}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			var metrics strings.Builder
			e.With(func(d *window.Deps) { d.Metrics, d.Config.NotificationEmail = &metrics, ops })
			if tt.sub != nil {
				sub := *tt.sub
				sub.TopicARN, sub.Protocol = testenv.TopicARN, "email"
				e.Emu.AddSubscription(sub)
			}
			rep, err := e.Steps.Sweep(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" && rep.Operators != "" || !strings.Contains(rep.Operators, tt.want) {
				t.Errorf("operators: %q, want %q", rep.Operators, tt.want)
			}
			if got := strings.Contains(metrics.String(), contract.MetricOperatorsUnreachable); got != (tt.want != "") {
				t.Errorf("OperatorsUnreachable counted %v", got)
			}
		})
	}
}

// Two deployments of rootwindow in one organization (sharing the guardrail): a sweep of one never
// takes the other's window SCP for one left behind (its ledger does not know the request), so the
// other's open window stays open; a window SCP that names no deployment (made before they were
// named), whose request this ledger does not hold, is still cleaned up.
func TestASweepLeavesAnotherDeploymentsWindowAlone(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.open(t, "req-a", members[0])
	theirs, _ := e.Store.Get(ctx, "req-a")
	e.Org.AddPolicy("p-legacy01", guardrail.WindowPolicyName("ghost"), orgemu.FullAWSAccessContent)
	e.Org.Detach(members[1], orgemu.GuardrailID)
	e.Org.Attach(members[1], "p-legacy01")

	// The other deployment: its own ledger, its own name.
	other := testenv.NewWindows(t, db, e.Org, e.Now)
	api := e.Deps.Tree.(guardrail.OrganizationsAPI)
	other.With(func(d *window.Deps) {
		d.Guardrail = guardrail.New(api, orgemu.GuardrailID, guardrail.Options{Deployment: other.Table, Rates: guardrail.Unpaced})
	})
	rep, err := other.Steps.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(e.Org.Policies(), theirs.WindowPolicyID) || slices.Contains(rep.Cleaned, theirs.WindowPolicyID) {
		t.Errorf("the other deployment's window SCP was removed: cleaned %v", rep.Cleaned)
	}
	e.AssertGuardrail(t, false, members[0])
	e.AssertStatus(t, "req-a", ledger.Open)
	if !reflect.DeepEqual(rep.Cleaned, []string{"p-legacy01"}) || slices.Contains(e.Org.Policies(), "p-legacy01") {
		t.Errorf("the untagged leftover: cleaned %v", rep.Cleaned)
	}
	e.AssertGuardrail(t, true, members[1])
}

// A window SCP this deployment made under its former name (0.9.0 named a deployment by its
// ledger's table name) is still its own: a sweep cleans it up when its ledger does not hold its
// request, as it does its others; one under another deployment's name it leaves alone.
func TestASweepCleansUpWhatItMadeUnderItsFormerName(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	api := e.Deps.Tree.(guardrail.OrganizationsAPI)
	leftover := func(by, request, account string) string {
		t.Helper()
		old := guardrail.New(api, orgemu.GuardrailID, guardrail.Options{Deployment: by, Rates: guardrail.Unpaced})
		id, err := old.Lift(ctx, guardrail.Window{RequestID: request, End: t0.Add(time.Hour), AccountIDs: []string{account}})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	ours := leftover("rootwindow-ledger-old", "ghost-1", members[0])
	theirs := leftover("111111111111/eu-west-1/RootWindow", "ghost-2", members[1])
	e.With(func(d *window.Deps) {
		d.Guardrail = guardrail.New(api, orgemu.GuardrailID, guardrail.Options{Deployment: "999999999999/us-east-1/RootWindow",
			FormerNames: []string{"rootwindow-ledger-old"}, Rates: guardrail.Unpaced})
	})
	rep, err := e.Steps.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rep.Cleaned, ours) || slices.Contains(e.Org.Policies(), ours) {
		t.Errorf("the window SCP made under the former name: cleaned %v", rep.Cleaned)
	}
	e.AssertGuardrail(t, true, members[0])
	if slices.Contains(rep.Cleaned, theirs) || !slices.Contains(e.Org.Policies(), theirs) {
		t.Errorf("another deployment's window SCP was cleaned up: %v", rep.Cleaned)
	}
}

// The execution history is under a customer managed key (the stack's). Whether a window's
// execution ended is asked for as metadata, which needs no use of the key: a sweeper that may
// not decrypt the history, or a key that cannot be used, still confirms the end and puts the
// guardrail back. (Asking for the whole execution, Step Functions answers KmsAccessDenied.)
func TestAnEndedExecutionIsConfirmedWithoutTheHistorysKey(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.open(t, "req-1", members[0], members[1])
	e.Now = t0.Add(30 * time.Minute)
	ev := e.statusChange(t, "req-1", "ABORTED", nil)
	e.Emu.SealHistory()
	if _, err := e.Steps.SafetyNet(ctx, ev); err != nil {
		t.Fatal(err)
	}
	e.AssertGuardrail(t, true, members...)
	e.AssertStatus(t, "req-1", ledger.Closed)

	// The sweep's own look: a window whose execution is gone is settled now.
	e2 := newEnv(t)
	e2.open(t, "req-2", members[2])
	e2.Emu.Ran(sampleStateMachine, "req-2", json.RawMessage(`{}`), "FAILED")
	e2.confirmsStatusChanges(t)
	e2.Emu.SealHistory()
	e2.Now = t0.Add(30 * time.Minute)
	rep, err := e2.Steps.Sweep(ctx)
	if err != nil || !slices.Contains(rep.Settled, "req-2") {
		t.Fatalf("sweep %+v %v", rep, err)
	}
	e2.AssertGuardrail(t, true, members[2])
}
