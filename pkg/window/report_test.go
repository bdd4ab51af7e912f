package window_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/rootevents"
	"github.com/rootwindow/rootwindow/pkg/trail"
	"github.com/rootwindow/rootwindow/pkg/window"
)

const eventDataStore = "arn:aws:cloudtrail:us-east-1:999999999999:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"

// withLake gives e an event data store in its emulator and the service a Lake over it.
func (e *env) withLake(metrics *bytes.Buffer) {
	e.Emu.AddEventDataStore(eventDataStore)
	l := rootevents.NewLake(testenv.Trail(e.Emu), eventDataStore)
	l.Sleep = func(context.Context, time.Duration) error { return nil }
	e.With(func(d *window.Deps) {
		d.RootActivity, d.Config.TrailEventDataStore = l, eventDataStore
		if metrics != nil {
			d.Metrics = metrics
		}
	})
}

var root = awsemu.RootEvent

// reportQueries are the Lake statements run for window reports (those naming accounts).
func reportQueries(emu *awsemu.Server) int {
	n := 0
	for _, q := range emu.LakeQueries() {
		if strings.Contains(q, "recipientAccountId IN") {
			n++
		}
	}
	return n
}

// A window's report lists exactly its accounts' root events from the lift to the guardrail's
// return, made once CloudTrail has had ReportDelay to deliver them, once, with the query that
// found them, and announced (Report).
func TestAWindowsReportIsItsAccountsRootEventsWithinIt(t *testing.T) {
	e := newEnv(t)
	e.withLake(nil)
	ctx := context.Background()
	lifted := e.Now
	e.open(t, "req-1", members[0], members[1])
	e.Now = e.Now.Add(time.Hour)
	if _, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeClose}); err != nil {
		t.Fatal(err)
	}
	closed := e.AssertStatus(t, "req-1", ledger.Closed).ClosedAt
	e.Emu.AddLakeEvents(eventDataStore,
		root("sign-in", members[0], "ConsoleLogin", lifted.Add(10*time.Minute), "eventSource", "signin.amazonaws.com"),
		root("denied", members[1], "DeleteBucketPolicy", lifted.Add(30*time.Minute), "errorCode", "AccessDenied"),
		root("email", members[0], "UpdateAccountEmailAddress", closed),
		root("before", members[0], "ConsoleLogin", lifted.Add(-2*time.Minute)),
		root("after", members[0], "ConsoleLogin", closed.Add(2*time.Minute)),
		root("other-account", members[2], "ConsoleLogin", lifted.Add(20*time.Minute)),
		root("not-root", members[0], "ListUsers", lifted.Add(20*time.Minute), "userIdentity.type", "AssumedRole"),
	)

	e.Now = closed.Add(window.ReportDelay - time.Minute)
	if _, err := e.Steps.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if rec := e.AssertStatus(t, "req-1", ledger.Closed); rec.Report != nil || reportQueries(e.Emu) != 0 {
		t.Fatalf("a report made before CloudTrail had %s to deliver: %+v", window.ReportDelay, rec.Report)
	}
	e.Now = closed.Add(window.ReportDelay)
	rep, err := e.Steps.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := e.AssertStatus(t, "req-1", ledger.Closed).Report
	if r == nil || strings.Join(rep.Reported, ",") != "req-1" {
		t.Fatalf("no report: %+v", rep)
	}
	var ids []string
	for _, ev := range r.Listed {
		ids = append(ids, ev.EventID)
	}
	if strings.Join(ids, " ") != "sign-in denied email" || r.Events != 3 || r.SignIns != 1 || r.Errors != 1 ||
		r.ByAccount[members[0]] != 2 || r.ByAccount[members[1]] != 1 || r.ByName["ConsoleLogin"] != 1 ||
		!r.First.Equal(lifted.Add(10*time.Minute)) || !r.Last.Equal(closed) || !r.From.Equal(lifted) || !r.To.Equal(closed) {
		t.Errorf("report %v %+v", ids, r)
	}
	if r.Source != eventDataStore || r.QueryID == "" || !strings.Contains(r.Query, "FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE") || r.Problem != "" {
		t.Errorf("report's source %q, query %q %q", r.Source, r.QueryID, r.Query)
	}
	var announced int
	for _, ev := range e.Emu.Events() {
		if ev.DetailType == "Root Access Window Report" {
			announced++
			var d struct {
				Report contract.WindowReport `json:"report"`
			}
			if err := json.Unmarshal(ev.Detail, &d); err != nil || d.Report.Events != 3 {
				t.Errorf("the Report notification's report: %+v %v", d.Report, err)
			}
		}
	}
	if announced != 1 {
		t.Errorf("%d Report notifications, want 1", announced)
	}
	e.Now = e.Now.Add(time.Hour)
	if _, err := e.Steps.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := reportQueries(e.Emu); n != 1 {
		t.Errorf("%d report queries after another sweep, want 1: a report is made once", n)
	}
}

// Without an event data store a window's report says there is no report source, at once, and
// nothing is announced.
func TestAWindowsReportWithoutASource(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.open(t, "req-1", members[0])
	e.Now = e.Now.Add(time.Hour)
	if _, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeClose}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Steps.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	r := e.AssertStatus(t, "req-1", ledger.Closed).Report
	if r == nil || r.Problem != contract.NoReportSource || r.Events != 0 {
		t.Fatalf("report %+v", r)
	}
	for _, ev := range e.Emu.Events() {
		if ev.DetailType == "Root Access Window Report" {
			t.Error("a report with no source was announced")
		}
	}
}

// Root activity on a protected account when none of its windows was lifted is kept and counted
// (RootOutsideWindow) and announced once, however many scans see it; activity within a window,
// on an account the guardrail does not protect, or before the look's range is not; the look runs
// every rootActivityScanMinutes.
func TestRootActivityOutsideAnyWindowIsRaisedOnce(t *testing.T) {
	e := newEnv(t)
	var metrics bytes.Buffer
	e.withLake(&metrics)
	ctx := context.Background()
	start := e.Now
	e.open(t, "req-1", members[0])
	e.Now = e.Now.Add(time.Hour)
	if _, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeClose}); err != nil {
		t.Fatal(err)
	}
	e.Emu.AddLakeEvents(eventDataStore,
		root("in-window", members[0], "ConsoleLogin", start.Add(5*time.Minute)),
		root("outside-1", members[1], "ConsoleLogin", start.Add(10*time.Minute), "eventSource", "signin.amazonaws.com"),
		root("outside-2", members[1], "DeleteBucketPolicy", start.Add(11*time.Minute), "errorCode", "AccessDenied"),
		root("after-window", members[0], "ConsoleLogin", e.Now.Add(5*time.Minute)),
		root("long-ago", members[1], "ConsoleLogin", start.Add(-48*time.Hour)),
	)
	e.Now = e.Now.Add(10 * time.Minute)
	rep, err := e.Steps.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(slices.Values(rep.RootOutside)); !rep.RootScanned || strings.Join(got, " ") != "after-window outside-1 outside-2" {
		t.Errorf("found outside windows: %v (scanned %v)", rep.RootOutside, rep.RootScanned)
	}
	if !strings.Contains(metrics.String(), `"RootOutsideWindow":3`) {
		t.Errorf("metrics %s", metrics.String())
	}
	byAccount := map[string]int{}
	for _, ev := range e.Emu.Events() {
		if ev.DetailType == "Root Access Window Root Outside Window" {
			var d struct {
				AccountID string               `json:"accountId"`
				Events    []contract.RootEvent `json:"events"`
			}
			if err := json.Unmarshal(ev.Detail, &d); err != nil {
				t.Fatal(err)
			}
			byAccount[d.AccountID] += len(d.Events)
		}
	}
	if byAccount[members[1]] != 2 || byAccount[members[0]] != 1 || len(byAccount) != 2 {
		t.Errorf("announced per account: %v", byAccount)
	}

	// Within rootActivityScanMinutes, no look; after it, the same events are not raised again,
	// and a new one is.
	looks := len(e.Emu.LakeQueries()) - reportQueries(e.Emu)
	e.Now = e.Now.Add(10 * time.Minute)
	if rep, err := e.Steps.Sweep(ctx); err != nil || rep.RootScanned || len(e.Emu.LakeQueries())-reportQueries(e.Emu) != looks {
		t.Fatalf("a look within the minutes between looks: %+v %v", rep, err)
	}
	e.Emu.AddLakeEvents(eventDataStore, root("later", members[2], "ConsoleLogin", e.Now))
	e.Now = e.Now.Add(time.Hour)
	metrics.Reset()
	rep, err = e.Steps.Sweep(ctx)
	if err != nil || !rep.RootScanned || strings.Join(rep.RootOutside, " ") != "later" || !strings.Contains(metrics.String(), `"RootOutsideWindow":1`) {
		t.Errorf("second look: %v %v %s", rep.RootOutside, err, metrics.String())
	}
}

// Once a drift scan has found which accounts the guardrail protects, root activity on any other
// account (one the guardrail does not cover) is not rootwindow's to raise.
func TestRootActivityOnAnUnprotectedAccountIsNotRaised(t *testing.T) {
	e := newEnv(t)
	e.withLake(nil)
	ctx := context.Background()
	e.Org.Detach(members[2], "p-rootguard01")
	e.With(func(d *window.Deps) { d.Config.DriftScanMinutes = 5 })
	e.Emu.AddLakeEvents(eventDataStore,
		root("unprotected", members[2], "ConsoleLogin", e.Now.Add(-10*time.Minute)),
		root("protected", members[1], "ConsoleLogin", e.Now.Add(-10*time.Minute)))
	rep, err := e.Steps.Sweep(ctx)
	if err != nil && len(rep.Drift) == 0 {
		t.Fatal(err)
	}
	if strings.Join(rep.RootOutside, " ") != "protected" {
		t.Errorf("raised %v, want only the protected account's", rep.RootOutside)
	}
}

// A window's record, changed in the ledger to name an account its execution was not started for,
// does not hide that account's root activity during the window: the execution vouches for a
// window, not the record alone. A record it does not vouch for hides nothing, failing loud: its
// own account's activity is raised too, and LedgerTampered counts the record.
func TestThreatARecordCannotHideRootActivity(t *testing.T) {
	e := newEnv(t)
	var metrics bytes.Buffer
	e.withLake(&metrics)
	e.With(func(d *window.Deps) { d.Config.StateMachineARN = testenv.StateMachineARN })
	ctx := context.Background()
	start := e.Now
	e.open(t, "req-1", members[0])
	e.edit(t, "request#req-1", "SET accountIds = :a", map[string]types.AttributeValue{":a": list(members[0], members[1])})
	e.Emu.AddLakeEvents(eventDataStore,
		root("its-own", members[0], "ConsoleLogin", start.Add(5*time.Minute)),
		root("hidden", members[1], "ConsoleLogin", start.Add(6*time.Minute)))
	e.Now = e.Now.Add(10 * time.Minute)
	rep, err := e.Steps.Sweep(ctx)
	if err != nil && len(rep.RootOutside) == 0 {
		t.Fatal(err)
	}
	if !slices.Contains(rep.RootOutside, "hidden") || len(rep.RootOutside) != 2 {
		t.Errorf("raised %v, want every root event the changed record covered", rep.RootOutside)
	}
	if !strings.Contains(metrics.String(), contract.MetricLedgerTampered) {
		t.Errorf("the changed record was not counted: %s", metrics.String())
	}
}

// Root activity outside any window whose announcement fails is not kept, so the next look
// announces it (at least once, under the same notification ID); it is kept, counted and never
// announced again once announced.
func TestRootActivityIsKeptOnlyOnceAnnounced(t *testing.T) {
	e := newEnv(t)
	var metrics bytes.Buffer
	e.withLake(&metrics)
	ctx := context.Background()
	e.Emu.AddLakeEvents(eventDataStore, root("outside", members[1], "ConsoleLogin", e.Now.Add(-10*time.Minute)))
	e.Emu.Fail(awsemu.OpPutEvents, 1)
	if rep, err := e.Steps.Sweep(ctx); err == nil || len(rep.RootOutside) != 0 || strings.Contains(metrics.String(), contract.MetricRootOutsideWindow) {
		t.Fatalf("an announcement that failed: %+v %v %s", rep, err, metrics.String())
	}
	announced := func() (n int) {
		for _, ev := range e.Emu.Events() {
			if ev.DetailType == "Root Access Window Root Outside Window" {
				n++
			}
		}
		return n
	}
	e.Now = e.Now.Add(time.Hour)
	rep, err := e.Steps.Sweep(ctx)
	if err != nil || strings.Join(rep.RootOutside, " ") != "outside" || announced() != 1 || !strings.Contains(metrics.String(), `"RootOutsideWindow":1`) {
		t.Fatalf("the next look: %+v %v, %d announced, %s", rep, err, announced(), metrics.String())
	}
	e.Now = e.Now.Add(time.Hour)
	if rep, err := e.Steps.Sweep(ctx); err != nil || len(rep.RootOutside) != 0 || announced() != 1 {
		t.Errorf("a look after it was announced: %+v %v, %d announced", rep, err, announced())
	}
}

// A sweep makes at most five reports (one query each, one at a time, inside the sweeper's
// minutes); the rest wait for the next sweep, and none is made twice.
func TestReportsAreMadeFiveASweep(t *testing.T) {
	e := newEnv(t)
	e.withLake(nil)
	e.With(func(d *window.Deps) { d.Config.MaxDailyPerRequester, d.Config.MaxConcurrentPerRequester = 50, 50 })
	ctx := context.Background()
	for i := range 6 {
		id := fmt.Sprintf("req-%d", i)
		e.open(t, id, members[i%len(members)])
		e.Now = e.Now.Add(time.Hour)
		if _, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: id, Mode: contract.ModeClose}); err != nil {
			t.Fatal(err)
		}
		e.Now = e.Now.Add(2 * time.Hour) // past the cooldown
	}
	rep, err := e.Steps.Sweep(ctx)
	if err != nil || len(rep.Reported) != 5 || reportQueries(e.Emu) != 5 {
		t.Fatalf("first sweep: %v reported, %d queries, %v", rep.Reported, reportQueries(e.Emu), err)
	}
	rep, err = e.Steps.Sweep(ctx)
	if err != nil || len(rep.Reported) != 1 || reportQueries(e.Emu) != 6 {
		t.Fatalf("second sweep: %v reported, %d queries, %v", rep.Reported, reportQueries(e.Emu), err)
	}
	if rep, err := e.Steps.Sweep(ctx); err != nil || len(rep.Reported) != 0 || reportQueries(e.Emu) != 6 {
		t.Errorf("third sweep: %v reported, %d queries, %v", rep.Reported, reportQueries(e.Emu), err)
	}
}

// A window that failed after its lift began (OPENING, then compensated: FAILED) is reported too,
// from the lift to the failure: the guardrail may have been off meanwhile. One never lifted
// (cancelled) is not.
func TestAFailedLiftIsReportedAndACancelledRequestIsNot(t *testing.T) {
	e := newEnv(t)
	e.withLake(nil)
	ctx := context.Background()
	if _, err := e.validate(t, "req-1", validRequest(members[0])); err != nil {
		t.Fatal(err)
	}
	e.Org.Inject(orgemu.Fault{Op: "DetachPolicy", Code: "TooManyRequestsException"})
	if _, err := e.Steps.Detach(ctx, testenv.Decided(t, e.Store, "req-1")); err == nil {
		t.Fatal("a lift throttled at every try succeeded")
	}
	e.Org.ClearFaults()
	e.AssertStatus(t, "req-1", ledger.Opening)
	if _, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeCompensate, Cause: "Throttled"}); err != nil {
		t.Fatal(err)
	}
	e.AssertStatus(t, "req-1", ledger.Failed)
	if _, err := e.validate(t, "req-2", validRequest(members[1])); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Steps.Cancel(ctx, "req-2", alice); err != nil {
		t.Fatal(err)
	}
	e.Now = e.Now.Add(window.ReportDelay)
	rep, err := e.Steps.Sweep(ctx)
	if err != nil || strings.Join(rep.Reported, " ") != "req-1" {
		t.Fatalf("reported %v, %v", rep.Reported, err)
	}
	if r := e.AssertStatus(t, "req-1", ledger.Failed).Report; r == nil || r.To.IsZero() || r.Problem != "" {
		t.Errorf("the failed window's report %+v", r)
	}
	if r := e.AssertStatus(t, "req-2", ledger.Cancelled).Report; r != nil {
		t.Errorf("a request never lifted has a report %+v", r)
	}
}

// With centralized root access, rootwindow opens root sessions of its own (a booking's sign-in
// audit, a password allowed at a lift and deleted after the window). What those sessions do is
// not raised as root outside windows: CloudTrail's record of the AssumeRoot calls of
// rootwindow's roles names the sessions' access keys. A person's AssumeRoot session, and a
// sign-in with the root user's password (no access key), are raised; and every event is while
// CloudTrail cannot be asked.
func TestRootwindowsOwnRootSessionsAreNotRaised(t *testing.T) {
	const (
		sweeperRole = "arn:aws:iam::999999999999:role/rootwindow/RootWindow-FunctionsSweeperRole-ABC"
		apiRole     = "arn:aws:iam::999999999999:role/rootwindow/RootWindow-FunctionsApiRole-DEF"
		adminRole   = "arn:aws:iam::999999999999:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_abc"
	)
	sessionOf := func(role, name string) awsemu.Identity {
		return awsemu.Identity{ARN: "arn:aws:sts::999999999999:assumed-role/" + role[strings.LastIndex(role, "/")+1:] + "/" + name, IssuerARN: role}
	}
	ctx := context.Background()
	for _, tt := range []struct {
		name        string
		lookupFails bool
		want        string
	}{
		{"CloudTrail answers", false, "password person"},
		{"CloudTrail cannot be asked", true, "own-audit own-deletion password person"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.withLake(nil)
			e.With(func(d *window.Deps) {
				d.RootSessions = trail.New(testenv.Trail(e.Emu))
				d.Config.RootSessionRoleARNs = []string{apiRole, sweeperRole}
			})
			start := e.Now
			e.Emu.AssumedRoot(sessionOf(apiRole, "api"), members[1], "ASIAROOTWINDOWAUDIT", start.Add(time.Minute))
			e.Emu.AssumedRoot(sessionOf(sweeperRole, "sweeper"), members[2], "ASIAROOTWINDOWDELETE", start.Add(20*time.Minute))
			e.Emu.AssumedRoot(sessionOf(adminRole, "mallory@example.com"), members[1], "ASIAAPERSON", start.Add(2*time.Minute))
			e.Emu.AddLakeEvents(eventDataStore,
				root("own-audit", members[1], "GetLoginProfile", start.Add(2*time.Minute), "userIdentity.accessKeyId", "ASIAROOTWINDOWAUDIT"),
				root("own-deletion", members[2], "DeleteLoginProfile", start.Add(21*time.Minute), "userIdentity.accessKeyId", "ASIAROOTWINDOWDELETE"),
				root("person", members[1], "CreateLoginProfile", start.Add(3*time.Minute), "userIdentity.accessKeyId", "ASIAAPERSON"),
				root("password", members[1], "ConsoleLogin", start.Add(4*time.Minute), "eventSource", "signin.amazonaws.com"),
			)
			if tt.lookupFails {
				e.With(func(d *window.Deps) { d.RootSessions = unanswered{} })
			}
			e.Now = start.Add(30 * time.Minute)
			rep, err := e.Steps.Sweep(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Sorted(slices.Values(rep.RootOutside)); !rep.RootScanned || strings.Join(got, " ") != strings.Join(slices.Sorted(strings.FieldsSeq(tt.want)), " ") {
				t.Errorf("raised %v, want %s", got, tt.want)
			}
		})
	}
}

// unanswered is CloudTrail's event history when it cannot be asked.
type unanswered struct{}

func (unanswered) RootSessionsOpenedBy(context.Context, []string, time.Time, time.Time) (map[string]bool, error) {
	return nil, errors.New("ThrottlingException: Rate exceeded")
}
