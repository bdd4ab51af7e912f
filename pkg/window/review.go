package window

import (
	"context"
	"errors"
	"fmt"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// Review records another administrator's review of a break-glass request (what was done, and
// that it was right): an administrator who cannot be its requester
// (MayBeSamePerson), once. Until it is recorded, every sweep counts the request in
// BreakGlassUnreviewed.
func (s *Service) Review(ctx context.Context, id, caller, note string) (ledger.Record, error) {
	rec, err := s.load(ctx, id)
	if err != nil {
		return rec, err
	}
	if !s.config.Authz().IsAdmin(caller) {
		return rec, &NotRequesterError{Msg: fmt.Sprintf("%s is not an administrator: only another administrator reviews a break-glass window", caller)}
	}
	if err := s.notTheRequester(ctx, caller, rec, "another administrator reviews it"); err != nil {
		return rec, err
	}
	if !rec.BreakGlass {
		return rec, &contract.InvalidState{Msg: fmt.Sprintf("request %s is not a break-glass request: there is nothing to review", id)}
	}
	reviewed, err := s.ledger.Review(ctx, id, caller, note)
	switch {
	case errors.Is(err, ledger.ErrReviewed):
		return reviewed, &contract.InvalidState{Msg: fmt.Sprintf("request %s was reviewed by %s at %s", id, reviewed.ReviewedBy, FormatTime(reviewed.ReviewedAt))}
	case err != nil:
		s.logError(ctx, "record the review", id, err)
		return rec, retryLater(err)
	}
	if err := s.ledger.ReviewDone(ctx, id); err != nil {
		s.logError(ctx, "take the request off those awaiting review", id, err) // the sweep does it
	}
	s.log.InfoContext(ctx, "break-glass request reviewed", "requestId", id, "by", caller)
	return reviewed, nil
}

// checkReviews counts the break-glass requests still waiting for a review (BreakGlassUnreviewed,
// every sweep, until reviewed), and takes off those that need none any more: reviewed, rejected
// (nothing was lifted) or gone.
func (s *Service) checkReviews(ctx context.Context, rep *SweepReport) {
	ids, err := s.ledger.AwaitingReview(ctx)
	if err != nil {
		s.failed(ctx, rep, "read the break-glass requests awaiting review", err)
		return
	}
	for _, id := range ids {
		rec, err := s.ledger.Get(ctx, id)
		switch {
		case err != nil && !errors.Is(err, ledger.ErrNotFound):
			s.failed(ctx, rep, "read "+id, err)
			continue
		case err == nil && rec.ReviewedBy == "" && rec.Status != ledger.Rejected:
			rep.Unreviewed = append(rep.Unreviewed, id)
			continue
		}
		if err := s.ledger.ReviewDone(ctx, id); err != nil {
			s.failed(ctx, rep, "take "+id+" off those awaiting review", err)
		}
	}
	if n := len(rep.Unreviewed); n > 0 {
		s.metric(contract.MetricBreakGlassUnreviewed, n)
		s.log.WarnContext(ctx, "break-glass requests await another administrator's review", "requests", n)
	}
}
