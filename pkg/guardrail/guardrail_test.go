package guardrail_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
)

const mgmt = "999999999999"

var members = []string{"111111111111", "222222222222", "333333333333", "444444444444", "555555555555"}

var fast = guardrail.Backoff{Attempts: 6, Base: time.Millisecond, Max: 5 * time.Millisecond}

func setup(t *testing.T, backoff guardrail.Backoff) (*orgemu.Server, *guardrail.Guardrail) {
	t.Helper()
	org := orgemu.Standard(mgmt, "alice@example.com", members...)
	client := testenv.Organizations(t, org)
	return org, guardrail.New(client, orgemu.GuardrailID, guardrail.Options{Backoff: backoff, Concurrency: 3})
}

func assertAttached(t *testing.T, org *orgemu.Server, want bool, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if got := org.IsAttached(id, orgemu.GuardrailID); got != want {
			t.Errorf("guardrail attached to %s = %v, want %v", id, got, want)
		}
	}
}

func TestDetachAndReattachSeveralAccounts(t *testing.T) {
	org, g := setup(t, fast)
	before := org.Snapshot()
	ctx := context.Background()
	if err := g.Detach(ctx, members[:4]); err != nil {
		t.Fatal(err)
	}
	assertAttached(t, org, false, members[:4]...)
	assertAttached(t, org, true, members[4])
	if got := org.Attached(members[0]); !reflect.DeepEqual(got, []string{orgemu.FullAWSAccessID}) {
		t.Errorf("other SCPs must stay: %v", got)
	}
	if err := g.Reattach(ctx, members[:4]); err != nil {
		t.Fatal(err)
	}
	if after := org.Snapshot(); !reflect.DeepEqual(before, after) {
		t.Errorf("organization changed:\nbefore %v\nafter  %v", before, after)
	}
}

func TestRepeatsAreIdempotent(t *testing.T) {
	org, g := setup(t, fast)
	ctx := context.Background()
	for range 2 {
		if err := g.Detach(ctx, members[:2]); err != nil {
			t.Fatal(err)
		}
	}
	if n := org.CountCalls("DetachPolicy", "PolicyNotAttachedException"); n != 2 {
		t.Errorf("second detach: %d PolicyNotAttached answers, want 2", n)
	}
	for range 2 {
		if err := g.Reattach(ctx, members[:2]); err != nil {
			t.Fatal(err)
		}
	}
	if n := org.CountCalls("AttachPolicy", "DuplicatePolicyAttachmentException"); n != 2 {
		t.Errorf("second reattach: %d DuplicatePolicyAttachment answers, want 2", n)
	}
	assertAttached(t, org, true, members...)
}

func TestThrottlingStorm(t *testing.T) {
	org, g := setup(t, guardrail.Backoff{Attempts: 40, Base: 5 * time.Millisecond, Max: 40 * time.Millisecond})
	org.SetRateLimit(100, 2)
	org.Inject(orgemu.Fault{Op: "DetachPolicy", Code: "ConcurrentModificationException", Times: 3})
	org.Inject(orgemu.Fault{Op: "AttachPolicy", Code: "PolicyChangesInProgressException", Times: 2})
	org.Inject(orgemu.Fault{Op: "AttachPolicy", Code: "ServiceException", Times: 2})
	ctx := context.Background()
	if err := g.Detach(ctx, members); err != nil {
		t.Fatal(err)
	}
	assertAttached(t, org, false, members...)
	if err := g.Reattach(ctx, members); err != nil {
		t.Fatal(err)
	}
	assertAttached(t, org, true, members...)
	if org.CountCalls("", "TooManyRequestsException") == 0 {
		t.Error("the storm never throttled: the test proves nothing")
	}
	if org.CountCalls("DetachPolicy", "ConcurrentModificationException") != 3 || org.CountCalls("AttachPolicy", "ServiceException") != 2 {
		t.Error("injected faults were not all met")
	}
}

func TestDetachFailingPartWayPutsBackWhatItTook(t *testing.T) {
	org, g := setup(t, fast)
	before := org.Snapshot()
	org.Inject(orgemu.Fault{Op: "DetachPolicy", Target: members[2], Code: "AccessDeniedException"})
	err := g.Detach(context.Background(), members)
	var berr *guardrail.BatchError
	if !errors.As(err, &berr) {
		t.Fatalf("want *BatchError, got %v", err)
	}
	if _, ok := berr.Failed[members[2]]; !ok || len(berr.Failed) != 1 {
		t.Errorf("failed = %v", berr.Failed)
	}
	if berr.Transient() || berr.RestoreFailed() || guardrail.IsTransient(err) {
		t.Errorf("access denied is permanent and compensation worked: %v", err)
	}
	if !strings.Contains(err.Error(), "333333333333 (AccessDeniedException); the guardrail was put back") {
		t.Errorf("message: %v", err)
	}
	if after := org.Snapshot(); !reflect.DeepEqual(before, after) {
		t.Errorf("not compensated:\nbefore %v\nafter  %v", before, after)
	}
	if org.CountCalls("DetachPolicy", "") == 0 {
		t.Error("nothing was detached before the failure: compensation untested")
	}
}

func TestCompensationFailureIsARestoreFailure(t *testing.T) {
	org, g := setup(t, fast)
	org.Inject(orgemu.Fault{Op: "DetachPolicy", Target: members[1], Code: "AccessDeniedException"})
	org.Inject(orgemu.Fault{Op: "AttachPolicy", Target: members[0], Code: "AccessDeniedException"})
	err := g.Detach(context.Background(), members[:2])
	var berr *guardrail.BatchError
	if !errors.As(err, &berr) || berr.Compensation == nil || !berr.RestoreFailed() {
		t.Fatalf("want a failed compensation, got %v", err)
	}
	if _, ok := berr.Compensation.Failed[members[0]]; !ok {
		t.Errorf("compensation failures: %v", berr.Compensation.Failed)
	}
	assertAttached(t, org, false, members[0])
}

func TestPersistentThrottlingIsTransient(t *testing.T) {
	org, g := setup(t, fast)
	org.Inject(orgemu.Fault{Op: "DetachPolicy", Target: members[0], Code: "TooManyRequestsException"})
	err := g.Detach(context.Background(), members[:3])
	// Throttled calls wait their paced turn and may go three times the attempts.
	var terr *guardrail.TransientError
	if !guardrail.IsTransient(err) || !errors.As(err, &terr) || terr.Attempts != 3*fast.Attempts {
		t.Fatalf("want a transient error after %d attempts, got %v", 3*fast.Attempts, err)
	}
	assertAttached(t, org, true, members[:3]...)
}

func TestReattachOverTheSCPLimit(t *testing.T) {
	org, g := setup(t, fast)
	ctx := context.Background()
	if err := g.Detach(ctx, members[:2]); err != nil {
		t.Fatal(err)
	}
	// During the window someone attaches SCPs up to the limit of five on one account.
	for _, p := range []string{"p-extra0001", "p-extra0002", "p-extra0003", "p-extra0004"} {
		org.AddPolicy(p, p)
	}
	org.AddAccount(orgemu.Account{ID: members[0], Tags: map[string]string{"owner": "alice@example.com"}},
		orgemu.FullAWSAccessID, "p-extra0001", "p-extra0002", "p-extra0003", "p-extra0004")
	err := g.Reattach(ctx, members[:2])
	var berr *guardrail.BatchError
	if !errors.As(err, &berr) || !berr.RestoreFailed() || berr.Transient() {
		t.Fatalf("want a permanent restore failure, got %v", err)
	}
	if !strings.Contains(err.Error(), "111111111111 (ConstraintViolationException)") {
		t.Errorf("message: %v", err)
	}
	assertAttached(t, org, true, members[1])
}

func TestLatencyWithConcurrency(t *testing.T) {
	org, g := setup(t, fast)
	org.SetLatency(20 * time.Millisecond)
	start := time.Now()
	if err := g.Detach(context.Background(), members); err != nil {
		t.Fatal(err)
	}
	assertAttached(t, org, false, members...)
	t.Logf("5 accounts at 20 ms per call with 3 in flight: %v", time.Since(start))
}

func TestInspect(t *testing.T) {
	org, g := setup(t, fast)
	org.AddOU("ou-ex01-aaaaaaaa", org.Root(), orgemu.FullAWSAccessID, orgemu.GuardrailID)
	org.AddAccount(orgemu.Account{ID: "600000000001", Parent: "ou-ex01-aaaaaaaa"}, orgemu.FullAWSAccessID)
	org.AddAccount(orgemu.Account{ID: "600000000002"}, orgemu.FullAWSAccessID)
	org.AddAccount(orgemu.Account{ID: "600000000003"}, orgemu.GuardrailID)
	org.AddAccount(orgemu.Account{ID: "600000000004", State: "SUSPENDED"}, orgemu.FullAWSAccessID, orgemu.GuardrailID)
	ids := []string{members[0], mgmt, "600000000001", "600000000002", "600000000003", "600000000004", "600000000009"}
	reports, err := g.Inspect(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		members[0]:     "",
		mgmt:           "is the organization's management account; SCPs never apply to it, so there is nothing to lift",
		"600000000001": "the guardrail p-rootguard01 is inherited from ou-ex01-aaaaaaaa, not attached directly to the account; rootwindow lifts only direct attachments (attach it to the account itself to make it liftable)",
		"600000000002": "the guardrail p-rootguard01 is not attached to the account, so there is nothing to lift",
		"600000000003": "the guardrail p-rootguard01 is the only SCP attached directly to the account, and Organizations requires at least one: attach another SCP (such as FullAWSAccess) directly first",
		"600000000004": "is SUSPENDED; only ACTIVE accounts can have a window",
		"600000000009": "is not an account of this organization",
	}
	for id, msg := range want {
		if got := reports[id].Problem(g.PolicyID()); got != msg {
			t.Errorf("%s: got %q\nwant %q", id, got, msg)
		}
	}
	if reports[members[0]].Tags["owner"] != "alice@example.com" {
		t.Errorf("tags: %v", reports[members[0]].Tags)
	}
	if n := org.CountCalls("AttachPolicy", "") + org.CountCalls("DetachPolicy", ""); n != 0 {
		t.Errorf("inspection changed the organization: %d writes", n)
	}
}

func TestInspectOrganizationUnreadable(t *testing.T) {
	org, g := setup(t, fast)
	org.Inject(orgemu.Fault{Op: "DescribeAccount", Target: members[1], Code: "ServiceException"})
	_, err := g.Inspect(context.Background(), members[:2])
	if !guardrail.IsTransient(err) {
		t.Fatalf("want a transient error, got %v", err)
	}
}

func TestInspectFollowsPages(t *testing.T) {
	org, g := setup(t, fast)
	org.SetPageSize(1)
	org.AddPolicy("p-extra0001", "extra")
	org.AddAccount(orgemu.Account{ID: "600000000001", Tags: map[string]string{"owner": "alice@example.com", "team": "audit", "cost": "42"}},
		orgemu.FullAWSAccessID, "p-extra0001", orgemu.GuardrailID)
	reports, err := g.Inspect(context.Background(), []string{"600000000001"})
	if err != nil {
		t.Fatal(err)
	}
	r := reports["600000000001"]
	if !r.Direct || r.DirectSCPs != 3 || len(r.Tags) != 3 || r.Tags["owner"] != "alice@example.com" {
		t.Errorf("pages not followed: %+v", r)
	}
	if ok, err := g.IsAttached(context.Background(), "600000000001"); err != nil || !ok {
		t.Errorf("IsAttached = %v, %v", ok, err)
	}
}

// Organizations answering for another organization or management account than the configured
// ones: nothing is inspected, and the error says which.
func TestInspectRefusesAnotherOrganization(t *testing.T) {
	for _, tt := range []struct {
		opts guardrail.Options
		want string
	}{
		{guardrail.Options{Organization: "o-someoneelse1"}, "Organizations answers for organization " + orgemu.OrganizationID + ", but rootwindow is configured for o-someoneelse1"},
		{guardrail.Options{Organization: orgemu.OrganizationID, Management: "123456789012"}, "Organizations answers for management account " + testenv.Management + ", but rootwindow is configured for 123456789012"},
	} {
		org := orgemu.Standard(testenv.Management, "alice@example.com", "111111111111")
		g := guardrail.New(testenv.Organizations(t, org), orgemu.GuardrailID, tt.opts)
		_, err := g.Inspect(context.Background(), []string{"111111111111"})
		var wrong *guardrail.WrongOrganizationError
		if !errors.As(err, &wrong) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("got %v, want %q", err, tt.want)
		}
	}
	org := orgemu.Standard(testenv.Management, "alice@example.com", "111111111111")
	g := guardrail.New(testenv.Organizations(t, org), orgemu.GuardrailID, guardrail.Options{Organization: orgemu.OrganizationID, Management: testenv.Management})
	if _, err := g.Inspect(context.Background(), []string{"111111111111"}); err != nil {
		t.Errorf("the configured organization: %v", err)
	}
}
