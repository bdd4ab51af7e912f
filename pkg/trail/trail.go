// Package trail looks up CloudTrail's event history for the record that says who started a Step
// Functions execution (package identity reads it; see there why it can be trusted). It is the
// SDK side of window.Starters: only the functions that ask (validate) link CloudTrail.
package trail

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/rootwindow/rootwindow/pkg/identity"
)

// API is the CloudTrail call a lookup makes.
type API interface {
	LookupEvents(ctx context.Context, in *cloudtrail.LookupEventsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error)
}

// Lookup finds who started executions in one account and Region's event history.
type Lookup struct{ api API }

// New returns a Lookup over api.
func New(api API) *Lookup { return &Lookup{api: api} }

// FromConfig returns a Lookup with a CloudTrail client of cfg, sent to endpoint when not nil.
func FromConfig(cfg aws.Config, endpoint *string) *Lookup {
	return New(cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.BaseEndpoint = endpoint }))
}

// Lookup bounds: events since a little before the execution started, at most this many pages of
// 50 (StartExecution calls of the whole account and Region in that time).
const (
	lookBack = 5 * time.Minute
	maxPages = 20
)

// StarterOf finds who started executionARN, which started at startedAt.
func (l *Lookup) StarterOf(ctx context.Context, executionARN string, startedAt time.Time) (identity.Starter, error) {
	in := &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String("StartExecution")}},
		StartTime:        aws.Time(startedAt.Add(-lookBack)),
		MaxResults:       aws.Int32(50),
	}
	for range maxPages {
		out, err := l.api.LookupEvents(ctx, in)
		if err != nil {
			return identity.Starter{}, fmt.Errorf("look up StartExecution events in CloudTrail: %w", err)
		}
		for _, e := range out.Events {
			if s, ok := identity.StarterIn(aws.ToString(e.CloudTrailEvent), executionARN); ok {
				return s, nil
			}
		}
		if out.NextToken == nil {
			return identity.Starter{}, identity.ErrNotYetRecorded
		}
		in.NextToken = out.NextToken
	}
	return identity.Starter{}, fmt.Errorf("look up StartExecution events in CloudTrail: more than %d pages since %s", maxPages, startedAt.Add(-lookBack).Format(time.RFC3339))
}
