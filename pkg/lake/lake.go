// Package lake reads what member accounts' root users did from a CloudTrail Lake event data store
// that holds the organization's management events (an organization trail's, or one created for
// the organization): the SDK side of window.RootActivity. Only the sweeper, which makes window
// reports and looks for root activity outside windows, links it.
//
// The statement is plain Lake SQL, printed in every report so that a person can run it again in
// the CloudTrail console. Lake answers a query asynchronously: StartQuery, then GetQueryResults
// until it says FINISHED, a page of at most 1,000 rows at a time (CloudTrail API reference,
// GetQueryResults). At most 10 queries run at once in an account (MaxConcurrentQueriesException):
// the sweeper runs one at a time.
//
// CloudTrail Lake closed to new customers on 31 May 2026 (CloudTrail API reference, StartQuery);
// existing customers keep it. Without an event data store rootwindow makes no report and says so.
package lake

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/sleep"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// API is the CloudTrail Lake calls a query makes.
type API interface {
	StartQuery(ctx context.Context, in *cloudtrail.StartQueryInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.StartQueryOutput, error)
	GetQueryResults(ctx context.Context, in *cloudtrail.GetQueryResultsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.GetQueryResultsOutput, error)
}

// Lake queries one event data store.
type Lake struct {
	api   API
	store string // the event data store's ARN
	// Sleep waits between polls of a running query; tests give their clock's.
	Sleep func(ctx context.Context, d time.Duration) error
	// Patience is how long a query may run before RootEvents gives up on it (the next sweep
	// asks again).
	Patience time.Duration
}

var _ window.RootActivity = (*Lake)(nil)

// New returns a Lake over api for the event data store of storeARN.
func New(api API, storeARN string) *Lake {
	return &Lake{api: api, store: storeARN, Sleep: sleep.For, Patience: 2 * time.Minute}
}

// FromConfig returns a Lake with a CloudTrail client of cfg in the event data store's Region
// (from its ARN: Lake is queried where the store is), sent to endpoint when not nil, waiting
// between polls with sleep.
func FromConfig(cfg aws.Config, endpoint *string, storeARN string, sleep func(context.Context, time.Duration) error) *Lake {
	l := New(cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) {
		if parts := strings.SplitN(storeARN, ":", 5); len(parts) == 5 && parts[3] != "" {
			o.Region = parts[3]
		}
		o.BaseEndpoint = endpoint
	}), storeARN)
	if sleep != nil {
		l.Sleep = sleep
	}
	return l
}

// Source is the event data store's ARN.
func (l *Lake) Source() string { return l.store }

// columns are what a report shows of each event, in the order the rows carry them.
var columns = []string{"eventID", "eventTime", "recipientAccountId", "eventName", "eventSource", "awsRegion", "errorCode", "errorMessage", "sourceIPAddress"}

// Statement is the Lake SQL for the root users' events on accounts (all when none) from from to
// to, inclusive, in time order. eventTime is compared as Lake writes it ('YYYY-MM-DD HH:MM:SS',
// UTC). Account IDs are 12 digits (checked): nothing else reaches the statement.
func Statement(storeARN string, accounts []string, from, to time.Time) (string, error) {
	id := storeARN[strings.LastIndex(storeARN, "/")+1:]
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s FROM %s WHERE userIdentity.type = 'Root' AND eventTime >= '%s' AND eventTime <= '%s'",
		strings.Join(columns, ", "), id, from.UTC().Format(time.DateTime), to.UTC().Format(time.DateTime))
	if len(accounts) > 0 {
		quoted := make([]string, len(accounts))
		for i, a := range accounts {
			if len(a) != 12 || strings.Trim(a, "0123456789") != "" {
				return "", fmt.Errorf("account ID %q is not 12 digits", a)
			}
			quoted[i] = "'" + a + "'"
		}
		fmt.Fprintf(&b, " AND recipientAccountId IN (%s)", strings.Join(quoted, ", "))
	}
	b.WriteString(" ORDER BY eventTime ASC")
	return b.String(), nil
}

// RootEvents runs the statement and reads every page of its rows.
func (l *Lake) RootEvents(ctx context.Context, accounts []string, from, to time.Time) (window.RootQuery, error) {
	stmt, err := Statement(l.store, accounts, from, to)
	if err != nil {
		return window.RootQuery{}, err
	}
	q := window.RootQuery{Statement: stmt}
	started, err := l.api.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(stmt)})
	if err != nil {
		return q, fmt.Errorf("start a CloudTrail Lake query on %s: %w", l.store, err)
	}
	q.ID = aws.ToString(started.QueryId)
	var waited time.Duration // counted, not read off a clock: the caller's clock may be a test's
	wait := time.Second
	in := &cloudtrail.GetQueryResultsInput{QueryId: started.QueryId, MaxQueryResults: aws.Int32(1000)}
	for {
		out, err := l.api.GetQueryResults(ctx, in)
		if err != nil {
			return q, fmt.Errorf("read CloudTrail Lake query %s: %w", q.ID, err)
		}
		switch out.QueryStatus {
		case types.QueryStatusQueued, types.QueryStatusRunning:
			if waited >= l.Patience {
				return q, fmt.Errorf("CloudTrail Lake query %s still %s after %s: asked again at the next sweep", q.ID, out.QueryStatus, l.Patience)
			}
			if err := l.Sleep(ctx, wait); err != nil {
				return q, err
			}
			waited += wait
			wait = min(wait*3/2, 5*time.Second)
			continue
		case types.QueryStatusFinished:
		default:
			return q, fmt.Errorf("CloudTrail Lake query %s %s: %s", q.ID, out.QueryStatus, aws.ToString(out.ErrorMessage))
		}
		for _, row := range out.QueryResultRows {
			e, err := event(row)
			if err != nil {
				return q, fmt.Errorf("CloudTrail Lake query %s: %w", q.ID, err)
			}
			q.Events = append(q.Events, e)
		}
		if out.NextToken == nil {
			return q, nil
		}
		in.NextToken = out.NextToken
	}
}

// event reads one row: a list of one-column maps, a column whose value is null left out.
func event(row []map[string]string) (contract.RootEvent, error) {
	v := map[string]string{}
	for _, cell := range row {
		for k, x := range cell {
			v[k] = x
		}
	}
	at, err := parseTime(v["eventTime"])
	if err != nil || v["eventID"] == "" || v["recipientAccountId"] == "" {
		return contract.RootEvent{}, errors.New("a row without its event's ID, time or account")
	}
	e := contract.RootEvent{EventID: v["eventID"], Time: at, AccountID: v["recipientAccountId"], Name: v["eventName"], Source: v["eventSource"],
		Region: v["awsRegion"], Error: v["errorCode"], SourceIP: v["sourceIPAddress"]}
	if e.Error == "" {
		e.Error = v["errorMessage"] // a failed ConsoleLogin has a message and no code
	}
	return e, nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.000", time.DateTime, time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("event time %q", s)
}
