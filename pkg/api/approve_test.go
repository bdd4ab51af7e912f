package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// TestApproveAndDeny: a request that needs a second administrator is approved or denied through
// the API by an administrator other than its requester, with an optional reason; its requester,
// under any of their names, cannot; someone who may not see it learns nothing.
func TestApproveAndDeny(t *testing.T) {
	e := newEnv(t)
	e.with(func(d *window.Deps) { d.Config.Approval, d.Config.ApprovalMinutes = config.ApprovalSecondAdmin, 30 })
	id := e.accept(t, members[0])
	if a := e.call(t, on(t, "GET", "/requests/{id}", id, bob)); a.body["approveBy"] != "2026-11-23T10:30:00Z" || a.body["approvedBy"] != nil {
		t.Errorf("the request does not show its deadline: %s", a.raw)
	}
	decide := func(verb, caller, body string) answer {
		r := on(t, "POST", "/requests/{id}/"+verb, id, caller)
		r.Body = body
		return e.call(t, r)
	}
	aliceElsewhere := strings.Replace(alice, "_0123abcd", "_ffff0000", 1)
	for _, tt := range []struct {
		verb, caller, body string
		status             int
		want               string
	}{
		{"approve", alice, "", http.StatusForbidden, "is yours: another administrator must approve or deny it"},
		{"deny", aliceElsewhere, "", http.StatusForbidden, "is yours"},
		{"approve", mallory, "", http.StatusNotFound, "no request"},
		{"approve", bob, `{"reason": "ok\u202egnp.exe"}`, http.StatusBadRequest, `"field":"reason","message":"must be one line of visible text: it holds U+202E`},
		{"approve", bob, `{"Reason": "ok"}`, http.StatusBadRequest, "Reason is not a key here (expected reason, exactly)"},
		{"approve", bob, `{"reason": "ok", "reason": "not ok"}`, http.StatusBadRequest, "reason appears more than once"},
		{"approve", bob, `["ok"]`, http.StatusBadRequest, "body"},
	} {
		if a := decide(tt.verb, tt.caller, tt.body); a.status != tt.status || !strings.Contains(a.raw, tt.want) {
			t.Errorf("%s by %s with %q: %d %s, want %d %q", tt.verb, tt.caller, tt.body, a.status, a.raw, tt.status, tt.want)
		}
	}
	if rec, _ := e.deps.Ledger.Get(t.Context(), id); rec.ApprovedBy != "" || rec.DeniedBy != "" {
		t.Fatalf("a refused decision was recorded: %+v", rec)
	}
	a := decide("approve", bob, `{"reason": "checked SEC-1234"}`)
	if a.status != http.StatusOK || a.body["approvedBy"] != bob || a.body["decision"] != "checked SEC-1234" || a.body["approvalToken"] != nil {
		t.Fatalf("bob approving: %d %s", a.status, a.raw)
	}
	if a := decide("approve", bob, ""); a.status != http.StatusOK {
		t.Errorf("approving again: %d %s", a.status, a.raw)
	}
	if a := decide("deny", "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/carol@example.com", ""); a.status != http.StatusConflict ||
		!strings.Contains(a.raw, "already approved by "+bob) {
		t.Errorf("denying an approved request: %d %s", a.status, a.raw)
	}
	other := e.accept(t, members[1])
	r := on(t, "POST", "/requests/{id}/deny", other, bob)
	if a := e.call(t, r); a.status != http.StatusOK || a.body["deniedBy"] != bob {
		t.Errorf("bob denying: %d %s", a.status, a.raw)
	}
}

// With centralized root access enabled, a window for a task it performs is answered with the
// sts:AssumeRoot command for each account, and nothing is reserved; a reason to lift the
// guardrail anyway is recorded with the request.
func TestATaskForCentralizedRootAccessIsAnsweredWithTheCommand(t *testing.T) {
	e := newEnv(t)
	e.with(func(d *window.Deps) { d.Config.CentralizedRoot, d.Config.Region = true, "eu-west-1" })
	body := func(extra string) string {
		return `{"accountIds":["` + members[0] + `","` + members[1] + `"],"hours":1,"reason":"Unlock the audit bucket (SEC-3)","task":"unlock-s3-bucket-policy"` + extra + `}`
	}
	r := post(t, alice, nil)
	r.Body = body("")
	a := e.call(t, r)
	if a.status != http.StatusConflict || !strings.Contains(a.raw, "aws sts assume-root --region eu-west-1 --target-principal "+members[0]+" --task-policy-arn arn=arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy --duration-seconds 900") ||
		!strings.Contains(a.raw, "--target-principal "+members[1]) || !strings.Contains(a.raw, "whyNotAssumeRoot") ||
		!strings.Contains(a.raw, "centralized root access performs this task without a window") || strings.Contains(a.raw, "already has an open or scheduled window") {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	// Someone who may not ask is told so, not about the task or the accounts.
	mal := post(t, mallory, nil)
	mal.Body = body("")
	if a := e.call(t, mal); a.status != http.StatusForbidden || strings.Contains(a.raw, "assume-root") {
		t.Errorf("a non-administrator: %d %s", a.status, a.raw)
	}
	if leases, _ := e.deps.Ledger.AllLeases(t.Context()); len(leases) != 0 || len(e.emu.Executions()) != 0 {
		t.Fatalf("something was reserved or started: %v", leases)
	}
	r.Body = body(`,"whyNotAssumeRoot":"the policy denies the management account's IAM Identity Center roles too"`)
	a = e.call(t, r)
	if a.status != http.StatusAccepted {
		t.Fatalf("with a reason: %d %s", a.status, a.raw)
	}
	got := e.call(t, on(t, "GET", "/requests/{id}", a.body["requestId"].(string), alice))
	if got.body["task"] != "unlock-s3-bucket-policy" || !strings.HasPrefix(got.body["whyNotAssumeRoot"].(string), "the policy denies") {
		t.Errorf("the record: %s", got.raw)
	}
	// A task it does not perform is lifted as any request.
	e.with(func(d *window.Deps) { d.Config.CentralizedRoot = true })
	r.Body = `{"accountIds":["` + members[2] + `"],"hours":1,"reason":"MFA delete (SEC-4)","task":"s3-mfa-delete"}`
	if a := e.call(t, r); a.status != http.StatusAccepted {
		t.Errorf("s3-mfa-delete: %d %s", a.status, a.raw)
	}
}

// A break-glass window through the API: accepted without waiting for an approval the deployment
// otherwise asks for; reviewed afterwards by another administrator with a note (required, one
// line), never by its requester; the review shows on the request.
func TestBreakGlassAndItsReview(t *testing.T) {
	e := newEnv(t)
	e.with(func(d *window.Deps) {
		d.Config.Approval, d.Config.ApprovalMinutes, d.Config.BreakGlass = config.ApprovalSecondAdmin, 30, true
	})
	a := e.call(t, post(t, alice, `{"accountIds":["`+members[0]+`"],"hours":1,"reason":"The admin role is locked out (INC-7)","breakGlass":true}`))
	if a.status != http.StatusAccepted || a.body["breakGlass"] != true || a.body["approveBy"] != nil {
		t.Fatalf("a break-glass request: %d %s", a.status, a.raw)
	}
	id := a.body["requestId"].(string)
	review := func(caller, body string) answer {
		r := on(t, "POST", "/requests/{id}/review", id, caller)
		r.Body = body
		return e.call(t, r)
	}
	for _, tt := range []struct {
		caller, body string
		status       int
		want         string
	}{
		{alice, `{"note": "all fine"}`, http.StatusForbidden, "is yours: another administrator reviews it"},
		{bob, ``, http.StatusBadRequest, `"field":"note","message":"is required`},
		{bob, `{"note": ""}`, http.StatusBadRequest, `"field":"note"`},
		{bob, `{"reason": "ok"}`, http.StatusBadRequest, "reason is not a key here (expected note, exactly)"},
		{mallory, `{"note": "x"}`, http.StatusNotFound, "no request"},
	} {
		if a := review(tt.caller, tt.body); a.status != tt.status || !strings.Contains(a.raw, tt.want) {
			t.Errorf("review by %s with %q: %d %s, want %d %q", tt.caller, tt.body, a.status, a.raw, tt.status, tt.want)
		}
	}
	if a := review(bob, `{"note": "root password reset; CloudTrail checked (INC-7)"}`); a.status != http.StatusOK || a.body["reviewedBy"] != bob ||
		a.body["reviewNote"] != "root password reset; CloudTrail checked (INC-7)" {
		t.Errorf("bob's review: %d %s", a.status, a.raw)
	}
	if a := e.call(t, on(t, "GET", "/requests/{id}", id, alice)); a.body["reviewedBy"] != bob {
		t.Errorf("the request does not show its review: %s", a.raw)
	}
	// Two hours are refused, naming the field.
	if a := e.call(t, post(t, alice, `{"accountIds":["`+members[1]+`"],"hours":2,"reason":"x (INC-8)","breakGlass":true}`)); a.status != http.StatusBadRequest ||
		!strings.Contains(a.raw, "a break-glass window is 1 hour at most") {
		t.Errorf("a two-hour break-glass request: %d %s", a.status, a.raw)
	}
}
