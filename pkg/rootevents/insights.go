package rootevents

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/rootwindow/rootwindow/pkg/sleep"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// Insights: the CloudWatch Logs log group an organization trail delivers to (CloudTrail User
// Guide, "Sending events to CloudWatch Logs"), queried with CloudWatch Logs Insights: StartQuery
// over the window's time range (epoch seconds, both ends included), then GetQueryResults until
// Complete, 10,000 rows a call, up to the 100,000 a query may return (CloudWatch Logs API
// reference, StartQuery). Open to every organization, unlike CloudTrail Lake.

// InsightsAPI is the CloudWatch Logs calls a query makes.
type InsightsAPI interface {
	StartQuery(ctx context.Context, in *cloudwatchlogs.StartQueryInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StartQueryOutput, error)
	GetQueryResults(ctx context.Context, in *cloudwatchlogs.GetQueryResultsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetQueryResultsOutput, error)
}

// Insights queries one log group.
type Insights struct {
	api   InsightsAPI
	group string // the log group's ARN, without a trailing :*
	// Sleep and Patience are as Lake's.
	Sleep    func(ctx context.Context, d time.Duration) error
	Patience time.Duration
}

var _ window.RootActivity = (*Insights)(nil)

// insightsLimit is the most rows a query returns.
const insightsLimit = 100000

// NewInsights returns an Insights over api for the log group of groupARN.
func NewInsights(api InsightsAPI, groupARN string) *Insights {
	return &Insights{api: api, group: strings.TrimSuffix(groupARN, ":*"), Sleep: sleep.For, Patience: 2 * time.Minute}
}

// InsightsFromConfig returns an Insights with a CloudWatch Logs client of cfg in the log group's
// Region, sent to endpoint when not nil, waiting between polls with sleep.
func InsightsFromConfig(cfg aws.Config, endpoint *string, groupARN string, sleep func(context.Context, time.Duration) error) *Insights {
	in := NewInsights(cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
		if r := regionOf(groupARN); r != "" {
			o.Region = r
		}
		o.BaseEndpoint = endpoint
	}), groupARN)
	if sleep != nil {
		in.Sleep = sleep
	}
	return in
}

// Source is the log group's ARN.
func (i *Insights) Source() string { return i.group }

// InsightsQuery is the Logs Insights query for the root users' events on accounts (all when
// none), in time order; the time range is StartQuery's. Account IDs are 12 digits (checked).
func InsightsQuery(accounts []string) (string, error) {
	q := fmt.Sprintf("fields %s | filter userIdentity.type = \"Root\"", strings.Join(columns, ", "))
	if len(accounts) > 0 {
		ids, err := quoted(accounts, `"`)
		if err != nil {
			return "", err
		}
		q += fmt.Sprintf(" and recipientAccountId in [%s]", strings.Join(ids, ", "))
	}
	return q + fmt.Sprintf(" | sort eventTime asc | limit %d", insightsLimit), nil
}

// RootEvents runs the query over from to to (whole seconds, both included) and reads every page.
func (i *Insights) RootEvents(ctx context.Context, accounts []string, from, to time.Time) (window.RootQuery, error) {
	query, err := InsightsQuery(accounts)
	if err != nil {
		return window.RootQuery{}, err
	}
	start, end := from.Unix(), to.Unix()
	if to.After(time.Unix(end, 0)) {
		end++ // the last fraction of a second is in the range too
	}
	q := window.RootQuery{Statement: fmt.Sprintf("%s (log group %s, %s to %s)", query, i.group, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))}
	started, err := i.api.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{LogGroupIdentifiers: []string{i.group}, QueryString: aws.String(query),
		StartTime: aws.Int64(start), EndTime: aws.Int64(end), Limit: aws.Int32(insightsLimit)})
	if err != nil {
		return q, fmt.Errorf("start a CloudWatch Logs Insights query on %s: %w", i.group, err)
	}
	q.ID = aws.ToString(started.QueryId)
	wait := poller{sleep: i.Sleep, patience: i.Patience}
	in := &cloudwatchlogs.GetQueryResultsInput{QueryId: started.QueryId, MaxItems: aws.Int32(10000)}
	for {
		out, err := i.api.GetQueryResults(ctx, in)
		if err != nil {
			return q, fmt.Errorf("read CloudWatch Logs Insights query %s: %w", q.ID, err)
		}
		switch out.Status {
		case types.QueryStatusScheduled, types.QueryStatusRunning:
			if err := wait.again(ctx, "CloudWatch Logs Insights", q.ID, string(out.Status)); err != nil {
				return q, err
			}
			continue
		case types.QueryStatusComplete:
		default:
			return q, fmt.Errorf("CloudWatch Logs Insights query %s %s", q.ID, out.Status)
		}
		for _, row := range out.Results {
			v := map[string]string{}
			for _, f := range row {
				v[aws.ToString(f.Field)] = aws.ToString(f.Value)
			}
			e, err := event(v)
			if err != nil {
				return q, fmt.Errorf("CloudWatch Logs Insights query %s: %w", q.ID, err)
			}
			q.Events = append(q.Events, e)
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	if len(q.Events) >= insightsLimit {
		return q, fmt.Errorf("CloudWatch Logs Insights query %s returned its limit of %d root events: more may be missing", q.ID, insightsLimit)
	}
	return q, nil
}
