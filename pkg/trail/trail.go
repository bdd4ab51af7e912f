// Package trail looks up CloudTrail's event history for the record that says who started a Step
// Functions execution (package identity reads it; see there why it can be trusted), and for the
// sts:AssumeRoot calls rootwindow's own roles made. It is the SDK side of window.Starters and
// window.RootSessions: only the functions that ask (validate; the sweeper) link CloudTrail.
package trail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"

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

// Lookup bounds: StartExecution events from a minute before the execution started to a minute
// after (CloudTrail's eventTime is when the call was made, the execution's start), at most this
// many pages of 50: the StartExecution calls of the whole account and Region in those two
// minutes, however many came later. CloudTrail answers newest first.
const (
	around   = time.Minute
	maxPages = 40
)

// Throttled pages are asked again where the lookup is, a few times, the waits growing and drawn
// at random below that (full jitter), so that many lookups at once spread over CloudTrail's 2
// requests a second instead of starting over; then ErrLookupThrottled, and the state machine
// looks again later.
const (
	pageTries = 6
	firstWait = 250 * time.Millisecond
)

func (l *Lookup) page(ctx context.Context, in *cloudtrail.LookupEventsInput) (*cloudtrail.LookupEventsOutput, error) {
	wait := firstWait
	for try := 1; ; try++ {
		out, err := l.api.LookupEvents(ctx, in)
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "ThrottlingException" {
			return out, err
		}
		if try == pageTries {
			return nil, fmt.Errorf("%w: %w", identity.ErrLookupThrottled, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", identity.ErrLookupThrottled, ctx.Err())
		case <-time.After(time.Duration(rand.Int64N(int64(wait)) + 1)):
		}
		wait *= 2
	}
}

// StarterOf finds who started executionARN, which started at startedAt.
func (l *Lookup) StarterOf(ctx context.Context, executionARN string, startedAt time.Time) (identity.Starter, error) {
	in := &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String("StartExecution")}},
		StartTime:        aws.Time(startedAt.Add(-around)),
		EndTime:          aws.Time(startedAt.Add(around)),
		MaxResults:       aws.Int32(50),
	}
	for range maxPages {
		out, err := l.page(ctx, in)
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
	return identity.Starter{}, fmt.Errorf("look up StartExecution events in CloudTrail: more than %d pages of StartExecution calls from %s to %s", maxPages,
		startedAt.Add(-around).Format(time.RFC3339), startedAt.Add(around).Format(time.RFC3339))
}

// RootSessionsOpenedBy are the access key IDs of the sts:AssumeRoot sessions that sessions of the
// roles given opened from from to to: CloudTrail records each AssumeRoot call in the caller's
// account and the Region of the STS endpoint it was sent to, with the key of the credentials it
// gave in responseElements (IAM User Guide, "Track privileged tasks in CloudTrail"), and every
// action of the session in the member account carries that key as userIdentity.accessKeyId.
func (l *Lookup) RootSessionsOpenedBy(ctx context.Context, roles []string, from, to time.Time) (map[string]bool, error) {
	in := &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String("AssumeRoot")}},
		StartTime:        aws.Time(from),
		EndTime:          aws.Time(to),
		MaxResults:       aws.Int32(50),
	}
	keys := map[string]bool{}
	for range maxPages {
		out, err := l.page(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("look up AssumeRoot events in CloudTrail: %w", err)
		}
		for _, e := range out.Events {
			var call struct {
				UserIdentity struct {
					SessionContext struct {
						SessionIssuer struct{ Arn string } `json:"sessionIssuer"`
					} `json:"sessionContext"`
				} `json:"userIdentity"`
				ResponseElements *struct {
					Credentials struct {
						AccessKeyID string `json:"accessKeyId"`
					} `json:"credentials"`
				} `json:"responseElements"`
			}
			if json.Unmarshal([]byte(aws.ToString(e.CloudTrailEvent)), &call) != nil || call.ResponseElements == nil {
				continue // not a record of a call that gave credentials (a refused call has none)
			}
			if key := call.ResponseElements.Credentials.AccessKeyID; key != "" && slices.Contains(roles, call.UserIdentity.SessionContext.SessionIssuer.Arn) {
				keys[key] = true
			}
		}
		if out.NextToken == nil {
			return keys, nil
		}
		in.NextToken = out.NextToken
	}
	return nil, fmt.Errorf("look up AssumeRoot events in CloudTrail: more than %d pages of AssumeRoot calls from %s to %s", maxPages,
		from.Format(time.RFC3339), to.Format(time.RFC3339))
}
