package window_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// Direct invocations of the workflow's functions, with payloads no execution of rootwindow's
// state machine would carry: each is refused, nothing is lifted, the booking stands.

// A Detach with no decision from Validate (the zero decision used to check nothing).
func TestThreatDetachWithoutADecision(t *testing.T) {
	e := newEnv(t)
	if _, err := e.validate(t, "req-1", validRequest(members[0], members[1])); err != nil {
		t.Fatal(err)
	}
	_, err := e.Steps.Detach(context.Background(), contract.DetachInput{RequestID: "req-1", ExecutionARN: testenv.ExecutionARN("req-1")})
	var failed *contract.DetachFailed
	if !errors.As(err, &failed) || !strings.Contains(failed.Msg, "carries no decision from Validate") {
		t.Fatalf("got %v", err)
	}
	if n := e.Org.CountCalls("DetachPolicy", "") + e.Org.CountCalls("CreatePolicy", ""); n != 0 {
		t.Errorf("%d changes to the organization", n)
	}
	e.AssertGuardrail(t, true, members[0], members[1])
	e.AssertStatus(t, "req-1", ledger.Scheduled)
}

// A Detach, with the decision, of a booking whose start has not come: the execution waits for
// it (Wait for start); only a direct invocation is early.
func TestThreatDetachBeforeTheStart(t *testing.T) {
	e := newEnv(t)
	req := validRequest(members[0])
	req["startAt"] = t0.Add(3 * time.Hour).Format(time.RFC3339)
	if _, err := e.validate(t, "req-1", req); err != nil {
		t.Fatal(err)
	}
	_, err := e.Steps.Detach(context.Background(), testenv.Decided(t, e.Deps.Ledger, "req-1"))
	var failed *contract.DetachFailed
	if !errors.As(err, &failed) || !strings.Contains(failed.Msg, "starts at") {
		t.Fatalf("got %v", err)
	}
	if e.Org.CountCalls("DetachPolicy", "") != 0 {
		t.Error("something was lifted")
	}
	e.AssertStatus(t, "req-1", ledger.Scheduled)
	// At its start, its execution lifts it.
	e.Now = t0.Add(3 * time.Hour)
	if _, err := e.Steps.Detach(context.Background(), testenv.Decided(t, e.Deps.Ledger, "req-1")); err != nil {
		t.Fatal(err)
	}
	e.AssertStatus(t, "req-1", ledger.Open)
}

// A status-change event the sweeper receives but Step Functions does not confirm (the execution
// runs on, was never started, or is another state machine's): the open window is not closed.
func TestThreatForgedStatusChange(t *testing.T) {
	ctx := context.Background()
	const mallory = "arn:aws:states:us-east-1:999999999999:stateMachine:mallory"
	for _, tt := range []struct {
		name string
		// what Step Functions knows, and how the event differs from the rule's
		known  func(e *env)
		forged func(d map[string]any)
	}{
		{"the execution still runs", func(e *env) { e.Emu.Ran(sampleStateMachine, "req-1", json.RawMessage(`{}`), "RUNNING") }, nil},
		{"the execution was never started", func(*env) {}, nil},
		{"another state machine's execution", func(e *env) { e.Emu.Ran(mallory, "req-1", json.RawMessage(`{}`), "ABORTED") }, func(d map[string]any) {
			d["stateMachineArn"] = mallory
			d["executionArn"] = strings.Replace(mallory, ":stateMachine:", ":execution:", 1) + ":req-1"
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.open(t, "req-1", members[0])
			e.confirmsStatusChanges(t)
			tt.known(e)
			ev := testenv.StatusChange(t, sampleStateMachine, "req-1", "ABORTED", nil)
			if tt.forged != nil {
				var d map[string]any
				_ = json.Unmarshal(ev.Detail, &d)
				tt.forged(d)
				ev.Detail, _ = json.Marshal(d)
			}
			_, err := e.Steps.SafetyNet(ctx, ev)
			if !errors.As(err, new(*contract.InvalidState)) {
				t.Fatalf("got %v", err)
			}
			e.AssertStatus(t, "req-1", ledger.Open)
			e.AssertGuardrail(t, false, members[0]) // the window goes on, as its execution does
		})
	}
}

// The ledger's base item, from which the exempt strategy renders the guardrail's document, is
// checked, not trusted: a planted base (root allowed everywhere) never becomes the guardrail.
func TestThreatPlantedBase(t *testing.T) {
	const planted = `{"Version":"2012-10-17","Statement":[{"Sid":"DenyRootUser","Effect":"Deny","NotAction":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":["arn:aws:iam::*:root"]}}}]}`
	for _, tt := range []struct {
		name   string
		pinned bool // the configured pin (the exempt strategy requires one)
		hash   string
	}{
		{"content replaced, hash left", false, ""},
		{"content and hash replaced, the pin configured", true, sha(planted)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := layoutEnv(t, "ou", contract.StrategyExempt)
			var metrics strings.Builder
			e.With(func(d *window.Deps) { d.Metrics = &metrics })
			e.lift(t, "req-1", members[0])
			if tt.pinned {
				e.With(func(d *window.Deps) { d.Config.GuardrailSHA256 = sha(orgemu.GuardrailContent) })
			}
			values := map[string]types.AttributeValue{":c": &types.AttributeValueMemberS{Value: planted}}
			update := "SET content = :c"
			if tt.hash != "" {
				update += ", sha256 = :h"
				values[":h"] = &types.AttributeValueMemberS{Value: tt.hash}
			}
			e.edit(t, "base#guardrail", update, values)
			e.Now = e.Now.Add(3 * time.Hour) // req-1's window is over: the sweep restores it
			_, _ = e.Steps.Sweep(context.Background())
			if doc := e.Org.Content(orgemu.GuardrailID); strings.Contains(doc, "NotAction") {
				t.Fatalf("the planted base became the guardrail:\n%s", doc)
			}
			for _, a := range members {
				if e.rootAllowed(a, e.Now) {
					t.Errorf("root allowed on %s", a)
				}
			}
			if !strings.Contains(metrics.String(), contract.MetricLedgerTampered) {
				t.Errorf("not alarmed: %q", metrics.String())
			}
		})
	}
}

// An account added to an OPEN record, with an end no window of rootwindow's has: the render
// leaves the record out (its accounts denied, failing closed) and alarms, rather than exempting
// the account and hiding it from drift.
func TestThreatExemptionAddedToAnOpenRecord(t *testing.T) {
	e := layoutEnv(t, "ou", contract.StrategyExempt)
	var metrics strings.Builder
	e.With(func(d *window.Deps) { d.Metrics = &metrics })
	e.lift(t, "req-1", members[0])
	e.edit(t, "request#req-1", "SET accountIds = :a, restoreAt = :r", map[string]types.AttributeValue{
		":a": list(members[0], members[1]), ":r": &types.AttributeValueMemberS{Value: t0.Add(30 * 24 * time.Hour).Format(time.RFC3339)},
	})
	_, _ = e.Steps.Sweep(context.Background())
	for _, a := range members[:2] {
		if e.rootAllowed(a, e.Now.Add(time.Hour)) {
			t.Errorf("root allowed on %s", a)
		}
	}
	if !strings.Contains(metrics.String(), contract.MetricLedgerTampered) {
		t.Errorf("not alarmed: %q", metrics.String())
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// An operator tightens the guardrail during a window (an emergency Deny): the window's restore
// takes back only its own exemption and keeps the operator's statement, rather than writing the
// base over it; GuardrailChanged is counted, and further lifts wait for a person.
func TestAnOperatorsTighteningIsKeptAcrossARestore(t *testing.T) {
	e := layoutEnv(t, "ou", contract.StrategyExempt)
	var metrics strings.Builder
	e.With(func(d *window.Deps) { d.Metrics = &metrics })
	e.lift(t, "req-1", members[0])
	live := e.Org.Content(orgemu.GuardrailID)
	tightened := strings.Replace(live, `"Statement":[`, `"Statement":[{"Sid":"EmergencyDenyS3","Effect":"Deny","Action":"s3:*","Resource":"*"},`, 1)
	e.Org.SetContent(orgemu.GuardrailID, tightened)
	if _, err := e.endEarly(t, "req-1", alice); err != nil {
		t.Fatal(err)
	}
	e.AssertStatus(t, "req-1", ledger.Closed)
	doc := e.Org.Content(orgemu.GuardrailID)
	if !strings.Contains(doc, "EmergencyDenyS3") {
		t.Fatalf("the operator's statement was written over:\n%s", doc)
	}
	if strings.Contains(doc, members[0]) || e.rootAllowed(members[0], e.Now) {
		t.Errorf("the window's exemption is still there:\n%s", doc)
	}
	if !strings.Contains(metrics.String(), contract.MetricGuardrailChanged) {
		t.Errorf("not reported: %q", metrics.String())
	}
	// A new lift is refused until a person puts the document back or re-pins it.
	if _, err := e.validate(t, "req-2", validRequest(members[1])); err == nil {
		t.Error("a lift was booked on a document rootwindow did not write")
	}
}

// An open window's lift undone outside rootwindow while it is open (its window SCP detached and
// deleted, the guardrail put back by hand, or another deployment rendering the shared guardrail
// without its exemption): the sweep closes the window, puts the guardrail back where it is not,
// and alarms (WindowCutShort), rather than leaving it reported OPEN. An intact window is left
// alone.
func TestAWindowCutShortIsClosedAndAlarmed(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name, strategy string
		undo           func(e *env, rec ledger.Record) // nil: nothing undone
	}{
		{"detach, intact", contract.StrategyDetach, nil},
		{"detach, window SCP deleted", contract.StrategyDetach, func(e *env, rec ledger.Record) {
			e.Org.Detach(members[0], rec.WindowPolicyID)
		}},
		{"detach, guardrail put back", contract.StrategyDetach, func(e *env, _ ledger.Record) {
			e.Org.Attach(members[0], orgemu.GuardrailID)
		}},
		{"exempt, intact", contract.StrategyExempt, nil},
		{"exempt, exemption gone", contract.StrategyExempt, func(e *env, _ ledger.Record) {
			// Another deployment's render of the shared guardrail: the root deny, no exemption.
			e.Org.SetContent(orgemu.GuardrailID, orgemu.GuardrailContent)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			layout := "direct"
			if tt.strategy == contract.StrategyExempt {
				layout = "ou"
			}
			e := layoutEnv(t, layout, tt.strategy)
			var metrics strings.Builder
			e.With(func(d *window.Deps) { d.Metrics = &metrics })
			rec := e.lift(t, "req-1", members[0])
			if tt.undo != nil {
				tt.undo(e, rec)
			}
			e.Now = e.Now.Add(30 * time.Minute)
			rep, err := e.Steps.Sweep(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tt.undo == nil {
				e.AssertStatus(t, "req-1", ledger.Open)
				if len(rep.CutShort) > 0 || strings.Contains(metrics.String(), contract.MetricWindowCutShort) || !e.rootAllowed(members[0], e.Now) {
					t.Errorf("an intact window was cut short: %+v", rep)
				}
				return
			}
			got := e.AssertStatus(t, "req-1", ledger.Closed)
			if len(rep.CutShort) != 1 || !strings.Contains(metrics.String(), contract.MetricWindowCutShort) {
				t.Errorf("not reported: %+v %q", rep, metrics.String())
			}
			if !strings.Contains(fmt.Sprint(got.History), "cut short outside rootwindow") {
				t.Errorf("history says %+v", got.History)
			}
			if e.rootAllowed(members[0], e.Now) {
				t.Error("root still allowed")
			}
		})
	}
}

// Every step binds itself to the execution that invoked it: a running execution of rootwindow's
// state machine (known by the role it runs as), named for the request, with the input the step
// was handed. A direct invocation that replays another execution's ARN, renames it, changes its
// input, names an execution that has ended, or one of another state machine, is refused before
// anything is read or written.
func TestThreatStepsBindToTheirExecution(t *testing.T) {
	ctx := context.Background()
	const mallorySM = "arn:aws:states:us-east-1:999999999999:stateMachine:mallory"
	for _, tt := range []struct {
		name string
		// forge turns bob's console execution req-1 (started, running) into what the attacker
		// hands Validate.
		forge func(e *env, in contract.ValidateInput) contract.ValidateInput
		want  string
	}{
		{"another person's execution replayed under a new name", func(_ *env, in contract.ValidateInput) contract.ValidateInput {
			in.Execution = "req-evil"
			return in
		}, `named "req-1", not "req-evil"`},
		{"a name with no execution", func(_ *env, in contract.ValidateInput) contract.ValidateInput {
			in.Execution, in.ExecutionARN = "req-evil", testenv.ExecutionARN("req-evil")
			return in
		}, "Step Functions has no execution"},
		{"the execution's input changed (more hours, another requester)", func(_ *env, in contract.ValidateInput) contract.ValidateInput {
			var env map[string]map[string]any
			_ = json.Unmarshal(in.Input, &env)
			env["request"]["hours"], env["request"]["requester"] = 4, bob
			in.Input, _ = json.Marshal(env)
			return in
		}, "the input is not the execution's"},
		{"an execution that has ended", func(e *env, in contract.ValidateInput) contract.ValidateInput {
			e.Emu.Ran(testenv.StateMachineARN, "req-1", nil, "ABORTED")
			return in
		}, "the execution is ABORTED, not running"},
		{"an execution of another state machine", func(e *env, in contract.ValidateInput) contract.ValidateInput {
			e.Emu.StateMachine(mallorySM, "arn:aws:iam::999999999999:role/mallory")
			e.Emu.Ran(mallorySM, "req-1", in.Input, "RUNNING")
			in.ExecutionARN = strings.Replace(mallorySM, ":stateMachine:", ":execution:", 1) + ":req-1"
			return in
		}, "not rootwindow's"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			in := e.Started("req-1", testenv.Input(t, validRequest(members[0])), testenv.Person(bob))
			_, err := e.Steps.Validate(ctx, tt.forge(e, in))
			var unbound *contract.NotBound
			if !errors.As(err, &unbound) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want NotBound with %q", err, tt.want)
			}
			for _, id := range []string{"req-1", "req-evil"} {
				if _, err := e.Store.Get(ctx, id); !errors.Is(err, ledger.ErrNotFound) {
					t.Errorf("%s was recorded: %v", id, err)
				}
			}
		})
	}

	// The lift too: a Detach for an execution that has ended, or without its execution, lifts
	// nothing; the approval token only from the execution waiting on it.
	e := newEnv(t)
	if _, err := e.validate(t, "req-1", validRequest(members[0])); err != nil {
		t.Fatal(err)
	}
	decided := testenv.Decided(t, e.Deps.Ledger, "req-1")
	for name, in := range map[string]contract.DetachInput{
		"no execution ARN": func() contract.DetachInput { d := decided; d.ExecutionARN = ""; return d }(),
		"another request's execution": func() contract.DetachInput {
			d := decided
			d.ExecutionARN = testenv.ExecutionARN("req-2")
			return d
		}(),
	} {
		if _, err := e.Steps.Detach(ctx, in); !errors.As(err, new(*contract.NotBound)) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	e.Emu.Ran(testenv.StateMachineARN, "req-1", nil, "ABORTED")
	if _, err := e.Steps.Detach(ctx, decided); !errors.As(err, new(*contract.NotBound)) {
		t.Errorf("an ended execution's lift: got %v", err)
	}
	if _, err := e.Steps.Validate(ctx, contract.ValidateInput{Execution: "req-1", ExecutionARN: testenv.ExecutionARN("req-1"), ApprovalToken: "planted"}); !errors.As(err, new(*contract.NotBound)) {
		t.Errorf("an approval token for an ended execution: got %v", err)
	}
	if n := e.Org.CountCalls("DetachPolicy", "") + e.Org.CountCalls("CreatePolicy", ""); n != 0 {
		t.Errorf("%d changes to the organization", n)
	}
	e.AssertGuardrail(t, true, members[0])
	e.AssertStatus(t, "req-1", ledger.Scheduled)
}

// Under exempt, the execution decides what the guardrail's document exempts, never a stored record
// alone. Another window's restore renders the document: a record whose accounts its execution was
// not started for, or that names an execution Step Functions does not have (a record planted in
// the ledger), is left out (its accounts denied, failing closed) and alarmed (LedgerTampered),
// and the sweep closes it; a record whose execution ended is left out without an alarm (its
// restore is due).
func TestThreatRecordsTheirExecutionsDoNotVouchFor(t *testing.T) {
	for _, tt := range []struct {
		name     string
		tamper   func(e *env)
		tampered bool
	}{
		{"an account added to a record named after its running execution", func(e *env) {
			e.edit(t, "request#req-1", "SET accountIds = :a", map[string]types.AttributeValue{":a": list(members[0], members[2])})
		}, true},
		{"a record naming an execution Step Functions does not have", func(e *env) {
			e.edit(t, "request#req-1", "SET executionArn = :x", map[string]types.AttributeValue{":x": &types.AttributeValueMemberS{Value: testenv.ExecutionARN("planted")}})
		}, true},
		{"a record whose execution ended", func(e *env) {
			e.Emu.Ran(testenv.StateMachineARN, "req-1", nil, "FAILED")
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := layoutEnv(t, "ou", contract.StrategyExempt)
			var metrics strings.Builder
			e.With(func(d *window.Deps) { d.Metrics = &metrics })
			e.lift(t, "req-1", members[0])
			e.lift(t, "req-2", members[1])
			tt.tamper(e)
			if _, err := e.endEarly(t, "req-2", alice); err != nil {
				t.Fatal(err)
			}
			for _, a := range members {
				if e.rootAllowed(a, e.Now) {
					t.Errorf("root allowed on %s after another window's restore:\n%s", a, e.Org.Content(orgemu.GuardrailID))
				}
			}
			if got := strings.Contains(metrics.String(), contract.MetricLedgerTampered); got != tt.tampered {
				t.Errorf("LedgerTampered counted %v: %q", got, metrics.String())
			}
			e.Now = e.Now.Add(10 * time.Minute)
			if _, err := e.Steps.Sweep(context.Background()); err != nil {
				t.Fatal(err)
			}
			e.AssertStatus(t, "req-1", ledger.Closed)
		})
	}
}

// Step Functions failing to say which state machine an execution belongs to is no verdict: the
// sweep's render leaves every window as it is and fails, to be tried again, rather than taking a
// window whose execution could not be asked about for one that is not rootwindow's (which would
// close it as tampered).
func TestAStateMachineThatCannotBeAskedAboutIsNoVerdict(t *testing.T) {
	e := layoutEnv(t, "ou", contract.StrategyExempt)
	e.lift(t, "req-1", members[0])
	var metrics strings.Builder
	e.With(func(d *window.Deps) { d.Metrics = &metrics }) // a fresh instance: no state machine known yet
	e.Emu.Fail(awsemu.OpDescribeStateMachine, 100)
	if _, err := e.Steps.Sweep(context.Background()); err == nil {
		t.Error("a sweep that could not ask Step Functions reported no error")
	}
	if !e.rootAllowed(members[0], e.Now) || strings.Contains(metrics.String(), contract.MetricLedgerTampered) {
		t.Errorf("an intact window was taken for a tampered one: %q", metrics.String())
	}
	e.AssertStatus(t, "req-1", ledger.Open)
}

// A restore comes first: when Step Functions cannot vouch for the other open windows, the restore
// renders the guardrail's document without them (failing closed) rather than fail and leave its
// own window's exemption in place.
func TestARestoreThatCannotAskStepFunctionsStillRestores(t *testing.T) {
	e := layoutEnv(t, "ou", contract.StrategyExempt)
	e.lift(t, "req-1", members[0])
	e.lift(t, "req-2", members[1])
	e.With(func(*window.Deps) {}) // a fresh instance: no state machine known yet
	e.Emu.Fail(awsemu.OpDescribeStateMachine, 100)
	if _, err := e.Steps.Reattach(context.Background(), contract.ReattachInput{RequestID: "req-2", Mode: contract.ModeClose, AccountIDs: []string{members[1]}}); err != nil {
		t.Fatalf("the restore failed: %v", err)
	}
	e.AssertStatus(t, "req-2", ledger.Closed)
	for _, a := range members[:2] {
		if e.rootAllowed(a, e.Now) {
			t.Errorf("root allowed on %s", a)
		}
	}
}

// One guardrail, one deployment: two deployments of rootwindow sharing a guardrail would undo
// each other's windows. The first lift claims the guardrail for its deployment; another deployment
// then lifts nothing (a request it booked before the claim included), books nothing, and its sweep
// says why; the first goes on.
func TestThreatASecondDeploymentOnAClaimedGuardrail(t *testing.T) {
	for _, strategy := range []string{contract.StrategyDetach, contract.StrategyExempt} {
		t.Run(strategy, func(t *testing.T) {
			ctx := context.Background()
			e := layoutEnv(t, "direct", strategy)
			other := &env{testenv.NewWindows(t, db, e.Org, e.Now)}
			api := e.Deps.Tree.(guardrail.OrganizationsAPI)
			other.With(func(d *window.Deps) {
				d.Config.LiftStrategy = strategy
				d.Guardrail = guardrail.New(api, orgemu.GuardrailID, guardrail.Options{Deployment: other.Table, Rates: guardrail.Unpaced})
			})
			if _, err := other.validate(t, "theirs", validRequest(members[1])); err != nil {
				t.Fatal(err) // booked while nobody claims the guardrail
			}
			e.lift(t, "ours", members[0])
			before := e.Org.Snapshot()

			_, err := other.Steps.Detach(ctx, testenv.Decided(t, other.Deps.Ledger, "theirs"))
			var failed *contract.DetachFailed
			if !errors.As(err, &failed) || !strings.Contains(failed.Msg, "claimed by another deployment") || !strings.Contains(failed.Msg, e.Table) {
				t.Errorf("the other deployment's lift: %v, want it refused naming the claim", err)
			}
			if after := e.Org.Snapshot(); !reflect.DeepEqual(after, before) {
				t.Errorf("the organization changed:\n%v\nwant\n%v", after, before)
			}
			if e.rootAllowed(members[1], e.Now.Add(time.Minute)) {
				t.Error("root allowed on the other deployment's account")
			}
			_, err = other.validate(t, "theirs-2", validRequest(members[2]))
			if rej := new(*contract.RequestRejected); !errors.As(err, rej) || !strings.Contains(err.Error(), "claimed by another deployment") {
				t.Errorf("the other deployment's booking: %v, want it refused naming the claim", err)
			}
			rep, err := other.Steps.Sweep(ctx)
			if err != nil || !strings.Contains(rep.Content, "claimed by another deployment") {
				t.Errorf("the other deployment's sweep: %q, %v, want the claim reported", rep.Content, err)
			}
			e.AssertStatus(t, "ours", ledger.Open)
			if !e.rootAllowed(members[0], e.Now.Add(time.Minute)) {
				t.Error("this deployment's window was cut short")
			}
			e.lift(t, "ours-2", members[2]) // the deployment that claims it goes on
		})
	}
}

// Only another deployment's claim, seen, refuses a lift: an organization whose root cannot be
// tagged (or a delegation that does not allow it) lifts as before claims, unclaimed.
func TestAGuardrailThatCannotBeClaimedStillLifts(t *testing.T) {
	for _, f := range []orgemu.Fault{
		{Op: "TagResource", Code: "InvalidInputException"},
		{Op: "ListTagsForResource", Code: "AccessDeniedException"},
		{Op: "ListTagsForResource", Code: "ServiceException"}, // still failing after the retries
	} {
		t.Run(f.Op+"/"+f.Code, func(t *testing.T) {
			e := newEnv(t)
			f.Target = e.Org.Root()
			e.Org.Inject(f)
			e.open(t, "req-1", members[0])
			e.AssertStatus(t, "req-1", ledger.Open)
			e.AssertGuardrail(t, false, members[0])
		})
	}
}
