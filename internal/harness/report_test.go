package harness_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// A window through the synthesized state machine, then the sweeper on its schedule with a source
// of root activity configured, a CloudTrail Lake event data store or an organization trail's log
// group (their queries served by the emulator, through the real SDK clients): the window's report lists exactly its accounts' root events within the
// window, and a root sign-in on an account with no window raises RootOutsideWindow once.
func TestWindowReportAndRootOutsideWindowsThroughTheSweeper(t *testing.T) {
	const (
		store = "arn:aws:cloudtrail:us-east-1:999999999999:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"
		group = "arn:aws:logs:us-east-1:999999999999:log-group:aws-cloudtrail-logs-o-exampleorg1"
	)
	for _, src := range []struct {
		name, env, source string
		add               func(...awsemu.LakeEvent)
	}{
		{"CloudTrail Lake", contract.EnvTrailEventDataStore, store, func(e ...awsemu.LakeEvent) { h.AWS.AddLakeEvents(store, e...) }},
		{"the trail's log group", contract.EnvTrailLogGroup, group, func(e ...awsemu.LakeEvent) { h.AWS.AddLogEvents(group, e...) }},
	} {
		t.Run(src.name, func(t *testing.T) { reportAndRootOutside(t, src.env, src.source, src.add) })
	}
}

func reportAndRootOutside(t *testing.T, env, source string, add func(...awsemu.LakeEvent)) {
	s := begin(t)
	if env == contract.EnvTrailLogGroup {
		h.AWS.AddLogGroup(source)
	} else {
		h.AWS.AddEventDataStore(source)
	}
	h.AWS.SetQueryRuns(2) // each query runs a while: the sweeper waits on the virtual clock
	if err := h.Configure(s.ctx, map[string]string{env: source}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Configure(context.Background(), nil); h.AWS.SetQueryRuns(0) })
	accounts := []string{"111111111111", "222222222222"}
	res := s.run("reported", request(accounts, 1, nil))
	if res.Status != "SUCCEEDED" {
		t.Fatalf("%s %s %s", res.Status, res.Error, res.Cause)
	}
	rec := s.record("reported")
	from, to, _ := rec.Lifted()
	ev := func(id, account, name string, at time.Time, extra ...string) awsemu.LakeEvent {
		return awsemu.RootEvent(id, account, name, at, append([]string{"eventSource", "signin.amazonaws.com"}, extra...)...)
	}
	add(
		ev("in-1", accounts[0], "ConsoleLogin", from.Add(2*time.Minute)),
		ev("in-2", accounts[1], "PutBucketVersioning", from.Add(20*time.Minute), "eventSource", "s3.amazonaws.com"),
		ev("in-3", accounts[0], "UpdateAccountName", to.Add(-time.Minute), "eventSource", "account.amazonaws.com", "errorCode", "AccessDenied"),
		ev("not-its-account", "333333333333", "ConsoleLogin", from.Add(30*time.Minute)),
		ev("not-root", accounts[0], "ListBuckets", from.Add(10*time.Minute), "userIdentity.type", "AssumedRole"),
	)
	h.Clock.Advance(window.ReportDelay)
	if err := h.Sweep(s.ctx); err != nil {
		t.Fatal(err)
	}
	r := s.record("reported").Report
	if r == nil {
		t.Fatal("no report after the sweep")
	}
	var ids []string
	for _, e := range r.Listed {
		ids = append(ids, e.EventID)
	}
	if strings.Join(ids, " ") != "in-1 in-2 in-3" || r.Events != 3 || r.SignIns != 1 || r.Errors != 1 || !r.From.Equal(from) || !r.To.Equal(to) || r.Source != source {
		t.Errorf("report of %v: %+v", ids, r)
	}
	// The sign-in on 333333333333, which had no window, was raised once: kept, counted, announced.
	outside := 0
	for _, e := range h.AWS.Events() {
		if e.DetailType == "Root Access Window Root Outside Window" {
			outside++
			if !strings.Contains(string(e.Detail), `"accountId":"333333333333"`) || !strings.Contains(string(e.Detail), "not-its-account") {
				t.Errorf("announced %s", e.Detail)
			}
		}
	}
	if outside != 1 {
		t.Errorf("%d Root Outside Window notifications, want 1", outside)
	}
	h.Clock.Advance(2 * time.Hour)
	if err := h.Sweep(s.ctx); err != nil {
		t.Fatal(err)
	}
	again := 0
	for _, e := range h.AWS.Events() {
		if e.DetailType == "Root Access Window Root Outside Window" {
			again++
		}
	}
	if again != 1 || s.record("reported").Status != ledger.Closed {
		t.Errorf("after a second look: %d notifications, want still 1", again)
	}
	s.unchanged()
}
