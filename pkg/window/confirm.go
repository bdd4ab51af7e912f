package window

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// Confirm records that caller, the request's requester, confirms a request that an integration
// asserted on their behalf (eventConfirmationMinutes). Anyone else is refused with
// *NotRequesterError; a request that does not wait for a confirmation, one no longer SCHEDULED or
// one whose time to confirm has run out with *contract.InvalidState; and nothing changes.
func (s *Service) Confirm(ctx context.Context, id, caller string) (ledger.Record, error) {
	rec, err := s.load(ctx, id)
	if err != nil {
		return rec, err
	}
	if rec.Requester != caller {
		return rec, &NotRequesterError{Msg: fmt.Sprintf("only the requester named in request %s may confirm it (an administrator cannot confirm for them)", id)}
	}
	if rec.AwaitsConfirmation() && s.Now().After(rec.ConfirmBy) {
		return rec, &contract.InvalidState{Msg: fmt.Sprintf("the time to confirm request %s ran out at %s; nothing was lifted: ask again", id, FormatTime(rec.ConfirmBy))}
	}
	rec, err = s.ledger.Confirm(ctx, id, caller)
	var cerr *ledger.ConfirmError
	switch {
	case errors.As(err, &cerr):
		return rec, &contract.InvalidState{Msg: cerr.Error(), Err: err}
	case err != nil:
		s.logError(ctx, "confirm", id, err)
		return rec, retryLater(err)
	}
	s.log.InfoContext(ctx, "request confirmed by its requester", "requestId", id)
	return rec, nil
}

// Confirmed answers whether a request may go on to its lift as far as confirmation goes: nil when
// it needs none or has it; *contract.AwaitingConfirmation while the requester still may confirm;
// once the time has run out, the request is withdrawn (FAILED, leases released, announced) and
// *contract.RequestRejected is returned. viaEventBridge is the execution's own finding of its door:
// then a confirmation is due when configured, even if the record lost its deadline.
func (s *Service) Confirmed(ctx context.Context, rec ledger.Record, viaEventBridge bool) error {
	if viaEventBridge && s.config.EventConfirmMinutes > 0 && rec.ConfirmBy.IsZero() {
		rec.ConfirmBy = rec.CreatedAt.Add(time.Duration(s.config.EventConfirmMinutes) * time.Minute)
	}
	if rec.Status != ledger.Scheduled || !rec.AwaitsConfirmation() {
		return nil
	}
	if !s.Now().After(rec.ConfirmBy) {
		return &contract.AwaitingConfirmation{Msg: fmt.Sprintf("request %s waits until %s for %s to confirm it (POST /requests/%s/confirm)",
			rec.RequestID, FormatTime(rec.ConfirmBy), rec.Requester, rec.RequestID)}
	}
	why := fmt.Sprintf("not confirmed by the requester by %s: nothing was lifted", FormatTime(rec.ConfirmBy))
	_, err := s.Withdraw(ctx, rec, ActorValidate, why, ledger.Change{})
	var terr *ledger.TransitionError
	switch {
	case errors.As(err, &terr):
		// Confirmed, cancelled or settled meanwhile: read it again next time.
		return &contract.AwaitingConfirmation{Msg: terr.Error()}
	case err != nil:
		s.logError(ctx, "withdraw an unconfirmed request", rec.RequestID, err)
		return retryLater(err)
	}
	s.log.InfoContext(ctx, "request withdrawn: not confirmed in time", "requestId", rec.RequestID)
	return &contract.RequestRejected{Problems: []string{"confirmation: " + why}}
}
