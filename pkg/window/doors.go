package window

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/identity"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/notify"
)

// startFailed begins the lastError of a request whose workflow could not be started.
const startFailed = "start execution: "

// ErrNotStarted is Launch's answer when the request's workflow could not be started: its
// reservation is withdrawn and nothing is held.
var ErrNotStarted = errors.New("the workflow could not be started; the reservation was withdrawn")

// ErrNoNotifications is Subscribe's answer in a deployment without a notification topic.
var ErrNoNotifications = errors.New("this deployment has no notification topic")

// Launch sets an admitted request going and tells people what its record has pending (for a step
// run again, what the first run left unsaid). start starts its workflow; nil where the workflow
// runs already (validate is its first step). If start fails, the reservation is withdrawn (the
// request FAILED with why, its accounts released, the failure announced) and the answer wraps
// ErrNotStarted.
func (s *Service) Launch(ctx context.Context, rec ledger.Record, actor string, start func(context.Context) error) error {
	if start != nil {
		if err := start(ctx); err != nil {
			s.logError(ctx, "start execution", rec.RequestID, err)
			if _, werr := s.Withdraw(ctx, rec, actor, "the workflow could not be started", ledger.Change{LastError: startFailed + err.Error()}); werr != nil {
				s.logError(ctx, "withdraw a request that did not start", rec.RequestID, werr)
			}
			return fmt.Errorf("%w: %w", ErrNotStarted, err)
		}
	}
	s.announce(ctx, rec)
	return nil
}

// NeverStarted reports whether rec is a request Launch withdrew because its workflow could not
// be started.
func NeverStarted(rec ledger.Record) bool {
	return rec.Status == ledger.Failed && strings.HasPrefix(rec.LastError, startFailed)
}

// ClaimEvent claims an EventBridge event for request id: the answer is the request that holds it,
// id when this one does.
func (s *Service) ClaimEvent(ctx context.Context, eventID, id string) (string, error) {
	holder, err := s.ledger.ClaimEvent(ctx, eventID, id)
	if err != nil {
		s.logError(ctx, "claim event", id, err)
		return "", &contract.Unavailable{Msg: err.Error()}
	}
	return holder, nil
}

// WhoStarted finds who started execution executionARN (request id), at startedAt, in CloudTrail's
// record of its StartExecution call: the one thing about a console request that its author cannot
// write. RequesterUnknown while CloudTrail has not recorded it yet.
func (s *Service) WhoStarted(ctx context.Context, id, executionARN string, startedAt time.Time) (identity.Starter, error) {
	if s.starters == nil {
		return identity.Starter{}, &contract.Unavailable{Msg: "no CloudTrail client: who started the execution cannot be established"}
	}
	starter, err := s.starters.StarterOf(ctx, executionARN, startedAt)
	switch {
	case errors.Is(err, identity.ErrNotYetRecorded):
		s.log.InfoContext(ctx, "who started the execution is not in CloudTrail yet; the state machine retries", "requestId", id)
		return starter, &contract.RequesterUnknown{Msg: fmt.Sprintf("who started execution %s is not in CloudTrail's event history yet", id)}
	case errors.Is(err, identity.ErrLookupThrottled):
		// Many console requests at once: looked for again a minute later, not an outage.
		s.log.InfoContext(ctx, "CloudTrail throttled the lookup of who started the execution; the state machine looks again", "requestId", id)
		return starter, &contract.RequesterUnknown{Msg: fmt.Sprintf("who started execution %s could not be looked up yet: CloudTrail is throttling lookups", id)}
	case err != nil:
		s.logError(ctx, "look up who started the execution", id, err)
		return starter, &contract.Unavailable{Msg: err.Error()}
	}
	s.log.InfoContext(ctx, "execution started by", "requestId", id, "starter", starter.ARN)
	return starter, nil
}

// Subscribe subscribes a requester's endpoint to the notification topic, filtered to their own
// requests; ErrNoNotifications where there is no topic.
func (s *Service) Subscribe(ctx context.Context, requester, protocol, endpoint string) (notify.Subscription, error) {
	if s.notify == nil {
		return notify.Subscription{}, ErrNoNotifications
	}
	return s.notify.SubscribeRequester(ctx, requester, protocol, endpoint)
}
