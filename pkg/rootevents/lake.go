// Lake: a CloudTrail Lake event data store that holds the organization's management events (an
// organization trail's, or one created for the organization). Lake answers StartQuery, then
// GetQueryResults until it says FINISHED, a page of at most 1,000 rows at a time (CloudTrail API
// reference, GetQueryResults). At most 10 queries run at once in an account
// (MaxConcurrentQueriesException): the sweeper runs one at a time.
//
// CloudTrail Lake closed to new customers on 31 May 2026 (CloudTrail API reference, StartQuery);
// existing customers keep it. An organization trail delivering to CloudWatch Logs serves the
// others (Insights).
package rootevents

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/rootwindow/rootwindow/pkg/sleep"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// LakeAPI is the CloudTrail Lake calls a query makes.
type LakeAPI interface {
	StartQuery(ctx context.Context, in *cloudtrail.StartQueryInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.StartQueryOutput, error)
	GetQueryResults(ctx context.Context, in *cloudtrail.GetQueryResultsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.GetQueryResultsOutput, error)
}

// Lake queries one event data store.
type Lake struct {
	api   LakeAPI
	store string // the event data store's ARN
	// Sleep waits between polls of a running query; tests give their clock's.
	Sleep func(ctx context.Context, d time.Duration) error
	// Patience is how long a query may run before RootEvents gives up on it (the next sweep
	// asks again).
	Patience time.Duration
}

var _ window.RootActivity = (*Lake)(nil)

// NewLake returns a Lake over api for the event data store of storeARN.
func NewLake(api LakeAPI, storeARN string) *Lake {
	return &Lake{api: api, store: storeARN, Sleep: sleep.For, Patience: 2 * time.Minute}
}

// LakeFromConfig returns a Lake with a CloudTrail client of cfg in the event data store's Region
// (from its ARN: Lake is queried where the store is), sent to endpoint when not nil, waiting
// between polls with sleep.
func LakeFromConfig(cfg aws.Config, endpoint *string, storeARN string, sleep func(context.Context, time.Duration) error) *Lake {
	l := NewLake(cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) {
		if r := regionOf(storeARN); r != "" {
			o.Region = r
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

// LakeStatement is the Lake SQL for the root users' events on accounts (all when none) from from
// to to, inclusive, in time order. eventTime is compared as Lake writes it ('YYYY-MM-DD
// HH:MM:SS', UTC). Account IDs are 12 digits (checked): nothing else reaches the statement.
func LakeStatement(storeARN string, accounts []string, from, to time.Time) (string, error) {
	id := storeARN[strings.LastIndex(storeARN, "/")+1:]
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s FROM %s WHERE userIdentity.type = 'Root' AND eventTime >= '%s' AND eventTime <= '%s'",
		strings.Join(columns, ", "), id, from.UTC().Format(time.DateTime), to.UTC().Format(time.DateTime))
	if len(accounts) > 0 {
		ids, err := quoted(accounts, "'")
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, " AND recipientAccountId IN (%s)", strings.Join(ids, ", "))
	}
	b.WriteString(" ORDER BY eventTime ASC")
	return b.String(), nil
}

// RootEvents runs the statement and reads every page of its rows.
func (l *Lake) RootEvents(ctx context.Context, accounts []string, from, to time.Time) (window.RootQuery, error) {
	stmt, err := LakeStatement(l.store, accounts, from, to)
	if err != nil {
		return window.RootQuery{}, err
	}
	q := window.RootQuery{Statement: stmt}
	started, err := l.api.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(stmt)})
	if err != nil {
		return q, fmt.Errorf("start a CloudTrail Lake query on %s: %w", l.store, err)
	}
	q.ID = aws.ToString(started.QueryId)
	wait := poller{sleep: l.Sleep, patience: l.Patience}
	in := &cloudtrail.GetQueryResultsInput{QueryId: started.QueryId, MaxQueryResults: aws.Int32(1000)}
	for {
		out, err := l.api.GetQueryResults(ctx, in)
		if err != nil {
			return q, fmt.Errorf("read CloudTrail Lake query %s: %w", q.ID, err)
		}
		switch out.QueryStatus {
		case types.QueryStatusQueued, types.QueryStatusRunning:
			if err := wait.again(ctx, "CloudTrail Lake", q.ID, string(out.QueryStatus)); err != nil {
				return q, err
			}
			continue
		case types.QueryStatusFinished:
		default:
			return q, fmt.Errorf("CloudTrail Lake query %s %s: %s", q.ID, out.QueryStatus, aws.ToString(out.ErrorMessage))
		}
		for _, row := range out.QueryResultRows {
			v := map[string]string{}
			for _, cell := range row { // one-column maps, a column whose value is null left out
				for k, x := range cell {
					v[k] = x
				}
			}
			e, err := event(v)
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
