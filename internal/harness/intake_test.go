package harness_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/rootwindow/rootwindow/internal/harness"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// The EventBridge door, from the PutEvents call on: the synthesized bus policy decides who may
// put a request, and the request rule and the state machine what becomes of it.

func TestThreatEventFromAPrincipalThatIsNotAnIntegration(t *testing.T) {
	s := begin(t)
	event := testenv.Sample(t, "eventbridge-request.json")
	for i, who := range []string{
		"arn:aws:iam::111111111111:role/other-role-of-the-integrations-account",
		"arn:aws:iam::111111111111:root",
		"arn:aws:iam::999999999999:role/AdministratorAccess", // the bus's own account, with every IAM permission
		"arn:aws:iam::333333333333:user/mallory",
	} {
		name := "denied-" + strconv.Itoa(i)
		if _, err := h.PutRequest(s.ctx, name, who, event); !errors.Is(err, harness.ErrPutDenied) {
			t.Errorf("%s put a request: %v", who, err)
		}
		if _, err := h.Ledger().Get(s.ctx, name); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("%s: a request was recorded: %v", who, err)
		}
	}
	if n := len(calls("DetachPolicy")); n != 0 || len(h.AWS.Events()) != 0 {
		t.Errorf("%d detaches, %d notifications", n, len(h.AWS.Events()))
	}
	// The integration itself may; what it asserts goes on record beside the requester.
	res, err := h.PutRequest(s.ctx, "allowed-1", testenv.Integration, event)
	if err != nil || res.Status != "SUCCEEDED" {
		t.Fatalf("the integration's request: %v %s %s", err, res.Status, res.Cause)
	}
	if rec := s.record("allowed-1"); rec.Status != ledger.Closed || rec.Requester != harness.Requester || strings.Join(rec.Origin.AssertedBy, ",") != testenv.Integration {
		t.Errorf("record %s by %s asserted by %v", rec.Status, rec.Requester, rec.Origin.AssertedBy)
	}
	s.unchanged()
}

// A bus policy that is not rootwindow's (edited by hand, say) lets an event from another account
// reach the rule: Validate refuses it all the same.
func TestThreatEventFromAnAccountWithoutIntegrationReachingTheRule(t *testing.T) {
	s := begin(t)
	var event map[string]any
	_ = json.Unmarshal(testenv.Sample(t, "eventbridge-request.json"), &event)
	event["account"] = "333333333333"
	b, _ := json.Marshal(event)
	input, err := h.EventBridgeInput(b)
	if err != nil {
		t.Fatal(err)
	}
	res := s.run("elsewhere-1", input)
	if res.Error != contract.ErrRequestRejected || !strings.Contains(res.Cause, `origin.sourceAccount: "333333333333" has no integration configured in eventIntegrations`) {
		t.Fatalf("%s %s: %s", res.Status, res.Error, res.Cause)
	}
	if n := len(calls("DetachPolicy")); n != 0 {
		t.Errorf("%d detaches", n)
	}
	s.unchanged()
}

// confirmRequests makes EventBridge requests wait for their requester, for the test.
func confirmRequests(t *testing.T, s *scenario) {
	t.Helper()
	if err := h.Configure(s.ctx, map[string]string{contract.EnvEventConfirmMinutes: strconv.Itoa(harness.ConfirmMinutes)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Configure(context.Background(), nil) })
}

// confirm is caller's POST /requests/{id}/confirm; its status code.
func confirm(ctx context.Context, t *testing.T, id, caller string) int {
	r := apiSample(t, "api-end-request.json")
	r.Resource, r.Path, r.PathParameters = "/requests/{id}/confirm", "/requests/"+id+"/confirm", map[string]string{"id": id}
	r.RequestContext.Identity.UserArn = caller
	res, err := h.API().Handle(ctx, r)
	if err != nil {
		return 0
	}
	return res.StatusCode
}

func TestAnIntegrationsRequestLiftsOnceItsRequesterConfirms(t *testing.T) {
	s := begin(t)
	confirmRequests(t, s)
	const bob = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/bob@example.com"
	var bobGot, aliceGot int
	// While the execution waits (its second look), bob, another administrator, tries to confirm
	// for alice; then alice confirms.
	h.BeforeInvoke(contract.TaskValidate, func(context.Context) {
		h.BeforeInvoke(contract.TaskValidate, func(ctx context.Context) {
			bobGot = confirm(ctx, t, "confirm-1", bob)
			aliceGot = confirm(ctx, t, "confirm-1", harness.Requester)
		})
	})
	res, err := h.PutRequest(s.ctx, "confirm-1", testenv.Integration, testenv.Sample(t, "eventbridge-request.json"))
	if err != nil || res.Status != "SUCCEEDED" {
		t.Fatalf("%v %s %s: %s", err, res.Status, res.Error, res.Cause)
	}
	if bobGot != 403 || aliceGot != 200 {
		t.Errorf("bob confirming: %d, alice confirming: %d", bobGot, aliceGot)
	}
	if res.Invocations[contract.TaskValidate] < 2 {
		t.Errorf("Validate ran %d times: the execution did not wait", res.Invocations[contract.TaskValidate])
	}
	rec := s.record("confirm-1")
	if rec.Status != ledger.Closed || rec.ConfirmedBy != harness.Requester || !rec.ConfirmedAt.Before(liftBegan(rec)) {
		t.Errorf("%s, confirmed by %q at %v, lift began at %v", rec.Status, rec.ConfirmedBy, rec.ConfirmedAt, liftBegan(rec))
	}
	if got := published(t); strings.Join(got, ",") != "Scheduled,Opened,Closed" {
		t.Errorf("published %v", got)
	}
	if m := h.AWS.Messages()[0].Body; !strings.Contains(m, "POST /requests/confirm-1/confirm") {
		t.Errorf("the Scheduled message does not say how to confirm:\n%s", m)
	}
	s.unchanged()
}

func TestAnIntegrationsRequestNobodyConfirmsLiftsNothing(t *testing.T) {
	s := begin(t)
	confirmRequests(t, s)
	res, err := h.PutRequest(s.ctx, "unconfirmed-1", testenv.Integration, testenv.Sample(t, "eventbridge-request.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Error != contract.ErrRequestRejected || !strings.Contains(res.Cause, "not confirmed by the requester by") {
		t.Fatalf("%s %s: %s", res.Status, res.Error, res.Cause)
	}
	rec := s.record("unconfirmed-1")
	if rec.Status != ledger.Failed || !rec.ConfirmedAt.IsZero() {
		t.Errorf("%s confirmed at %v", rec.Status, rec.ConfirmedAt)
	}
	if leases, err := h.Ledger().Leases(s.ctx, rec.AccountIDs); err != nil || len(leases) != 0 {
		t.Errorf("leases kept: %v %v", leases, err)
	}
	if n := len(calls("DetachPolicy")); n != 0 {
		t.Errorf("%d detaches", n)
	}
	if got := published(t); strings.Join(got, ",") != "Scheduled,Failed" {
		t.Errorf("published %v", got)
	}
	s.unchanged()
}
