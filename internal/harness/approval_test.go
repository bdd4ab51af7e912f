package harness_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/harness"
	"github.com/rootwindow/rootwindow/internal/simtime"
	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// Approval by a second administrator through the synthesized state machine: the execution waits
// on a task token in "Wait for approval" until an approver's call through the API sends it back.

const approver = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/bob@example.com"

// requireApproval makes every request wait for a second administrator, for the test.
func requireApproval(t *testing.T, s *scenario) {
	t.Helper()
	if err := h.Configure(s.ctx, map[string]string{contract.EnvApproval: config.ApprovalSecondAdmin, contract.EnvApprovalMinutes: strconv.Itoa(harness.ApprovalMinutes)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Configure(context.Background(), nil) })
}

// decide is caller's POST /requests/{id}/approve or /deny; its status code.
func decide(ctx context.Context, t *testing.T, verb, id, caller string) int {
	r := apiSample(t, "api-end-request.json")
	r.Resource, r.Path, r.PathParameters = "/requests/{id}/"+verb, "/requests/"+id+"/"+verb, map[string]string{"id": id}
	r.RequestContext.Identity.UserArn = caller
	res, err := h.API().Handle(ctx, r)
	if err != nil {
		return 0
	}
	if res.StatusCode != 200 {
		t.Logf("%s %s answered %d %s (%s)", verb, id, res.StatusCode, res.Body, h.Clock)
	}
	return res.StatusCode
}

func TestASecondAdministratorApprovesThroughTheAPI(t *testing.T) {
	s := begin(t)
	requireApproval(t, s)
	// The test holds the clock: the execution stands waiting on its token however long the
	// machine takes to decide.
	hold := h.Clock.Go("test")
	defer hold.Done()
	done := make(chan harness.Result)
	go func() { done <- s.run("approve-1", request([]string{"111111111111"}, 1, nil)) }()
	// Once the execution waits on its token: the requester cannot approve, bob can.
	until(t, "the execution waits for its approval", func() bool {
		rec, err := h.Ledger().Get(s.ctx, "approve-1")
		return err == nil && rec.ApprovalToken != ""
	})
	ctx := simtime.WithActor(s.ctx, hold) // what the API does meanwhile waits as the test
	self, other := decide(ctx, t, "approve", "approve-1", harness.Requester), decide(ctx, t, "approve", "approve-1", approver)
	hold.Done()
	res := <-done
	if self != 403 || other != 200 {
		t.Fatalf("the requester approving: %d, bob approving: %d", self, other)
	}
	if res.Status != "SUCCEEDED" || !entered(res, "Wait for approval") {
		t.Fatalf("%s %s: %s", res.Status, res.Error, res.Cause)
	}
	rec := s.record("approve-1")
	if rec.Status != ledger.Closed || rec.ApprovedBy != approver || !rec.ApprovedAt.Before(liftBegan(rec)) {
		t.Errorf("%s, approved by %q at %v, lift began at %v", rec.Status, rec.ApprovedBy, rec.ApprovedAt, liftBegan(rec))
	}
	if got := published(t); strings.Join(got, ",") != "Scheduled,Approval Requested,Approved,Opened,Closed" {
		t.Errorf("published %v", got)
	}
	s.unchanged()
}

func TestADenialLiftsNothing(t *testing.T) {
	s := begin(t)
	requireApproval(t, s)
	// bob denies as soon as the request is booked, before the execution asks: the execution
	// receives the denial when it does.
	h.BeforeInvoke(contract.TaskValidate, func(context.Context) {
		h.BeforeInvoke(contract.TaskValidate, func(ctx context.Context) {
			if got := decide(ctx, t, "deny", "deny-1", approver); got != 200 {
				t.Errorf("bob denying: %d", got)
			}
		})
	})
	res := s.run("deny-1", request([]string{"111111111111", "222222222222"}, 1, nil))
	if res.Status != "FAILED" || res.Error != contract.ErrApprovalDenied {
		t.Fatalf("%s %s: %s", res.Status, res.Error, res.Cause)
	}
	rec := s.record("deny-1")
	if rec.Status != ledger.Failed || rec.DeniedBy != approver || !strings.HasPrefix(rec.LastError, "denied by "+approver) {
		t.Errorf("%s denied by %q: %q", rec.Status, rec.DeniedBy, rec.LastError)
	}
	if leases, err := h.Ledger().Leases(s.ctx, rec.AccountIDs); err != nil || len(leases) != 0 {
		t.Errorf("leases kept: %v %v", leases, err)
	}
	if n := len(calls("DetachPolicy")); n != 0 {
		t.Errorf("%d detaches", n)
	}
	s.unchanged()
}

func TestNobodyApprovingLiftsNothing(t *testing.T) {
	s := begin(t)
	requireApproval(t, s)
	res := s.run("unapproved-1", request([]string{"111111111111"}, 1, nil))
	if res.Status != "FAILED" || res.Error != "States.Timeout" {
		t.Fatalf("%s %s: %s", res.Status, res.Error, res.Cause)
	}
	rec := s.record("unapproved-1")
	if rec.Status != ledger.Failed || !strings.HasPrefix(rec.LastError, "not approved by ") {
		t.Errorf("%s: %q", rec.Status, rec.LastError)
	}
	if leases, err := h.Ledger().Leases(s.ctx, rec.AccountIDs); err != nil || len(leases) != 0 {
		t.Errorf("leases kept: %v %v", leases, err)
	}
	if n := len(calls("DetachPolicy")); n != 0 {
		t.Errorf("%d detaches", n)
	}
	if got := decide(s.ctx, t, "approve", "unapproved-1", approver); got != 409 {
		t.Errorf("approving after the timeout: %d", got)
	}
	s.unchanged()
}

// liftBegan is when the record went OPENING (openedAt is kept to the second only).
func liftBegan(rec ledger.Record) time.Time {
	for _, tr := range rec.History {
		if tr.Status == ledger.Opening {
			return tr.At
		}
	}
	return time.Time{}
}

func entered(res harness.Result, state string) bool {
	for _, e := range res.Events {
		if e.Type == "StateEntered" && e.State == state {
			return true
		}
	}
	return false
}

// A break-glass window through the synthesized state machine, where requests otherwise wait for
// a second administrator: refused while the deployment takes none; then it runs without the
// approval state, every operator's message marked, and it stays awaiting review (counted by each
// sweep) until another administrator records one through the API.
func TestABreakGlassWindowSkipsTheApprovalAndWaitsForItsReview(t *testing.T) {
	s := begin(t)
	requireApproval(t, s)
	glass := map[string]any{"breakGlass": true}
	if res := s.run("glass-0", request([]string{"111111111111"}, 1, glass)); res.Status != "FAILED" || !strings.Contains(res.Cause, "breakGlass") {
		t.Fatalf("break-glass where it is off: %s %s", res.Status, res.Cause)
	}
	if err := h.Configure(s.ctx, map[string]string{contract.EnvApproval: config.ApprovalSecondAdmin, contract.EnvApprovalMinutes: strconv.Itoa(harness.ApprovalMinutes),
		contract.EnvBreakGlass: "true"}); err != nil {
		t.Fatal(err)
	}
	before := len(h.AWS.Messages())
	res := s.run("glass-1", request([]string{"111111111111"}, 1, glass))
	if res.Status != "SUCCEEDED" || entered(res, "Wait for approval") {
		t.Fatalf("%s %s (entered the approval state: %v)", res.Status, res.Cause, entered(res, "Wait for approval"))
	}
	for _, m := range h.AWS.Messages()[before:] {
		if !strings.HasPrefix(m.Subject, "rootwindow: BREAK-GLASS") {
			t.Errorf("a message about the break-glass window: %q", m.Subject)
		}
	}
	if rec := s.record("glass-1"); !rec.BreakGlass || rec.Status != ledger.Closed || rec.ReviewedBy != "" {
		t.Fatalf("%+v", rec)
	}
	if err := h.Sweep(s.ctx); err != nil {
		t.Fatal(err)
	}
	if ids, err := h.Ledger().AwaitingReview(s.ctx); err != nil || strings.Join(ids, ",") != "glass-1" {
		t.Fatalf("awaiting review: %v %v", ids, err)
	}
	review := func(caller string) int {
		r := apiSample(t, "api-end-request.json")
		r.Resource, r.Path, r.PathParameters = "/requests/{id}/review", "/requests/glass-1/review", map[string]string{"id": "glass-1"}
		r.RequestContext.Identity.UserArn, r.Body = caller, `{"note": "root password reset as asked (INC-7)"}`
		res, err := h.API().Handle(s.ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode
	}
	if self, other := review(harness.Requester), review(approver); self != 403 || other != 200 {
		t.Fatalf("the requester reviewing: %d, bob reviewing: %d", self, other)
	}
	if err := h.Sweep(s.ctx); err != nil {
		t.Fatal(err)
	}
	if ids, _ := h.Ledger().AwaitingReview(s.ctx); len(ids) != 0 {
		t.Errorf("still awaiting review after it: %v", ids)
	}
	s.unchanged()
}
