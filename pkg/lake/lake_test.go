package lake_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/lake"
)

const store = "arn:aws:cloudtrail:us-east-1:999999999999:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

func rootEvent(id, account, name string, at time.Time, extra ...string) awsemu.LakeEvent {
	return awsemu.RootEvent(id, account, name, at, append([]string{"sourceIPAddress", "192.0.2.1"}, extra...)...)
}

func setup(t *testing.T) (*awsemu.Server, *lake.Lake) {
	t.Helper()
	emu := awsemu.New()
	emu.Start()
	t.Cleanup(emu.Close)
	emu.AddEventDataStore(store)
	l := lake.New(testenv.Trail(emu), store)
	l.Sleep = func(context.Context, time.Duration) error { return nil }
	return emu, l
}

// The query finds the root users' events on the accounts asked, within the times asked (both
// ends included), in time order, and nothing of other accounts, other times or other identities.
func TestRootEventsAreTheAccountsRootEventsInTheWindow(t *testing.T) {
	emu, l := setup(t)
	emu.AddLakeEvents(store,
		rootEvent("in-2", "111111111111", "UpdateAccountEmailAddress", t0.Add(30*time.Minute)),
		rootEvent("in-1", "111111111111", "ConsoleLogin", t0, "eventSource", "signin.amazonaws.com"),
		rootEvent("in-3", "222222222222", "PutBucketVersioning", t0.Add(time.Hour), "errorCode", "AccessDenied"),
		rootEvent("before", "111111111111", "ConsoleLogin", t0.Add(-time.Second)),
		rootEvent("after", "111111111111", "ConsoleLogin", t0.Add(time.Hour+time.Second)),
		rootEvent("other-account", "333333333333", "ConsoleLogin", t0.Add(time.Minute)),
		rootEvent("not-root", "111111111111", "ListUsers", t0.Add(time.Minute), "userIdentity.type", "AssumedRole"),
		rootEvent("failed-sign-in", "222222222222", "ConsoleLogin", t0.Add(10*time.Minute), "errorMessage", "Failed authentication", "errorCode", ""),
	)
	q, err := l.RootEvents(context.Background(), []string{"111111111111", "222222222222"}, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range q.Events {
		got = append(got, e.EventID)
	}
	if want := "in-1 failed-sign-in in-2 in-3"; strings.Join(got, " ") != want {
		t.Errorf("events %v, want %s", got, want)
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
	if q.ID == "" || !strings.Contains(q.Statement, "FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE") || emu.LakeQueries()[0] != q.Statement {
		t.Errorf("query %q %q", q.ID, q.Statement)
	}
}

// With no account named, every account's root events are found; a result of thousands of rows is
// read page by page (1,000 at most each); a query that runs for a while is waited for.
func TestRootEventsReadsEveryPageOfAQueryThatRuns(t *testing.T) {
	emu, l := setup(t)
	var events []awsemu.LakeEvent
	for i := range 2500 {
		events = append(events, rootEvent(fmt.Sprintf("e-%04d", i), fmt.Sprintf("%012d", 100000000000+i%7), "GetCallerIdentity", t0.Add(time.Duration(i)*time.Second)))
	}
	emu.AddLakeEvents(store, events...)
	emu.SetQueryRuns(3)
	waits := 0
	l.Sleep = func(context.Context, time.Duration) error { waits++; return nil }
	q, err := l.RootEvents(context.Background(), nil, t0, t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Events) != 2500 || q.Events[2499].EventID != "e-2499" || waits != 3 {
		t.Errorf("%d events (last %v) after %d waits", len(q.Events), q.Events[len(q.Events)-1].EventID, waits)
	}
}

// A query still running after the patience allowed is given up (the next sweep asks again); a
// statement Lake refuses is an error naming Lake's reason; account IDs are checked before they
// reach a statement.
func TestRootEventsFailures(t *testing.T) {
	emu, l := setup(t)
	emu.SetQueryRuns(1000)
	l.Patience = 10 * time.Second
	if _, err := l.RootEvents(context.Background(), nil, t0, t0.Add(time.Hour)); err == nil || !strings.Contains(err.Error(), "still RUNNING") {
		t.Errorf("a query that never finishes: %v", err)
	}
	emu.SetQueryRuns(0)
	if _, err := l.RootEvents(context.Background(), []string{"1111' OR '1'='1"}, t0, t0.Add(time.Hour)); err == nil || len(emu.LakeQueries()) != 1 {
		t.Errorf("an account ID that is not one reached Lake: %v", err)
	}
	other := lake.New(testenv.Trail(emu), "arn:aws:cloudtrail:us-east-1:999999999999:eventdatastore/gone")
	var api smithy.APIError
	if _, err := other.RootEvents(context.Background(), nil, t0, t0.Add(time.Hour)); !errors.As(err, &api) || api.ErrorCode() != "EventDataStoreNotFoundException" {
		t.Errorf("an event data store that does not exist: %v", err)
	}
}
