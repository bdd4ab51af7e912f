package rootevents_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/rootevents"
	"github.com/rootwindow/rootwindow/pkg/window"
)

const (
	store = "arn:aws:cloudtrail:us-east-1:999999999999:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"
	group = "arn:aws:logs:us-east-1:999999999999:log-group:aws-cloudtrail-logs-o-exampleorg1"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

func rootEvent(id, account, name string, at time.Time, extra ...string) awsemu.LakeEvent {
	return awsemu.RootEvent(id, account, name, at, append([]string{"sourceIPAddress", "192.0.2.1"}, extra...)...)
}

// source is one place root events are read from, its emulator, and how to put events there.
type source struct {
	name  string
	emu   *awsemu.Server
	read  window.RootActivity
	add   func(...awsemu.LakeEvent)
	ran   func() []string // the statements run
	sleep *func(context.Context, time.Duration) error
	wait  *time.Duration // the source's patience
}

// sources are CloudTrail Lake and CloudWatch Logs Insights, each over its emulator through the
// real SDK client.
func sources(t *testing.T) []source {
	t.Helper()
	var out []source
	{
		emu := awsemu.New()
		emu.Start()
		t.Cleanup(emu.Close)
		emu.AddEventDataStore(store)
		l := rootevents.NewLake(testenv.Trail(emu), store)
		l.Sleep = func(context.Context, time.Duration) error { return nil }
		out = append(out, source{"lake", emu, l, func(e ...awsemu.LakeEvent) { emu.AddLakeEvents(store, e...) }, emu.LakeQueries, &l.Sleep, &l.Patience})
	}
	{
		emu := awsemu.New()
		url := emu.Start()
		t.Cleanup(emu.Close)
		emu.AddLogGroup(group + ":*")
		cfg := testenv.AWSConfig()
		cfg.Retryer = testenv.ConnectionRetries
		i := rootevents.NewInsights(cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) { o.BaseEndpoint = aws.String(url) }), group+":*")
		i.Sleep = func(context.Context, time.Duration) error { return nil }
		out = append(out, source{"insights", emu, i, func(e ...awsemu.LakeEvent) { emu.AddLogEvents(group, e...) }, emu.InsightsQueries, &i.Sleep, &i.Patience})
	}
	return out
}

// The query finds the root users' events on the accounts asked, within the times asked (both
// ends included), in time order, and nothing of other accounts, other times or other identities.
func TestRootEventsAreTheAccountsRootEventsInTheWindow(t *testing.T) {
	for _, s := range sources(t) {
		t.Run(s.name, func(t *testing.T) {
			s.add(
				rootEvent("in-2", "111111111111", "UpdateAccountEmailAddress", t0.Add(30*time.Minute)),
				rootEvent("in-1", "111111111111", "ConsoleLogin", t0, "eventSource", "signin.amazonaws.com"),
				rootEvent("in-3", "222222222222", "PutBucketVersioning", t0.Add(time.Hour), "errorCode", "AccessDenied"),
				rootEvent("before", "111111111111", "ConsoleLogin", t0.Add(-time.Second)),
				rootEvent("after", "111111111111", "ConsoleLogin", t0.Add(time.Hour+time.Second)),
				rootEvent("other-account", "333333333333", "ConsoleLogin", t0.Add(time.Minute)),
				rootEvent("not-root", "111111111111", "ListUsers", t0.Add(time.Minute), "userIdentity.type", "AssumedRole"),
				rootEvent("failed-sign-in", "222222222222", "ConsoleLogin", t0.Add(10*time.Minute), "errorMessage", "Failed authentication", "errorCode", ""),
			)
			q, err := s.read.RootEvents(context.Background(), []string{"111111111111", "222222222222"}, t0, t0.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range q.Events {
				got = append(got, e.EventID)
			}
			if want := "in-1 failed-sign-in in-2 in-3"; strings.Join(got, " ") != want {
				t.Fatalf("events %v, want %s", got, want)
			}
			if e := q.Events[0]; !e.Time.Equal(t0) || e.AccountID != "111111111111" || e.Name != "ConsoleLogin" || !e.SignIn() || e.Source != "signin.amazonaws.com" || e.SourceIP != "192.0.2.1" {
				t.Errorf("first event %+v", e)
			}
			if e := q.Events[1]; e.Error != "Failed authentication" {
				t.Errorf("a failed sign-in reads %+v", e)
			}
			if e := q.Events[3]; e.Error != "AccessDenied" {
				t.Errorf("a denied call reads %+v", e)
			}
			if ran := s.ran(); q.ID == "" || len(ran) != 1 || !strings.Contains(q.Statement, ran[0]) {
				t.Errorf("query %q %q, ran %q", q.ID, q.Statement, ran)
			}
		})
	}
}

// With no account named, every account's root events are found; a result of thousands of rows is
// read page by page; a query that runs for a while is waited for.
func TestRootEventsReadsEveryPageOfAQueryThatRuns(t *testing.T) {
	for _, s := range sources(t) {
		t.Run(s.name, func(t *testing.T) {
			n := 2500
			if s.name == "insights" {
				n = 12000 // its pages hold 10,000
			}
			var events []awsemu.LakeEvent
			for i := range n {
				events = append(events, rootEvent(fmt.Sprintf("e-%05d", i), fmt.Sprintf("%012d", 100000000000+i%7), "GetCallerIdentity", t0.Add(time.Duration(i)*time.Second)))
			}
			s.add(events...)
			s.emu.SetQueryRuns(3)
			waits := 0
			*s.sleep = func(context.Context, time.Duration) error { waits++; return nil }
			q, err := s.read.RootEvents(context.Background(), nil, t0, t0.Add(24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(q.Events) != n || q.Events[n-1].EventID != fmt.Sprintf("e-%05d", n-1) || waits != 3 {
				t.Errorf("%d events (last %v) after %d waits", len(q.Events), q.Events[len(q.Events)-1].EventID, waits)
			}
		})
	}
}

// A query still running after the patience allowed is given up (the next sweep asks again); a
// source that does not exist is an error naming the service's reason; account IDs are checked
// before they reach a statement.
func TestRootEventsFailures(t *testing.T) {
	for _, s := range sources(t) {
		t.Run(s.name, func(t *testing.T) {
			s.emu.SetQueryRuns(1000)
			*s.wait = 10 * time.Second
			if _, err := s.read.RootEvents(context.Background(), nil, t0, t0.Add(time.Hour)); err == nil || !strings.Contains(strings.ToLower(err.Error()), "still running") {
				t.Errorf("a query that never finishes: %v", err)
			}
			s.emu.SetQueryRuns(0)
			if _, err := s.read.RootEvents(context.Background(), []string{`1111" or "1"="1`}, t0, t0.Add(time.Hour)); err == nil || len(s.ran()) != 1 {
				t.Errorf("an account ID that is not one reached the query: %v", err)
			}
		})
	}
	var api smithy.APIError
	emu := awsemu.New()
	emu.Start()
	t.Cleanup(emu.Close)
	gone := rootevents.NewLake(testenv.Trail(emu), "arn:aws:cloudtrail:us-east-1:999999999999:eventdatastore/gone")
	if _, err := gone.RootEvents(context.Background(), nil, t0, t0.Add(time.Hour)); !errors.As(err, &api) || api.ErrorCode() != "EventDataStoreNotFoundException" {
		t.Errorf("an event data store that does not exist: %v", err)
	}
}
