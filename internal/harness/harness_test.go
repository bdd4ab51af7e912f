package harness_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/infra/stack"
	"github.com/rootwindow/rootwindow/internal/harness"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// One harness for the package: synthesizing the stack takes seconds. Each test gets a fresh
// ledger, a clean fault list and the organization as the harness made it; it must leave the
// organization as it found it (unchanged), and a test that does not fails alone.
var h *harness.Harness

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("skipped under -short: the harness runs the synthesized state machine with Node, jsii and dynalite")
		os.Exit(0)
	}
	var err error
	// Fifty members: the three the tests name, and enough for the 50-account benchmarks.
	members := []string{"111111111111", "222222222222", "333333333333"}
	for i := len(members); i < 50; i++ {
		members = append(members, fmt.Sprintf("4000000000%02d", i))
	}
	h, err = harness.Start(context.Background(), harness.Options{Members: members})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	h.Close()
	os.Exit(code)
}

type scenario struct {
	t      *testing.T
	before map[string][]string
	ctx    context.Context
}

func begin(t *testing.T) *scenario {
	t.Helper()
	h.Org.Reset()
	h.ResetOrganization()
	if err := h.NewLedger(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &scenario{t: t, before: h.Org.Snapshot(), ctx: context.Background()}
}

func request(accounts []string, hours int, extra map[string]any) json.RawMessage {
	req := map[string]any{"accountIds": accounts, "hours": hours, "reason": "Enable MFA delete (SEC-1234)", "requester": harness.Requester}
	for k, v := range extra {
		req[k] = v
	}
	b, _ := json.Marshal(map[string]any{"request": req, "origin": map[string]string{"channel": "stepfunctions"}})
	return b
}

func (s *scenario) run(name string, input json.RawMessage) harness.Result {
	s.t.Helper()
	res, err := h.Run(s.ctx, name, input)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("%s: %s in %v, states %v, invocations %v", name, res.Status, res.Took.Round(time.Millisecond), res.Entered(), res.Invocations)
	return res
}

func (s *scenario) record(id string) ledger.Record {
	s.t.Helper()
	rec, err := h.Ledger().Get(s.ctx, id)
	if err != nil {
		s.t.Fatal(err)
	}
	return rec
}

// unchanged asserts the organization is as it was at the start of the scenario, asking the
// Organizations API through the real client and comparing the emulator's whole state.
func (s *scenario) unchanged() {
	s.t.Helper()
	missing, err := h.Missing(s.ctx, h.Members())
	if err != nil {
		s.t.Fatal(err)
	}
	if len(missing) > 0 {
		s.t.Errorf("guardrail missing from %v", missing)
	}
	if after := h.Org.Snapshot(); !reflect.DeepEqual(s.before, after) {
		s.t.Errorf("organization changed:\nbefore %v\nafter  %v", s.before, after)
	}
}

// calls returns the successful Organizations calls of op, in order.
// calls lists the successful calls of op on the guardrail (AttachPolicy, DetachPolicy) or, for
// other operations, any.
func calls(op string) []orgemu.Call {
	var out []orgemu.Call
	for _, c := range h.Org.Calls() {
		if c.Op == op && c.Error == "" && (c.Policy == "" || c.Policy == h.PolicyID) {
			out = append(out, c)
		}
	}
	return out
}

func TestWindows(t *testing.T) {
	tests := []struct {
		name     string
		accounts []string
		hours    int
	}{
		{"one account, one hour", []string{"111111111111"}, 1},
		{"several accounts, four hours", []string{"333333333333", "111111111111", "222222222222"}, 4},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := begin(t)
			id := fmt.Sprintf("window-%d", i)
			res := s.run(id, request(tt.accounts, tt.hours, nil))
			if res.Status != "SUCCEEDED" {
				t.Fatalf("execution %s: %s %s", res.Status, res.Error, res.Cause)
			}
			want := []string{stack.StateValidate, stack.StateNeedsApproval, stack.StateStartsLater, stack.StateDetach, stack.StateOpened, stack.StateHold, stack.StateReattach, stack.StateClosed}
			if !reflect.DeepEqual(res.Entered(), want) {
				t.Errorf("states %v", res.Entered())
			}
			rec := s.record(id)
			if rec.Status != ledger.Closed {
				t.Errorf("status %s", rec.Status)
			}
			// The end is fixed when the lift begins (the window's SCP carries it): hours from then.
			opening := rec.History[1]
			if opening.Status != ledger.Opening || rec.RestoreAt != opening.At.Truncate(time.Second).Add(time.Duration(tt.hours)*time.Hour) || rec.RestoreAt.Sub(rec.OpenedAt) > time.Duration(tt.hours)*time.Hour {
				t.Errorf("opening at %v, opened at %v, restoreAt %v, want %d h from the opening", opening.At, rec.OpenedAt, rec.RestoreAt, tt.hours)
			}
			detaches, attaches := calls("DetachPolicy"), calls("AttachPolicy")
			if len(detaches) != len(tt.accounts) || len(attaches) != len(tt.accounts) {
				t.Fatalf("%d detaches, %d attaches for %d accounts", len(detaches), len(attaches), len(tt.accounts))
			}
			lastLift := detaches[len(detaches)-1].At
			if rec.OpenedAt.Before(lastLift.Truncate(time.Second)) {
				t.Errorf("window opened at %v, before the last account was lifted at %v", rec.OpenedAt, lastLift)
			}
			if first := attaches[0].At; first.Before(rec.RestoreAt) {
				t.Errorf("guardrail restored at %v, before the window ended at %v", first, rec.RestoreAt)
			}
			if last := attaches[len(attaches)-1].At; rec.ClosedAt.Before(last) {
				t.Errorf("closedAt %v, before the guardrail was back at %v", rec.ClosedAt, last)
			}
			var out struct{ Window contract.Opened }
			if err := json.Unmarshal(res.Output, &out); err != nil || out.Window.RestoreAt != rec.RestoreAt.Format(time.RFC3339) {
				t.Errorf("execution output window %+v (%v)", out.Window, err)
			}
			s.unchanged()
		})
	}
}

func TestScheduledStart(t *testing.T) {
	s := begin(t)
	startAt := h.Clock.Now().Add(3 * time.Hour).Truncate(time.Second)
	res := s.run("scheduled", request([]string{"222222222222"}, 1, map[string]any{"startAt": startAt.Format(time.RFC3339)}))
	if res.Status != "SUCCEEDED" {
		t.Fatalf("%s %s", res.Error, res.Cause)
	}
	if got := res.Entered(); len(got) < 5 || got[3] != stack.StateWaitStart {
		t.Errorf("states %v", got)
	}
	detaches := calls("DetachPolicy")
	if len(detaches) != 1 || detaches[0].At.Before(startAt) {
		t.Errorf("lifted at %v, before the start %v", detaches, startAt)
	}
	if rec := s.record("scheduled"); rec.OpenedAt.Before(startAt) || rec.Status != ledger.Closed {
		t.Errorf("record %+v", rec)
	}
	s.unchanged()
}

func TestInvalidRequestsAreRejected(t *testing.T) {
	tests := []struct {
		name  string
		input json.RawMessage
		cause []string
	}{
		{"every bad field", json.RawMessage(`{"request":{"accountIds":["12345","111111111111"],"hours":5,"startAt":"tomorrow","reason":" ","hour":2}}`),
			[]string{
				`hour: is not a field of the request`,
				`accountIds[0]: "12345" is not a 12-digit account ID`,
				`hours: must be from 1 to 4, got 5`,
				`startAt: "tomorrow" is not an RFC 3339 timestamp`,
				`reason: must not be blank`,
				// No "requester: is required": a console request's requester is whoever started
				// the execution (CloudTrail), whether or not the input names one.
			}},
		{"not an administrator", request([]string{"111111111111"}, 1, map[string]any{"requester": "mallory@example.com"}),
			[]string{`requester: "mallory@example.com" is not an administrator`}},
		{"management account", request([]string{harness.Management}, 1, nil),
			[]string{`accountIds[0]: 999999999999 is the organization's management account`}},
		{"not an envelope", json.RawMessage(`{"accountIds":["111111111111"],"hours":1}`),
			[]string{`input: must be {"request": {...}}`}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := begin(t)
			id := fmt.Sprintf("bad-%d", i)
			res := s.run(id, tt.input)
			if res.Status != "FAILED" || res.Error != contract.ErrRequestRejected {
				t.Fatalf("%s %s: %s", res.Status, res.Error, res.Cause)
			}
			for _, want := range tt.cause {
				if !strings.Contains(res.Cause, want) {
					t.Errorf("cause does not say %q:\n%s", want, res.Cause)
				}
			}
			if strings.HasPrefix(res.Cause, "{") {
				t.Errorf("cause is the raw Lambda error, not the list of problems: %s", res.Cause)
			}
			if got := res.Entered(); !reflect.DeepEqual(got, []string{stack.StateValidate, stack.StateExplain, stack.StateRejected}) {
				t.Errorf("states %v", got)
			}
			if n := len(calls("DetachPolicy")) + len(calls("AttachPolicy")); n != 0 {
				t.Errorf("%d changes to the organization", n)
			}
			s.unchanged()
		})
	}
}

// A guardrail attached to the account and to its OU cannot be lifted by the detach strategy:
// the request is refused, never reported OPEN while root is still blocked.
func TestMixedLayoutIsRejectedNotFalselyOpen(t *testing.T) {
	s := begin(t)
	h.Org.AddOU("ou-ex01-mixedlay", h.Org.Root(), orgemu.FullAWSAccessID, orgemu.GuardrailID)
	h.Org.AddAccount(orgemu.Account{ID: "555555555555", Parent: "ou-ex01-mixedlay", Tags: map[string]string{"owner": harness.Owner}}, orgemu.FullAWSAccessID, orgemu.GuardrailID)
	s.before = h.Org.Snapshot()
	res := s.run("mixed", request([]string{"555555555555"}, 1, nil))
	if res.Error != contract.ErrRequestRejected || !strings.Contains(res.Cause, "also inherits it from ou-ex01-mixedlay") {
		t.Fatalf("%s: %s", res.Error, res.Cause)
	}
	if rec := s.record("mixed"); rec.Status != ledger.Rejected {
		t.Errorf("recorded %s", rec.Status)
	}
	if h.Org.RootAllowed("555555555555", h.Clock.Now(), false) {
		t.Error("root allowed")
	}
	s.unchanged()
}

func TestInheritedGuardrailIsRejected(t *testing.T) {
	s := begin(t)
	h.Org.AddOU("ou-ex01-inherits", h.Org.Root(), orgemu.FullAWSAccessID, orgemu.GuardrailID)
	h.Org.AddAccount(orgemu.Account{ID: "444444444444", Parent: "ou-ex01-inherits", Tags: map[string]string{"owner": harness.Owner}}, orgemu.FullAWSAccessID)
	s.before = h.Org.Snapshot()
	res := s.run("inherited", request([]string{"111111111111", "444444444444"}, 1, nil))
	if res.Error != contract.ErrRequestRejected || !strings.Contains(res.Cause, "accountIds[1]: 444444444444 inherits the guardrail p-rootguard01 from ou-ex01-inherits") {
		t.Fatalf("%s: %s", res.Error, res.Cause)
	}
	if n := len(calls("DetachPolicy")); n != 0 {
		t.Errorf("%d detaches", n)
	}
	s.unchanged()
}

func TestDetachFailingPartWayPutsEverythingBack(t *testing.T) {
	s := begin(t)
	h.Org.Inject(orgemu.Fault{Op: "DetachPolicy", Target: "333333333333", Policy: orgemu.GuardrailID, Code: "AccessDeniedException"})
	res := s.run("partway", request(h.Members(), 2, nil))
	if res.Status != "FAILED" || res.Error != contract.ErrDetachFailed {
		t.Fatalf("%s %s %s", res.Status, res.Error, res.Cause)
	}
	if !strings.Contains(res.Cause, "333333333333 (AccessDeniedException)") {
		t.Errorf("cause %s", res.Cause)
	}
	if got := res.Entered(); got[len(got)-2] != stack.StateCompensate || got[len(got)-1] != stack.StateNotOpened {
		t.Errorf("states %v", got)
	}
	if len(calls("DetachPolicy")) == 0 {
		t.Error("nothing was lifted before the failure: compensation untested")
	}
	rec := s.record("partway")
	if rec.Status != ledger.Failed || !strings.Contains(rec.LastError, "AccessDeniedException") {
		t.Errorf("ledger %s %q", rec.Status, rec.LastError)
	}
	s.unchanged()
}

func TestRestoreSurvivesThrottlingAndConflicts(t *testing.T) {
	s := begin(t)
	// More failures than one invocation's retries: the state machine must retry the task.
	h.Org.Inject(orgemu.Fault{Op: "AttachPolicy", Target: "111111111111", Policy: orgemu.GuardrailID, Code: "TooManyRequestsException", Times: 8})
	h.Org.Inject(orgemu.Fault{Op: "AttachPolicy", Target: "222222222222", Policy: orgemu.GuardrailID, Code: "ConcurrentModificationException", Times: 8})
	res := s.run("flaky-restore", request(h.Members()[:2], 1, nil))
	if res.Status != "SUCCEEDED" {
		t.Fatalf("%s %s", res.Error, res.Cause)
	}
	retried := 0
	for _, e := range res.Events {
		if e.Type == "StateRetried" && e.State == stack.StateReattach {
			retried++
		}
	}
	if retried == 0 || res.Invocations[contract.TaskReattach] < 2 {
		t.Errorf("the restore was never retried by the state machine (%d retries, %v)", retried, res.Invocations)
	}
	if h.Org.CountCalls("AttachPolicy", "TooManyRequestsException") != 8 || h.Org.CountCalls("AttachPolicy", "ConcurrentModificationException") != 8 {
		t.Error("the injected faults were not all met")
	}
	if rec := s.record("flaky-restore"); rec.Status != ledger.Closed {
		t.Errorf("status %s", rec.Status)
	}
	s.unchanged()
}

func TestSecondRequestForAHeldAccount(t *testing.T) {
	s := begin(t)
	// The first request holds 222222222222 for a window starting in two hours.
	first, err := h.Steps().Validate(s.ctx, testenv.Started(h.AWS, "holder",
		request([]string{"222222222222"}, 3, map[string]any{"startAt": h.Clock.Now().Add(2 * time.Hour).Format(time.RFC3339)}),
		testenv.Person(harness.Requester), h.Clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	res := s.run("second", request([]string{"111111111111", "222222222222"}, 1, nil))
	if res.Error != contract.ErrRequestRejected {
		t.Fatalf("%s %s", res.Status, res.Error)
	}
	start, _ := time.Parse(time.RFC3339, first.StartAt)
	want := fmt.Sprintf("accountIds[1]: 222222222222 already has a window: request holder holds it until %s", start.Add(3*time.Hour).Format(time.RFC3339))
	if !strings.Contains(res.Cause, want) {
		t.Errorf("cause %q\nwant %q", res.Cause, want)
	}
	if n := len(calls("DetachPolicy")); n != 0 {
		t.Errorf("%d detaches", n)
	}
	s.unchanged()
}

func TestDemoTimeline(t *testing.T) {
	begin(t)
	var out strings.Builder
	err := h.RunDemo(context.Background(), &out, harness.Demo{Accounts: h.Members()[:2], Hours: 2, Fault: "detach-partway", Requester: harness.Requester})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	for _, want := range []string{
		"fault         detach-partway",
		"org       DetachPolicy 222222222222: AccessDeniedException",
		"state     " + stack.StateCompensate,
		"execution     FAILED with DetachFailed",
		"check         root blocked on every account; attachments and policies exactly as before the run",
		"111111111111   denied   ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo does not show %q", want)
		}
	}
	if err := h.InjectFault("gremlins", nil); err == nil {
		t.Error("an unknown fault was accepted")
	}
	if err := h.SetLayout("diagonal"); err == nil {
		t.Error("an unknown layout was accepted")
	}
}

// The demo in a layout only the exempt strategy lifts: the evaluator's verdicts show the window.
func TestDemoLayout(t *testing.T) {
	begin(t)
	t.Cleanup(func() {
		for _, a := range h.Members() {
			h.Org.MoveAccount(a, h.Org.Root())
			h.Org.Attach(a, orgemu.GuardrailID)
		}
		h.Org.Detach("ou-demo-members", orgemu.GuardrailID)
		_ = h.Configure(context.Background(), nil)
	})
	var out strings.Builder
	if err := h.RunDemo(context.Background(), &out, harness.Demo{Accounts: h.Members()[:1], Hours: 1, Fault: "none", Requester: harness.Requester, Layout: "ou"}); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	for _, want := range []string{"lifted by     exempt", "111111111111   denied   ALLOWED         denied                             denied", "exactly as before the run"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo does not show %q", want)
		}
	}
}

// make demo CHANNEL=cli: the rootwindow command asks for the window, naming its task, through a
// local API Gateway stand-in that checks its signature, follows it to the end (its polls are
// timers of the virtual clock: it sees the window OPEN, then CLOSED), and exits 0.
func TestDemoThroughTheCLI(t *testing.T) {
	begin(t)
	var out strings.Builder
	if err := h.RunDemo(context.Background(), &out, harness.Demo{Accounts: h.Members()[:1], Hours: 1, Fault: "none", Requester: harness.Requester, Channel: "cli", Task: "s3-mfa-delete"}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"the CLI said:", "accepted: [111111111111], 1 h", "OPEN [111111111111]: the guardrail is lifted until", "CLOSED [111111111111]: the guardrail is back since", "exactly as before the run"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo does not show %q:\n%s", want, out.String())
		}
	}
}
