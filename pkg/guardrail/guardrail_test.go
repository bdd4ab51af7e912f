package guardrail_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/simtime"
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
	return org, guardrail.New(client, orgemu.GuardrailID, guardrail.Options{Backoff: backoff, Concurrency: 3, Rates: guardrail.Unpaced})
}

func assertAttached(t *testing.T, org *orgemu.Server, want bool, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if got := org.IsAttached(id, orgemu.GuardrailID); got != want {
			t.Errorf("guardrail attached to %s = %v, want %v", id, got, want)
		}
	}
}

// end is the window's end in these tests; lift and restore act as request req-1.
var end = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func lift(g *guardrail.Guardrail, ids []string) error {
	_, err := g.Lift(context.Background(), guardrail.Window{RequestID: "req-1", End: end, AccountIDs: ids})
	return err
}

func restore(g *guardrail.Guardrail, ids []string) error {
	return g.Restore(context.Background(), guardrail.Window{RequestID: "req-1", AccountIDs: ids})
}

func TestLiftAndRestoreSeveralAccounts(t *testing.T) {
	org, g := setup(t, fast)
	before := org.Snapshot()
	if err := lift(g, members[:4]); err != nil {
		t.Fatal(err)
	}
	assertAttached(t, org, false, members[:4]...)
	assertAttached(t, org, true, members[4])
	window := org.Policies()[len(org.Policies())-1]
	if got := org.Attached(members[0]); !reflect.DeepEqual(got, []string{orgemu.FullAWSAccessID, window}) {
		t.Errorf("the guardrail's slot must hold the window's SCP, other SCPs stay: %v", got)
	}
	// AWS lets the root user in until the end, and not a second after, whatever rootwindow does.
	for _, id := range members[:4] {
		if !org.RootAllowed(id, end.Add(-time.Second), false) || org.RootAllowed(id, end.Add(time.Second), false) {
			t.Errorf("%s: root allowed before the end %v, after %v", id, org.RootAllowed(id, end.Add(-time.Second), false), org.RootAllowed(id, end.Add(time.Second), false))
		}
	}
	if org.RootAllowed(members[4], end.Add(-time.Second), false) {
		t.Error("root allowed on an account outside the window")
	}
	if err := restore(g, members[:4]); err != nil {
		t.Fatal(err)
	}
	if after := org.Snapshot(); !reflect.DeepEqual(before, after) {
		t.Errorf("organization changed (the window's SCP must be gone):\nbefore %v\nafter  %v", before, after)
	}
}

func TestTheWindowSCPIsTheGuardrailBoundedByTheEnd(t *testing.T) {
	const doc = `{"Version":"2012-10-17","Statement":[{"Sid":"DenyRootUser","Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":["arn:aws:iam::*:root"]},"BoolIfExists":{"aws:AssumedRoot":"false"}}},{"Sid":"Allowed","Effect":"Allow","Action":"*","Resource":"*"}]}`
	got, err := guardrail.WindowContent(doc, end)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Statement":[{"Action":"*","Condition":{"ArnLike":{"aws:PrincipalArn":["arn:aws:iam::*:root"]},"BoolIfExists":{"aws:AssumedRoot":"false"},"DateGreaterThan":{"aws:CurrentTime":"2026-11-23T12:00:00Z"}},"Effect":"Deny","Resource":"*","Sid":"DenyRootUser"},{"Action":"*","Effect":"Allow","Resource":"*","Sid":"Allowed"}],"Version":"2012-10-17"}`
	if got != want {
		t.Errorf("render:\n%s\nwant\n%s", got, want)
	}
	if again, _ := guardrail.WindowContent(doc, end); again != got {
		t.Error("the render is not deterministic")
	}
	if _, err := guardrail.WindowContent(`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}}`, end); err == nil {
		t.Error("a guardrail already bounded by time was rendered")
	}
}

// With a slot free, the window's SCP goes in before the guardrail comes out: no step needs a sixth
// slot, and at no instant does an account hold neither.
func TestLiftNeverNeedsASixthSlot(t *testing.T) {
	org, g := setup(t, fast)
	extras := org.AddExtraPolicies(orgemu.MaxSCPs - 3)
	// FullAWSAccess, the extras and the guardrail: one slot free.
	org.AddAccount(orgemu.Account{ID: members[0]}, append(append([]string{orgemu.FullAWSAccessID}, extras...), orgemu.GuardrailID)...)
	if err := lift(g, members[:1]); err != nil {
		t.Fatal(err)
	}
	if n := org.CountCalls("AttachPolicy", "ConstraintViolationException"); n != 0 {
		t.Errorf("%d attaches over the quota", n)
	}
	var order []string
	for _, c := range org.Calls() {
		if c.Op == "AttachPolicy" || c.Op == "DetachPolicy" {
			order = append(order, c.Op+" "+c.Policy)
		}
	}
	window := org.Policies()[len(org.Policies())-1]
	if want := []string{"AttachPolicy " + window, "DetachPolicy " + orgemu.GuardrailID}; !reflect.DeepEqual(order, want) {
		t.Errorf("calls %v, want %v", order, want)
	}
	if err := restore(g, members[:1]); err != nil {
		t.Fatal(err)
	}
	order = order[:0]
	for _, c := range org.Calls() {
		if c.Op == "AttachPolicy" || c.Op == "DetachPolicy" || c.Op == "DeletePolicy" {
			order = append(order, c.Op+" "+c.Policy)
		}
	}
	if want := []string{"AttachPolicy " + window, "DetachPolicy " + orgemu.GuardrailID, "AttachPolicy " + orgemu.GuardrailID, "DetachPolicy " + window, "DeletePolicy " + window}; !reflect.DeepEqual(order, want) {
		t.Errorf("calls %v, want %v", order, want)
	}
}

// A policy already named after the window, with another document, is not rootwindow's: nothing
// is lifted with it. And a record naming the guardrail as the window's SCP cannot make the
// restore detach the guardrail.
func TestAWindowSCPRootwindowDidNotWriteIsRefused(t *testing.T) {
	org, g := setup(t, fast)
	org.AddPolicy("p-planted01", guardrail.WindowPolicyName("req-1"), orgemu.FullAWSAccessContent)
	err := lift(g, members[:1])
	if err == nil || !strings.Contains(err.Error(), "does not hold this window's document") {
		t.Fatalf("got %v", err)
	}
	assertAttached(t, org, true, members[0])
	if org.IsAttached(members[0], "p-planted01") {
		t.Error("the planted policy was attached")
	}

	org2, g2 := setup(t, fast)
	if err := g2.Restore(context.Background(), guardrail.Window{RequestID: "req-2", AccountIDs: members[:1], PolicyID: orgemu.GuardrailID}); err != nil {
		t.Fatal(err)
	}
	assertAttached(t, org2, true, members[0])
}

func TestRepeatsAreIdempotent(t *testing.T) {
	org, g := setup(t, fast)
	for range 2 {
		if err := lift(g, members[:2]); err != nil {
			t.Fatal(err)
		}
	}
	if n := org.CountCalls("DetachPolicy", "PolicyNotAttachedException"); n != 2 {
		t.Errorf("second lift: %d PolicyNotAttached answers, want 2", n)
	}
	if n := org.CountCalls("CreatePolicy", "DuplicatePolicyException"); n != 1 {
		t.Errorf("second lift: %d DuplicatePolicy answers, want 1 (the window's SCP found again)", n)
	}
	for range 2 {
		if err := restore(g, members[:2]); err != nil {
			t.Fatal(err)
		}
	}
	if n := org.CountCalls("AttachPolicy", "DuplicatePolicyAttachmentException"); n != 4 {
		t.Errorf("%d DuplicatePolicyAttachment answers, want 4 (the second lift's window SCP, the second restore's guardrail)", n)
	}
	assertAttached(t, org, true, members...)
	if len(org.Policies()) != 2 {
		t.Errorf("policies left: %v", org.Policies())
	}
}

func TestThrottlingStorm(t *testing.T) {
	org := orgemu.Standard(mgmt, "alice@example.com", members...)
	// In virtual time: calls cost none, so three in flight always outrun 100 a second, however
	// slow the machine; a back-off or a paced turn is a jump of the clock, which refills the bucket.
	clock := simtime.New(end.Add(-time.Hour))
	org.SetClock(clock.Now, clock.SleepFor)
	g := guardrail.New(testenv.Organizations(t, org), orgemu.GuardrailID, guardrail.Options{
		Backoff: guardrail.Backoff{Attempts: 40, Base: 5 * time.Millisecond, Max: 40 * time.Millisecond}, Concurrency: 3,
		Clock: clock.Now, Sleep: clock.Sleep})
	org.SetRateLimit(100, 2)
	org.Inject(orgemu.Fault{Op: "DetachPolicy", Code: "ConcurrentModificationException", Times: 3})
	org.Inject(orgemu.Fault{Op: "AttachPolicy", Code: "PolicyChangesInProgressException", Times: 2})
	org.Inject(orgemu.Fault{Op: "AttachPolicy", Code: "ServiceException", Times: 2})
	if err := lift(g, members); err != nil {
		t.Fatal(err)
	}
	assertAttached(t, org, false, members...)
	if err := restore(g, members); err != nil {
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

func TestLiftFailingPartWayPutsBackWhatItTook(t *testing.T) {
	org, g := setup(t, fast)
	before := org.Snapshot()
	// The guardrail's detach fails; the compensation's detach of the window's SCP goes through.
	org.Inject(orgemu.Fault{Op: "DetachPolicy", Target: members[2], Code: "AccessDeniedException", Times: 1})
	err := lift(g, members)
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

// A compensation that fails leaves the window's SCP in place: root is blocked from the end.
func TestCompensationFailureIsARestoreFailure(t *testing.T) {
	org, g := setup(t, fast)
	org.Inject(orgemu.Fault{Op: "DetachPolicy", Target: members[1], Code: "AccessDeniedException"})
	org.Inject(orgemu.Fault{Op: "AttachPolicy", Target: members[0], Code: "AccessDeniedException", Skip: 1})
	err := lift(g, members[:2])
	var berr *guardrail.BatchError
	if !errors.As(err, &berr) || berr.Compensation == nil || !berr.RestoreFailed() {
		t.Fatalf("want a failed compensation, got %v", err)
	}
	if _, ok := berr.Compensation.Failed[members[0]]; !ok {
		t.Errorf("compensation failures: %v", berr.Compensation.Failed)
	}
	assertAttached(t, org, false, members[0])
	if org.RootAllowed(members[0], end.Add(time.Second), false) {
		t.Error("the guardrail is missing and nothing blocks root after the end")
	}
}

func TestPersistentThrottlingIsTransient(t *testing.T) {
	org, g := setup(t, fast)
	org.Inject(orgemu.Fault{Op: "DetachPolicy", Target: members[0], Code: "TooManyRequestsException"})
	err := lift(g, members[:3])
	// Throttled calls wait their paced turn and may go three times the attempts.
	var terr *guardrail.TransientError
	if !guardrail.IsTransient(err) || !errors.As(err, &terr) || terr.Attempts != 3*fast.Attempts {
		t.Fatalf("want a transient error after %d attempts, got %v", 3*fast.Attempts, err)
	}
	assertAttached(t, org, true, members[:3]...)
}

func TestRestoreOverTheSCPLimit(t *testing.T) {
	org, g := setup(t, fast)
	if err := lift(g, members[:2]); err != nil {
		t.Fatal(err)
	}
	window := org.Policies()[len(org.Policies())-1]
	// During the window someone attaches SCPs up to the quota on one account (it holds
	// FullAWSAccess and the window's SCP).
	for _, p := range org.AddExtraPolicies(orgemu.MaxSCPs - 2) {
		org.Attach(members[0], p)
	}
	err := restore(g, members[:2])
	var berr *guardrail.BatchError
	if !errors.As(err, &berr) || !berr.RestoreFailed() || berr.Transient() {
		t.Fatalf("want a permanent restore failure, got %v", err)
	}
	if !strings.Contains(err.Error(), "111111111111 (ConstraintViolationException)") {
		t.Errorf("message: %v", err)
	}
	assertAttached(t, org, true, members[1])
	// The window's SCP stays where the guardrail could not go back: AWS blocks root from the end.
	if !org.IsAttached(members[0], window) || org.RootAllowed(members[0], end.Add(time.Second), false) {
		t.Error("the account is left without a bound")
	}
}

func TestLatencyWithConcurrency(t *testing.T) {
	org, g := setup(t, fast)
	org.SetLatency(20 * time.Millisecond)
	start := time.Now()
	if err := lift(g, members); err != nil {
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
	// Attached to the account and, above it, to two nested OUs: lifting from the account is no lift.
	org.AddOU("ou-ex02-bbbbbbbb", "ou-ex01-aaaaaaaa", orgemu.FullAWSAccessID, orgemu.GuardrailID)
	org.AddAccount(orgemu.Account{ID: "600000000005", Parent: "ou-ex02-bbbbbbbb"}, orgemu.FullAWSAccessID, orgemu.GuardrailID)
	extras := org.AddExtraPolicies(orgemu.MaxSCPs - 2)
	org.AddAccount(orgemu.Account{ID: "600000000006"}, append(append([]string{orgemu.FullAWSAccessID}, extras...), orgemu.GuardrailID)...) // slots full
	ids := []string{members[0], mgmt, "600000000001", "600000000002", "600000000003", "600000000004", "600000000009", "600000000005", "600000000006"}
	reports, err := g.Inspect(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		members[0]:     "",
		mgmt:           "is the organization's management account; SCPs never apply to it, so there is nothing to lift",
		"600000000001": "inherits the guardrail p-rootguard01 from ou-ex01-aaaaaaaa, not attached to the account itself; the detach strategy lifts a guardrail attached to the account and nowhere above it (deploy with liftStrategy exempt or auto, which lift it wherever it is attached, or attach it to each account under ou-ex01-aaaaaaaa, then detach it there)",
		"600000000002": "does not have the guardrail p-rootguard01 attached, so there is nothing to lift",
		"600000000003": "has the guardrail p-rootguard01 as its only SCP attached directly, and Organizations requires at least one: attach another SCP (such as FullAWSAccess) directly first",
		"600000000004": "is SUSPENDED; only ACTIVE accounts can have a window",
		"600000000009": "is not an account of this organization",
		"600000000005": "has the guardrail p-rootguard01 attached directly and also inherits it from ou-ex02-bbbbbbbb, ou-ex01-aaaaaaaa: lifting it from the account would leave the root user blocked by the inherited copy; the detach strategy lifts a guardrail attached to the account and nowhere above it (deploy with liftStrategy exempt or auto, which lift it wherever it is attached, or detach it from ou-ex02-bbbbbbbb, ou-ex01-aaaaaaaa and attach it to each account there)",
		"600000000006": "has 10 SCPs attached directly, Organizations' quota of 10: a window needs one free slot for its own SCP, which denies the root user from the window's end (detach an SCP from the account, or set scpsPerTargetQuota if your quota is higher)",
	}
	for id, msg := range want {
		if got := g.Problem(reports[id]); got != msg {
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
	g := guardrail.New(testenv.Organizations(t, org), orgemu.GuardrailID, guardrail.Options{Organization: orgemu.OrganizationID, Management: testenv.Management, Rates: guardrail.Unpaced})
	if _, err := g.Inspect(context.Background(), []string{"111111111111"}); err != nil {
		t.Errorf("the configured organization: %v", err)
	}
}

// RootAllowed through the API agrees with the emulator's own evaluation, whatever the layout.
func TestRootAllowedThroughTheAPI(t *testing.T) {
	org, g := setup(t, fast)
	org.AddOU("ou-ex01-aaaaaaaa", org.Root(), orgemu.FullAWSAccessID, orgemu.GuardrailID)
	org.AddAccount(orgemu.Account{ID: "600000000001", Parent: "ou-ex01-aaaaaaaa"}, orgemu.FullAWSAccessID)
	org.AddAccount(orgemu.Account{ID: "600000000002"}, orgemu.FullAWSAccessID)
	if err := lift(g, members[:1]); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{end.Add(-time.Second), end.Add(time.Second)} {
		for _, id := range []string{members[0], members[1], "600000000001", "600000000002"} {
			got, err := g.RootAllowed(context.Background(), id, at)
			if err != nil {
				t.Fatal(err)
			}
			if want := org.RootAllowed(id, at, false); got != want {
				t.Errorf("%s at %s: %v, the emulator says %v", id, at, got, want)
			}
		}
	}
	if ok, _ := g.RootAllowed(context.Background(), members[0], end.Add(-time.Second)); !ok {
		t.Error("the check proves nothing: root is blocked everywhere")
	}
}

// Accounts checked at once under one OU share its reads: the OU's and the root's parents and SCPs
// are each read once, however many workers ask at the same time.
func TestInspectReadsEachLevelOnce(t *testing.T) {
	org := orgemu.New(mgmt)
	org.AddOU("ou-once-team0001", org.Root(), orgemu.FullAWSAccessID)
	var ids []string
	for i := range 8 {
		id := fmt.Sprintf("73000000000%d", i)
		ids = append(ids, id)
		org.AddAccount(orgemu.Account{ID: id, Parent: "ou-once-team0001"}, orgemu.FullAWSAccessID, orgemu.GuardrailID)
	}
	org.SetLatency(20 * time.Millisecond) // the four workers reach the OU while its reads are in flight
	g := guardrail.New(testenv.Organizations(t, org), orgemu.GuardrailID, guardrail.Options{Backoff: fast, Concurrency: 4, Rates: guardrail.Unpaced})
	if _, err := g.Inspect(context.Background(), ids); err != nil {
		t.Fatal(err)
	}
	for _, read := range []struct{ op, target string }{
		{"ListPoliciesForTarget", "ou-once-team0001"}, {"ListParents", "ou-once-team0001"}, {"ListPoliciesForTarget", org.Root()},
	} {
		if n := countCalls(org, read.op, read.target); n != 1 {
			t.Errorf("%s of %s: %d calls, want 1", read.op, read.target, n)
		}
	}
}

// countCalls counts org's successful calls of op on target.
func countCalls(org *orgemu.Server, op, target string) int {
	n := 0
	for _, c := range org.Calls() {
		if c.Op == op && c.Target == target && c.Error == "" {
			n++
		}
	}
	return n
}
