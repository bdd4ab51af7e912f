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

// search reads the events named eventName from from to to, newest first, a page of 50 at a time
// and at most maxPages, handing each to visit until it says it found what it looked for; found is
// false once every page was read.
func (l *Lookup) search(ctx context.Context, eventName string, from, to time.Time, visit func(types.Event) bool) (found bool, err error) {
	in := &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String(eventName)}},
		StartTime:        aws.Time(from),
		EndTime:          aws.Time(to),
		MaxResults:       aws.Int32(50),
	}
	for range maxPages {
		out, err := l.page(ctx, in)
		if err != nil {
			return false, fmt.Errorf("look up %s events in CloudTrail: %w", eventName, err)
		}
		for _, e := range out.Events {
			if visit(e) {
				return true, nil
			}
		}
		if out.NextToken == nil {
			return false, nil
		}
		in.NextToken = out.NextToken
	}
	return false, fmt.Errorf("look up %s events in CloudTrail: more than %d pages of %s calls from %s to %s", eventName, maxPages, eventName,
		from.Format(time.RFC3339), to.Format(time.RFC3339))
}

// StarterOf finds who started executionARN, which started at startedAt.
func (l *Lookup) StarterOf(ctx context.Context, executionARN string, startedAt time.Time) (identity.Starter, error) {
	var starter identity.Starter
	found, err := l.search(ctx, "StartExecution", startedAt.Add(-around), startedAt.Add(around), func(e types.Event) bool {
		s, ok := identity.StarterIn(aws.ToString(e.CloudTrailEvent), executionARN)
		starter = s
		return ok
	})
	switch {
	case err != nil:
		return identity.Starter{}, err
	case !found:
		return identity.Starter{}, identity.ErrNotYetRecorded
	}
	return starter, nil
}

// RootSessionsOpenedBy are the access key IDs of the sts:AssumeRoot sessions that sessions of the
// roles given opened from from to to: CloudTrail records each AssumeRoot call in the caller's
// account and the Region of the STS endpoint it was sent to, with the key of the credentials it
// gave in responseElements (IAM User Guide, "Track privileged tasks in CloudTrail"), and every
// action of the session in the member account carries that key as userIdentity.accessKeyId.
func (l *Lookup) RootSessionsOpenedBy(ctx context.Context, roles []string, from, to time.Time) (map[string]bool, error) {
	keys := map[string]bool{}
	_, err := l.search(ctx, "AssumeRoot", from, to, func(e types.Event) bool {
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
			return false // not a record of a call that gave credentials (a refused call has none)
		}
		if key := call.ResponseElements.Credentials.AccessKeyID; key != "" && slices.Contains(roles, call.UserIdentity.SessionContext.SessionIssuer.Arn) {
			keys[key] = true
		}
		return false // every call counts: read every page
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}
