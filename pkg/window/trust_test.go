package window_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/stepfunctions"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// The ledger is a table; these tests write to it as someone with DynamoDB access might, between
// rootwindow's steps, and check that what the execution decided wins.

func (e *env) edit(t *testing.T, key, update string, values map[string]types.AttributeValue) {
	t.Helper()
	_, err := db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(e.Table), Key: map[string]types.AttributeValue{contract.KeyAttribute: &types.AttributeValueMemberS{Value: key}},
		UpdateExpression: aws.String(update), ExpressionAttributeValues: values,
	})
	if err != nil {
		t.Fatal(err)
	}
}

func list(ids ...string) types.AttributeValue {
	l := make([]types.AttributeValue, len(ids))
	for i, id := range ids {
		l[i] = &types.AttributeValueMemberS{Value: id}
	}
	return &types.AttributeValueMemberL{Value: l}
}

func TestAnExecutionNamedAfterAnotherRequestIsRefused(t *testing.T) {
	e := newEnv(t)
	if _, err := e.validate(t, "req-1", validRequest(members[0])); err != nil {
		t.Fatal(err)
	}
	_, err := e.validate(t, "req-1", validRequest(members[0], members[1]))
	var rej *contract.RequestRejected
	if !errors.As(err, &rej) || !strings.Contains(rej.Error(), `"req-1" is already request req-1, which asked for something else`) {
		t.Fatalf("got %v", err)
	}
	rec := e.AssertStatus(t, "req-1", ledger.Scheduled)
	if len(rec.AccountIDs) != 1 || len(rec.History) != 1 {
		t.Errorf("the existing request changed: %+v", rec)
	}
	// The same request again (a retry of Validate) is answered as before.
	if w, err := e.validate(t, "req-1", validRequest(members[0])); err != nil || w.RequestID != "req-1" {
		t.Errorf("retry: %+v, %v", w, err)
	}
}

func TestARecordEditedBeforeTheLiftIsNotLifted(t *testing.T) {
	for name, edit := range map[string]func(e *env){
		"accounts added": func(e *env) {
			e.edit(t, "request#req-1", "SET accountIds = :a", map[string]types.AttributeValue{":a": list(members[0], members[1])})
		},
		"hours raised": func(e *env) {
			e.edit(t, "request#req-1", "SET hours = :h", map[string]types.AttributeValue{":h": &types.AttributeValueMemberN{Value: "4"}})
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			var metrics bytes.Buffer
			e.With(func(d *window.Deps) { d.Metrics = &metrics })
			w, err := e.validate(t, "req-1", validRequest(members[0]))
			if err != nil {
				t.Fatal(err)
			}
			edit(e)
			_, err = e.Steps.Detach(context.Background(), contract.DetachInput{RequestID: "req-1", ExecutionARN: testenv.ExecutionARN("req-1"), AccountIDs: w.AccountIDs, Hours: w.Hours})
			var failed *contract.DetachFailed
			if !errors.As(err, &failed) || !strings.Contains(failed.Msg, "disagrees with what its execution decided") {
				t.Fatalf("got %v", err)
			}
			if e.Org.CountCalls("DetachPolicy", "") != 0 {
				t.Error("something was lifted")
			}
			if !strings.Contains(metrics.String(), contract.MetricLedgerTampered) {
				t.Errorf("not reported: %q", metrics.String())
			}
			// The state machine compensates: the request ends FAILED, the guardrail everywhere.
			if _, err := e.Steps.Reattach(context.Background(), contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeCompensate, Cause: "DetachFailed"}); err != nil {
				t.Fatal(err)
			}
			e.AssertStatus(t, "req-1", ledger.Failed)
			e.AssertGuardrail(t, true, members...)
		})
	}
}

func TestAPlantedLeaseDoesNotStopTheRestore(t *testing.T) {
	e := newEnv(t)
	var metrics bytes.Buffer
	e.With(func(d *window.Deps) { d.Metrics = &metrics })
	e.open(t, "req-1", members[0])
	e.AssertGuardrail(t, false, members[0])
	// Someone hands the lease to a request that does not exist, hoping the restore skips it.
	e.edit(t, "lease#"+members[0], "SET requestId = :r", map[string]types.AttributeValue{":r": &types.AttributeValueMemberS{Value: "ghost"}})
	if _, err := e.Steps.Reattach(context.Background(), contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeClose, AccountIDs: []string{members[0]}}); err != nil {
		t.Fatal(err)
	}
	e.AssertGuardrail(t, true, members[0])
	e.AssertStatus(t, "req-1", ledger.Closed)
	if !strings.Contains(metrics.String(), contract.MetricLedgerTampered) {
		t.Errorf("not reported: %q", metrics.String())
	}
}

func TestARealWindowsLeaseIsStillRespected(t *testing.T) {
	e := newEnv(t)
	e.open(t, "req-1", members[0])
	if _, err := e.Steps.Reattach(context.Background(), contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeClose}); err != nil {
		t.Fatal(err)
	}
	e.open(t, "req-2", members[0])
	// A late restore of req-1 (its accounts now req-2's) must leave req-2's window alone.
	if _, err := e.Steps.Restore(context.Background(), "req-1", false, "", []string{members[0]}); err != nil {
		t.Fatal(err)
	}
	e.AssertGuardrail(t, false, members[0])
}

func TestTheRestoreCoversAccountsTheRecordLost(t *testing.T) {
	e := newEnv(t)
	e.open(t, "req-1", members[0], members[1])
	e.edit(t, "request#req-1", "SET accountIds = :a", map[string]types.AttributeValue{":a": list(members[0])})
	if _, err := e.Steps.Reattach(context.Background(), contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeClose, AccountIDs: []string{members[0], members[1]}}); err != nil {
		t.Fatal(err)
	}
	e.AssertGuardrail(t, true, members[0], members[1])
	if leases, _ := e.Store.Leases(context.Background(), members); len(leases) != 0 {
		t.Errorf("leases left: %v", leases)
	}
}

func TestAnOwnerRemovedSinceTheBookingDoesNotGetTheWindow(t *testing.T) {
	e := newEnv(t)
	w, err := e.validate(t, "req-1", validRequest(members[0], members[1]))
	if err != nil {
		t.Fatal(err)
	}
	e.Org.SetTag(members[1], "owner", "bob@example.com")
	_, err = e.Steps.Detach(context.Background(), contract.DetachInput{RequestID: "req-1", ExecutionARN: testenv.ExecutionARN("req-1"), AccountIDs: w.AccountIDs, Hours: w.Hours})
	var rej *contract.RequestRejected
	if !errors.As(err, &rej) || !strings.Contains(rej.Error(), `accountIds[1]: "`+alice+`" is not an owner of 222222222222`) {
		t.Fatalf("got %v", err)
	}
	if n := e.Org.CountCalls("DetachPolicy", ""); n != 0 {
		t.Errorf("%d accounts lifted", n)
	}
	rec := e.AssertStatus(t, "req-1", ledger.Failed)
	if !strings.Contains(rec.LastError, "withdrawn at the lift") {
		t.Errorf("why: %q", rec.LastError)
	}
	if leases, _ := e.Store.Leases(context.Background(), members); len(leases) != 0 {
		t.Errorf("leases kept: %v", leases)
	}
	if got := e.published(t); got[len(got)-1] != "Root Access Window Failed" {
		t.Errorf("announced %v", got)
	}
	e.AssertGuardrail(t, true, members...)
}

// A request that holds its accounts but whose execution no longer runs, or never existed (a record
// rootwindow's workflow never ran), is settled by the sweep at once, not at its planned end. The
// sweep asks Step Functions through the real SDK client (the emulator answers DescribeExecution).
func TestSweepSettlesRequestsWhoseExecutionIsNotRunning(t *testing.T) {
	const sm = sampleStateMachine // the sweeper's; the steps' executions are testenv's
	for _, tt := range []struct {
		name      string
		execution string // "" for none
		age       time.Duration
		settled   bool
		lifted    bool // the request opened (else it is only booked)
	}{
		{"no execution", "", 10 * time.Minute, true, true},
		{"execution aborted, rescue lost", "ABORTED", 10 * time.Minute, true, true},
		{"execution running", "RUNNING", 10 * time.Minute, false, true},
		// The API records a request, then starts its execution: a booking that young is left be.
		{"just recorded, execution not started yet", "", time.Minute, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			cfg := testenv.AWSConfig()
			cfg.Retryer = testenv.ConnectionRetries
			e.With(func(d *window.Deps) {
				d.Executions = stepfunctions.New(sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.BaseEndpoint = aws.String(e.Emu.URL()) }))
			})
			e.With(func(d *window.Deps) { d.Config.StateMachineARN = sm })
			if tt.lifted {
				e.open(t, "req-1", members[0])
			} else if _, err := e.validate(t, "req-1", validRequest(members[0])); err != nil {
				t.Fatal(err)
			}
			// The record names its execution of the sweeper's state machine, as in AWS, where
			// there is one.
			e.edit(t, "request#req-1", "SET executionArn = :x", map[string]types.AttributeValue{
				":x": &types.AttributeValueMemberS{Value: strings.Replace(sm, ":stateMachine:", ":execution:", 1) + ":req-1"},
			})
			if tt.execution != "" {
				e.Emu.Ran(sm, "req-1", testenv.Input(t, validRequest(members[0])), tt.execution)
			}
			e.Now = e.Now.Add(tt.age) // well before the window's end
			rep, err := e.Steps.Sweep(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := len(rep.Settled) == 1; got != tt.settled {
				t.Fatalf("settled %v, want %v (%+v)", rep.Settled, tt.settled, rep)
			}
			if tt.settled {
				e.AssertStatus(t, "req-1", ledger.Closed)
				e.AssertGuardrail(t, true, members[0])
			} else {
				e.AssertGuardrail(t, !tt.lifted, members[0])
			}
		})
	}
}

const bob = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_abc/bob@example.com"

// The console door: the requester is whoever started the execution, as CloudTrail recorded the
// StartExecution call; what the input says about who asks, or how it arrived, is not believed.
func TestConsoleRequesterIsWhoStartedTheExecution(t *testing.T) {
	t.Run("input naming another requester", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.Steps.Validate(context.Background(), e.Started("req-1", testenv.Input(t, validRequest(members[0])), testenv.Person(bob)))
		var rej *contract.RequestRejected
		if !errors.As(err, &rej) || !strings.Contains(rej.Error(), `requester: "`+alice[:64]+`…" does not match the authenticated caller "`+bob+`"`) {
			t.Fatalf("got %v", err)
		}
		if e.Writes() != 0 {
			t.Error("something was lifted")
		}
	})
	t.Run("no requester named: the starter asks", func(t *testing.T) {
		e := newEnv(t)
		req := validRequest(members[0])
		delete(req, "requester")
		if _, err := e.Steps.Validate(context.Background(), e.Started("req-1", testenv.Input(t, req), testenv.Person(alice))); err != nil {
			t.Fatal(err)
		}
		if rec := e.AssertStatus(t, "req-1", ledger.Scheduled); rec.Requester != alice {
			t.Errorf("requester %q", rec.Requester)
		}
	})
	t.Run("forged origin", func(t *testing.T) {
		e := newEnv(t)
		b, _ := json.Marshal(map[string]any{"request": validRequest(members[0]),
			"origin": map[string]string{"channel": "api", "caller": "arn:aws:sts::999999999999:assumed-role/Ops/mallory", "eventId": "forged-event"}})
		if _, err := e.Steps.Validate(context.Background(), e.Started("req-1", b, testenv.Person(alice))); err != nil {
			t.Fatal(err)
		}
		rec := e.AssertStatus(t, "req-1", ledger.Scheduled)
		if !reflect.DeepEqual(rec.Origin, contract.Origin{Channel: contract.ChannelStepFunctions, Caller: alice}) {
			t.Errorf("origin %+v: read from the input", rec.Origin)
		}
		if got := e.detail(t, 0); got.Origin.Channel != contract.ChannelStepFunctions || got.Origin.Caller != alice {
			t.Errorf("announced origin %+v", got.Origin)
		}
	})
	t.Run("an EventBridge origin from the console", func(t *testing.T) {
		e := newEnv(t)
		b, _ := json.Marshal(map[string]any{"request": validRequest(members[0]),
			"origin": map[string]string{"channel": "eventbridge", "eventId": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "sourceAccount": members[0]}})
		if _, err := e.Steps.Validate(context.Background(), e.Started("req-1", b, testenv.Person(alice))); err != nil {
			t.Fatal(err)
		}
		if rec := e.AssertStatus(t, "req-1", ledger.Scheduled); rec.Origin.Channel != contract.ChannelStepFunctions || rec.Origin.EventID != "" {
			t.Errorf("origin %+v", rec.Origin)
		}
	})
	t.Run("started by the API's role without a record", func(t *testing.T) {
		e := newEnv(t)
		api := awsemu.Identity{ARN: "arn:aws:sts::999999999999:assumed-role/rootwindow-FunctionsApiRole/fn", IssuerARN: testenv.APIRoleARN}
		_, err := e.Steps.Validate(context.Background(), e.Started("req-1", testenv.Input(t, validRequest(members[0])), api))
		var rej *contract.RequestRejected
		if !errors.As(err, &rej) || !strings.Contains(rej.Error(), "its request is not in the ledger") {
			t.Fatalf("got %v", err)
		}
	})
}

// CloudTrail records the StartExecution call some time after it: until then Validate answers
// RequesterUnknown (the state machine retries) and records nothing.
func TestRequesterNotYetInCloudTrail(t *testing.T) {
	e := newEnv(t)
	e.Emu.DelayTrail(1)
	in := e.Started("req-1", testenv.Input(t, validRequest(members[0])), testenv.Person(alice))
	_, err := e.Steps.Validate(context.Background(), in)
	var unknown *contract.RequesterUnknown
	if !errors.As(err, &unknown) {
		t.Fatalf("got %v", err)
	}
	if _, err := e.Store.Get(context.Background(), "req-1"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("recorded before its requester was known: %v", err)
	}
	if _, err := e.Steps.Validate(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	e.AssertStatus(t, "req-1", ledger.Scheduled)
	// A payload without the execution's context (a state machine of an older definition) cannot
	// establish anyone: refused, before anything is read or written.
	_, err = e.Steps.Validate(context.Background(), contract.ValidateInput{Input: in.Input, Execution: "req-2"})
	var unbound *contract.NotBound
	if !errors.As(err, &unbound) || !strings.Contains(unbound.Error(), "did not pass the execution's ARN") {
		t.Errorf("got %v", err)
	}
	// With the ARN but not its start time: who started it cannot be found.
	e.Started("req-2", in.Input, testenv.Person(alice))
	_, err = e.Steps.Validate(context.Background(), contract.ValidateInput{Input: in.Input, Execution: "req-2", ExecutionARN: testenv.ExecutionARN("req-2")})
	var rej *contract.RequestRejected
	if !errors.As(err, &rej) || !strings.Contains(rej.Error(), "did not pass the execution's ARN and start time") {
		t.Errorf("got %v", err)
	}
}

// The guardrail's document is pinned (at the first booking, or by configuration): one changed
// since, or holding more than the root deny, is not lifted.
func TestGuardrailContentIsPinned(t *testing.T) {
	const weakened = `{"Version":"2012-10-17","Statement":[{"Sid":"DenyRootUser","Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":["arn:aws:iam::*:root"]}}}]}`
	t.Run("changed between booking and lift", func(t *testing.T) {
		e := newEnv(t)
		var metrics bytes.Buffer
		e.With(func(d *window.Deps) { d.Metrics = &metrics })
		w, err := e.validate(t, "req-1", validRequest(members[0]))
		if err != nil {
			t.Fatal(err)
		}
		e.Org.SetContent(orgemu.GuardrailID, weakened)
		_, err = e.Steps.Detach(context.Background(), contract.DetachInput{RequestID: "req-1", ExecutionARN: testenv.ExecutionARN("req-1"), AccountIDs: w.AccountIDs, Hours: w.Hours})
		var failed *contract.DetachFailed
		if !errors.As(err, &failed) || !strings.Contains(failed.Msg, "document changed since it was pinned") {
			t.Fatalf("got %v", err)
		}
		if e.Org.CountCalls("DetachPolicy", "") != 0 || !strings.Contains(metrics.String(), contract.MetricGuardrailChanged) {
			t.Errorf("lifted, or not reported: %q", metrics.String())
		}
		// The sweep reports it as drift, with a notification naming the problem.
		rep, err := e.Steps.Sweep(context.Background())
		if err != nil || !strings.Contains(rep.Content, "document changed since it was pinned") {
			t.Fatalf("sweep: %+v %v", rep, err)
		}
		if got := e.published(t); got[len(got)-1] != "Root Access Window Drift Detected" {
			t.Errorf("published %v", got)
		}
	})
	t.Run("pinned by configuration", func(t *testing.T) {
		e := newEnv(t)
		e.With(func(d *window.Deps) { d.Config.GuardrailSHA256 = strings.Repeat("0", 64) })
		_, err := e.validate(t, "req-1", validRequest(members[0]))
		var rej *contract.RequestRejected
		if !errors.As(err, &rej) || !strings.Contains(rej.Error(), "guardrail: the guardrail p-rootguard01's document changed since it was pinned") ||
			!strings.Contains(rej.Error(), "pinned: "+strings.Repeat("0", 64)) || !strings.Contains(rej.Error(), "its sha256 is "+sha(e.Org.Content(orgemu.GuardrailID))) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("statements besides the root deny", func(t *testing.T) {
		e := newEnv(t)
		e.Org.SetContent(orgemu.GuardrailID, `{"Statement":[{"Sid":"DenyRootUser","Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"}}},{"Sid":"DenyLeaveOrg","Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}`)
		_, err := e.validate(t, "req-1", validRequest(members[0]))
		var rej *contract.RequestRejected
		if !errors.As(err, &rej) || !strings.Contains(rej.Error(), "holds statements besides the root deny (DenyLeaveOrg)") {
			t.Fatalf("got %v", err)
		}
		e.With(func(d *window.Deps) { d.Config.GuardrailAllowedSids = []string{"DenyLeaveOrg"} })
		if _, err := e.validate(t, "req-2", validRequest(members[0])); err != nil {
			t.Errorf("allowed by Sid: %v", err)
		}
	})
	t.Run("a Control Tower control", func(t *testing.T) {
		e := newEnv(t)
		e.Org.AddPolicy(orgemu.GuardrailID, "aws-guardrails-AbCdEf", orgemu.GuardrailContent)
		_, err := e.validate(t, "req-1", validRequest(members[0]))
		var rej *contract.RequestRejected
		if !errors.As(err, &rej) || !strings.Contains(rej.Error(), "is an SCP AWS Control Tower manages") {
			t.Fatalf("got %v", err)
		}
		if e.Writes() != 0 {
			t.Errorf("%d writes", e.Writes())
		}
	})
}

// Organizations' CloudTrail event for a change to the guardrail: someone else's is checked at
// once; rootwindow's own lifts and restores are not.
func TestGuardrailChangeEvents(t *testing.T) {
	e := newEnv(t)
	own := "arn:aws:iam::999999999999:role/rootwindow-FunctionsDetachRole"
	e.With(func(d *window.Deps) { d.Config.OwnRoleARNs = []string{own} })
	if _, err := e.validate(t, "req-1", validRequest(members[0])); err != nil { // pins the document
		t.Fatal(err)
	}
	event := func(issuer string) events.CloudWatchEvent {
		detail, _ := json.Marshal(map[string]any{"eventSource": "organizations.amazonaws.com", "eventName": "UpdatePolicy",
			"userIdentity":      map[string]any{"arn": "arn:aws:sts::999999999999:assumed-role/x/y", "sessionContext": map[string]any{"sessionIssuer": map[string]any{"arn": issuer}}},
			"requestParameters": map[string]any{"policyId": orgemu.GuardrailID}})
		return events.CloudWatchEvent{ID: "ev-1", DetailType: contract.DetailTypeAPICall, Source: contract.SourceOrganizations, Detail: detail}
	}
	e.Org.SetContent(orgemu.GuardrailID, `{"Statement":[]}`)
	if out, err := e.Steps.SafetyNet(context.Background(), event(own)); err != nil || out != nil {
		t.Errorf("rootwindow's own call: %v %v", out, err)
	}
	out, err := e.Steps.SafetyNet(context.Background(), event("arn:aws:iam::999999999999:role/Ops"))
	if rep, ok := out.(window.SweepReport); err != nil || !ok || !strings.Contains(rep.Content, "changed since it was pinned") {
		t.Errorf("someone else's change: %+v %v", out, err)
	}
}

// CloudTrail's event for a change to one of rootwindow's own resources (the stack's rules match
// only those): the deployment's is a deployment; anyone else's counts ResourcesChanged, whose
// alarm reaches the operators, and changes nothing.
func TestOwnResourceChangeEvents(t *testing.T) {
	e := newEnv(t)
	const deployer = "arn:aws:iam::999999999999:role/cdk-hnb659fds-cfn-exec-role-999999999999-us-east-1"
	var metrics strings.Builder
	e.With(func(d *window.Deps) { d.Config.DeploymentRoleARN, d.Metrics = deployer, &metrics })
	event := func(issuer string) events.CloudWatchEvent {
		detail, _ := json.Marshal(map[string]any{"eventSource": "lambda.amazonaws.com", "eventName": "UpdateFunctionCode20150331v2",
			"userIdentity":      map[string]any{"arn": "arn:aws:sts::999999999999:assumed-role/x/y", "sessionContext": map[string]any{"sessionIssuer": map[string]any{"arn": issuer}}},
			"requestParameters": map[string]any{"functionName": "RootWindow-FunctionsDetach"}})
		return events.CloudWatchEvent{ID: "ev-1", DetailType: contract.DetailTypeAPICall, Source: "aws.lambda", Detail: detail}
	}
	if out, err := e.Steps.SafetyNet(context.Background(), event(deployer)); err != nil || out != nil || metrics.Len() != 0 {
		t.Errorf("the deployment's change: %v %v %s", out, err, metrics.String())
	}
	if out, err := e.Steps.SafetyNet(context.Background(), event("arn:aws:iam::999999999999:role/PowerUser")); err != nil || out != nil ||
		!strings.Contains(metrics.String(), contract.MetricResourcesChanged) {
		t.Errorf("someone else's change: %v %v %s", out, err, metrics.String())
	}
	if e.Writes() != 0 {
		t.Errorf("%d writes to the organization", e.Writes())
	}
}

// A stack configured for another organization (or management account) than the one
// Organizations answers for acts on nothing, and says why.
func TestAConfigurationForAnotherOrganizationIsRefused(t *testing.T) {
	e := newEnv(t)
	e.With(func(d *window.Deps) {
		d.Guardrail = guardrail.New(testenv.Organizations(t, orgemu.Standard(testenv.Management, "alice@example.com", members...)),
			orgemu.GuardrailID, guardrail.Options{Organization: "o-someoneelse1", Rates: guardrail.Unpaced})
	})
	_, err := e.validate(t, "req-1", validRequest(members[0]))
	var rej *contract.RequestRejected
	if !errors.As(err, &rej) || !strings.Contains(rej.Error(), "organization: Organizations answers for organization "+orgemu.OrganizationID+", but rootwindow is configured for o-someoneelse1") {
		t.Fatalf("got %v", err)
	}
}

// Owners kept per OU: an account with no owner tag of its own is owned by the owners its nearest
// OU's tag (or the root's) lists, at booking and again at the lift; an account's own tag wins.
func TestOwnersInheritedFromTheOU(t *testing.T) {
	ctx := context.Background()
	org := orgemu.New(testenv.Management)
	const team, sub = "ou-own1-team0001", "ou-own1-sub00001"
	org.AddOU(team, org.Root(), orgemu.FullAWSAccessID)
	org.AddOU(sub, team, orgemu.FullAWSAccessID)
	org.AddAccount(orgemu.Account{ID: members[0], Parent: sub}, orgemu.FullAWSAccessID, orgemu.GuardrailID)
	org.AddAccount(orgemu.Account{ID: members[1], Parent: sub, Tags: map[string]string{"owner": bob}}, orgemu.FullAWSAccessID, orgemu.GuardrailID)
	org.AddAccount(orgemu.Account{ID: members[2], Parent: org.Root()}, orgemu.FullAWSAccessID, orgemu.GuardrailID)
	org.SetTag(team, "owner", "carol@example.com alice@example.com")
	e := &env{testenv.NewWindows(t, db, org, t0)}

	// Owned through the OU two levels up.
	if _, err := e.validate(t, "req-1", validRequest(members[0])); err != nil {
		t.Fatalf("an owner by the OU's tag: %v", err)
	}
	// The account's own tag wins over its OU's; no tag anywhere up the chain: nobody owns it.
	_, err := e.validate(t, "req-2", validRequest(members[1], members[2]))
	got := strings.Join(rejection(t, err), "\n")
	for _, want := range []string{
		`accountIds[0]: "` + alice + `" is not an owner of ` + members[1] + ` (not listed in its "owner" tag)`,
		`accountIds[1]: ` + members[2] + ` has no "owner" tag, nor has any OU above it`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("got %s\nwant %s", got, want)
		}
	}
	// The OU's owners change before the lift: checked again, nothing lifted.
	org.SetTag(team, "owner", "carol@example.com")
	_, err = e.Steps.Detach(ctx, testenv.Decided(t, e.Store, "req-1"))
	if err == nil || !strings.Contains(err.Error(), "not listed in "+team+`'s "owner" tag`) {
		t.Errorf("the lift after the OU's owners changed: %v", err)
	}
	e.AssertGuardrail(t, true, members[0])
}

// The console door at scale: who started each of twenty console executions is found among
// thousands of other StartExecution calls, while CloudTrail pages its answers (50 a page) and
// throttles lookups at its documented 2 a second (on a clock running 5 times the wall clock, so
// that the test takes seconds; 25 times let a slow run, -race or a loaded machine, make fewer
// lookups than the bucket refills and see no throttle at all). A lookup reads only the two minutes
// around the execution's start, and a throttled one is "not known yet" (looked for again), never
// an outage.
func TestConsoleRequestsAmongThousandsOfStarts(t *testing.T) {
	ctx := context.Background()
	var accounts []string
	for i := range 20 {
		accounts = append(accounts, fmt.Sprintf("9%011d", i+1))
	}
	e := &env{testenv.NewWindows(t, db, orgemu.Standard(testenv.Management, "alice@example.com", accounts...), t0)}
	e.With(func(d *window.Deps) {
		d.Config.MaxConcurrentPerRequester, d.Config.MaxDailyPerRequester, d.Config.MaxAccountsAtOnce = 50, 200, 1000
	})
	someone := testenv.Person("arn:aws:sts::999999999999:assumed-role/Pipeline/deploy")
	// Other executions: 2,000 in the hour before, 300 within the minute around, 700 after.
	for i := range 3000 {
		at := t0.Add(-time.Hour + time.Duration(i)*1200*time.Millisecond)
		switch {
		case i >= 2000 && i < 2300:
			at = t0.Add(-time.Minute + time.Duration(i-2000)*400*time.Millisecond)
		case i >= 2300:
			at = t0.Add(2*time.Minute + time.Duration(i-2300)*time.Second)
		}
		e.Emu.Started(fmt.Sprintf("arn:aws:states:us-east-1:999999999999:execution:other:x%d", i), someone, at)
	}
	start := time.Now()
	e.Emu.SetClock(func() time.Time { return t0.Add(5 * time.Since(start)) })
	e.Emu.SetTrailRate(2, 2)

	inputs := make([]contract.ValidateInput, len(accounts))
	for i, a := range accounts {
		inputs[i] = e.Started(fmt.Sprintf("console-%02d", i), testenv.Input(t, validRequest(a)), testenv.Person(alice))
	}
	var wg sync.WaitGroup
	for i := range accounts {
		wg.Go(func() {
			unavailable := 0
			for attempt := range 400 { // the state machine looks again; here without its minute
				_, err := e.Steps.Validate(ctx, inputs[i])
				var unknown *contract.RequesterUnknown
				var down *contract.Unavailable
				switch {
				case err == nil:
					return
				case errors.As(err, &unknown) && strings.Contains(err.Error(), "throttling"):
					time.Sleep(10 * time.Millisecond)
				case errors.As(err, &down) && unavailable < 3:
					// A loaded machine can drop a loopback connection; the state machine retries
					// Unavailable (the test's clients make one attempt where the SDK makes three).
					unavailable++
				default:
					t.Errorf("console-%02d, attempt %d: %v", i, attempt, err)
					return
				}
			}
			t.Errorf("console-%02d: never identified", i)
		})
	}
	wg.Wait()
	for i, a := range accounts {
		rec := e.AssertStatus(t, fmt.Sprintf("console-%02d", i), ledger.Scheduled)
		if rec.Requester != alice || !slices.Equal(rec.AccountIDs, []string{a}) {
			t.Errorf("console-%02d: %s %v", i, rec.Requester, rec.AccountIDs)
		}
	}
	calls, throttled := e.Emu.Lookups()
	if throttled == 0 {
		t.Error("no lookup was throttled: the rate limit was not exercised")
	}
	// Each lookup reads the two minutes around its start (320 calls: 7 pages at most), never the
	// hour before or the calls after.
	if calls-throttled > len(accounts)*7 {
		t.Errorf("%d pages read for %d requests", calls-throttled, len(accounts))
	}
	t.Logf("%d lookups, %d of them throttled, %v", calls, throttled, time.Since(start))
}
