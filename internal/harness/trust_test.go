package harness_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootwindow/rootwindow/internal/harness"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	rwrequest "github.com/rootwindow/rootwindow/pkg/request"
)

// Threats to the ledger and to a booking, each through the synthesized state machine over the
// real handlers: someone else acts between two of rootwindow's steps. Each is refused with a
// clear reason, nothing is lifted that should not be, and the organization ends as it began.

func (s *scenario) edit(key, update string, values map[string]types.AttributeValue) {
	s.t.Helper()
	if err := h.EditLedger(s.ctx, key, update, values); err != nil {
		s.t.Error(err)
	}
}

func TestThreatReusedExecutionName(t *testing.T) {
	s := begin(t)
	if res := s.run("reuse-1", request([]string{"111111111111"}, 1, nil)); res.Status != "SUCCEEDED" {
		t.Fatalf("first request: %s %s", res.Status, res.Cause)
	}
	detaches := len(calls("DetachPolicy"))
	res := s.run("reuse-1", request([]string{"111111111111", "222222222222"}, 4, nil))
	if res.Error != contract.ErrRequestRejected || !strings.Contains(res.Cause, `"reuse-1" is already request reuse-1, which asked for something else`) {
		t.Fatalf("%s %s: %s", res.Status, res.Error, res.Cause)
	}
	if n := len(calls("DetachPolicy")); n != detaches {
		t.Errorf("%d more detaches", n-detaches)
	}
	if rec := s.record("reuse-1"); rec.Status != ledger.Closed || len(rec.AccountIDs) != 1 || rec.Hours != 1 {
		t.Errorf("the first request's record changed: %s %v %d h", rec.Status, rec.AccountIDs, rec.Hours)
	}
	s.unchanged()
}

func TestThreatLedgerRecordEditedBeforeTheLift(t *testing.T) {
	s := begin(t)
	h.BeforeInvoke(contract.TaskDetach, func(context.Context) {
		s.edit("request#edited-1", "SET accountIds = :a, hours = :h", map[string]types.AttributeValue{
			":a": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "111111111111"}, &types.AttributeValueMemberS{Value: "222222222222"}}},
			":h": &types.AttributeValueMemberN{Value: "4"},
		})
	})
	res := s.run("edited-1", request([]string{"111111111111"}, 1, nil))
	if res.Status != "FAILED" || res.Error != contract.ErrDetachFailed || !strings.Contains(res.Cause, "disagrees with what its execution decided") {
		t.Fatalf("%s %s: %s", res.Status, res.Error, res.Cause)
	}
	if n := len(calls("DetachPolicy")); n != 0 {
		t.Errorf("%d detaches", n)
	}
	if rec := s.record("edited-1"); rec.Status != ledger.Failed {
		t.Errorf("record %s", rec.Status)
	}
	s.unchanged()
}

func TestThreatOwnerTagRemovedBetweenBookingAndLift(t *testing.T) {
	s := begin(t)
	h.BeforeInvoke(contract.TaskDetach, func(context.Context) { h.Org.SetTag("222222222222", "owner", "bob@example.com") })
	t.Cleanup(func() { h.Org.SetTag("222222222222", "owner", harness.Owner) })
	res := s.run("retagged-1", request([]string{"111111111111", "222222222222"}, 1, nil))
	if res.Status != "FAILED" || res.Error != contract.ErrRequestRejected || !strings.Contains(res.Cause, "is not an owner of 222222222222") {
		t.Fatalf("%s %s: %s", res.Status, res.Error, res.Cause)
	}
	if n := len(calls("DetachPolicy")); n != 0 {
		t.Errorf("%d detaches", n)
	}
	rec := s.record("retagged-1")
	if rec.Status != ledger.Failed || !strings.Contains(rec.LastError, "withdrawn at the lift") {
		t.Errorf("record %s: %q", rec.Status, rec.LastError)
	}
	s.unchanged()
}

func TestThreatPlantedLeaseBeforeTheRestore(t *testing.T) {
	s := begin(t)
	h.BeforeInvoke(contract.TaskReattach, func(context.Context) {
		s.edit("lease#111111111111", "SET requestId = :r", map[string]types.AttributeValue{":r": &types.AttributeValueMemberS{Value: "ghost"}})
	})
	res := s.run("planted-1", request([]string{"111111111111", "222222222222"}, 1, nil))
	if res.Status != "SUCCEEDED" {
		t.Fatalf("%s %s: %s", res.Status, res.Error, res.Cause)
	}
	if rec := s.record("planted-1"); rec.Status != ledger.Closed {
		t.Errorf("record %s", rec.Status)
	}
	s.unchanged() // the guardrail is back on 111111111111 although its lease names another request
}

// A record and lease planted to make an account look like it is in an open window (so that
// neither the restore nor drift detection touches it) are settled by the next sweep: no
// execution of rootwindow's runs for that request, so the guardrail goes back at once.
func TestThreatPlantedOpenRecordHidingALiftedAccount(t *testing.T) {
	s := begin(t)
	store, now := h.Ledger(), h.Clock.Now()
	if _, err := store.Reserve(s.ctx, ledger.Record{RequestID: "planted-open", Fields: rwrequest.Fields{Requester: harness.Requester, Reason: "nothing",
		AccountIDs: []string{"111111111111"}, Hours: 4, StartAt: now}}, "mallory"); err != nil {
		t.Fatal(err)
	}
	for _, to := range []ledger.Status{ledger.Opening, ledger.Open} {
		if _, err := store.Transition(s.ctx, "planted-open", to, "mallory", "", ledger.Change{OpenedAt: now, RestoreAt: now.Add(4 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	h.Org.Detach("111111111111", orgemu.GuardrailID) // lifted behind rootwindow's back
	h.Clock.Advance(10 * time.Minute)                // hours before the planted window's end
	if err := h.Sweep(s.ctx); err != nil {
		t.Fatal(err)
	}
	if rec := s.record("planted-open"); rec.Status != ledger.Closed || !strings.Contains(rec.History[len(rec.History)-1].Note+rec.History[len(rec.History)-2].Note, "no execution") {
		t.Errorf("planted record %s: %+v", rec.Status, rec.History)
	}
	s.unchanged()
}

// The console door, through the synthesized state machine: the requester is whoever CloudTrail
// says started the execution.
func TestThreatConsoleInputNamingAnotherRequester(t *testing.T) {
	s := begin(t)
	bob := testenv.Person("arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/bob@example.com")
	res, err := h.RunWith(s.ctx, "named-1", request([]string{"111111111111"}, 1, nil), harness.RunOptions{StartedBy: &bob})
	if err != nil {
		t.Fatal(err)
	}
	if res.Error != contract.ErrRequestRejected || !strings.Contains(res.Cause, "does not match the authenticated caller \""+bob.ARN+"\"") {
		t.Fatalf("%s %s: %s", res.Status, res.Error, res.Cause)
	}
	if n := len(calls("DetachPolicy")); n != 0 {
		t.Errorf("%d detaches", n)
	}
	s.unchanged()
}

func TestThreatForgedOrigin(t *testing.T) {
	s := begin(t)
	input, _ := json.Marshal(map[string]any{
		"request": map[string]any{"accountIds": []string{"111111111111"}, "hours": 1, "reason": "x (SEC-1)", "requester": harness.Requester},
		"origin":  map[string]string{"channel": "api", "caller": "arn:aws:sts::999999999999:assumed-role/Ops/mallory"},
	})
	if res := s.run("forged-1", input); res.Status != "SUCCEEDED" {
		t.Fatalf("%s %s: %s", res.Status, res.Error, res.Cause)
	}
	if rec := s.record("forged-1"); !reflect.DeepEqual(rec.Origin, contract.Origin{Channel: contract.ChannelStepFunctions, Caller: harness.Requester}) {
		t.Errorf("origin %+v: taken from the input", rec.Origin)
	}
	s.unchanged()
}

// CloudTrail records the StartExecution call late: the state machine asks again (RequesterUnknown
// is retried) and the request goes through once it is there.
func TestRequesterFoundOnceCloudTrailHasTheEvent(t *testing.T) {
	s := begin(t)
	h.AWS.DelayTrail(2)
	res := s.run("late-trail", request([]string{"111111111111"}, 1, nil))
	if res.Status != "SUCCEEDED" || res.Invocations[contract.TaskValidate] != 3 {
		t.Fatalf("%s %s %s, validate invoked %d times", res.Status, res.Error, res.Cause, res.Invocations[contract.TaskValidate])
	}
	s.unchanged()
}

func TestThreatGuardrailContentChangedBeforeTheLift(t *testing.T) {
	s := begin(t)
	h.BeforeInvoke(contract.TaskDetach, func(context.Context) {
		h.Org.SetContent(orgemu.GuardrailID, `{"Version":"2012-10-17","Statement":[{"Sid":"DenyRootUser","Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":["arn:aws:iam::*:root"]}}}]}`)
	})
	t.Cleanup(func() { h.Org.SetContent(orgemu.GuardrailID, orgemu.GuardrailContent) })
	res := s.run("content-1", request([]string{"111111111111"}, 1, nil))
	if res.Status != "FAILED" || res.Error != contract.ErrDetachFailed || !strings.Contains(res.Cause, "document changed since it was pinned") {
		t.Fatalf("%s %s: %s", res.Status, res.Error, res.Cause)
	}
	if n := len(calls("DetachPolicy")); n != 0 {
		t.Errorf("%d detaches", n)
	}
	h.Org.SetContent(orgemu.GuardrailID, orgemu.GuardrailContent) // put back by its operator
	s.unchanged()
}

// Each limit, through the synthesized state machine: the request is refused naming the limit,
// nothing lifted.
func TestLimitsRefuseThroughTheStateMachine(t *testing.T) {
	for _, tt := range []struct {
		name  string
		env   map[string]string
		first []string // a window run to its end first, on these accounts
		held  []string // a window booked for later first, on these accounts
		ask   []string
		want  string
	}{
		{"cooldown", map[string]string{contract.EnvCooldownMinutes: "60"}, []string{"111111111111"}, nil, []string{"111111111111"}, "(cooldownMinutes is 60)"},
		{"concurrent windows", map[string]string{contract.EnvMaxConcurrentPerUser: "1"}, nil, []string{"222222222222"}, []string{"111111111111"}, "(maxConcurrentWindowsPerRequester)"},
		{"windows a day", map[string]string{contract.EnvMaxDailyPerUser: "1"}, []string{"222222222222"}, nil, []string{"111111111111"}, "(maxWindowsPerRequesterPerDay)"},
		{"accounts at once", map[string]string{contract.EnvMaxAccountsAtOnce: "2"}, nil, []string{"222222222222"}, []string{"111111111111", "333333333333"}, "(maxAccountsLiftedAtOnce)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := begin(t)
			if err := h.Configure(s.ctx, tt.env); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = h.Configure(s.ctx, nil) })
			if tt.first != nil {
				if res := s.run("first", request(tt.first, 1, nil)); res.Status != "SUCCEEDED" {
					t.Fatalf("first: %s %s", res.Status, res.Cause)
				}
			}
			if tt.held != nil {
				later := map[string]any{"startAt": h.Clock.Now().Add(6 * time.Hour).Format(time.RFC3339)}
				if _, err := h.Steps().Validate(s.ctx, testenv.Started(h.AWS, "held", request(tt.held, 1, later), testenv.Person(harness.Requester), h.Clock.Now())); err != nil {
					t.Fatal(err)
				}
			}
			detaches := len(calls("DetachPolicy"))
			res := s.run("limited", request(tt.ask, 1, nil))
			if res.Error != contract.ErrRequestRejected || !strings.Contains(res.Cause, tt.want) {
				t.Fatalf("%s %s: %s", res.Status, res.Error, res.Cause)
			}
			if n := len(calls("DetachPolicy")); n != detaches {
				t.Errorf("%d more detaches", n-detaches)
			}
			s.unchanged()
		})
	}
}
