package window

import (
	"context"
	"errors"
	"fmt"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// Restore puts the guardrail back on the request's accounts and closes the request: CLOSED when
// a window ends (or compensation finds it open), FAILED when compensating a window that never
// opened. cause is the failure that led to compensation. It never touches an account another
// request holds now. Running it again is a no-op.
func (s *Service) Restore(ctx context.Context, id string, compensate bool, cause string) (ledger.Record, error) {
	rec, err := s.load(ctx, id)
	if err != nil {
		return rec, err
	}
	mode := "close"
	if compensate {
		mode = "compensate"
	}
	if rec.Status == ledger.Scheduled || rec.Status == ledger.Opening {
		return s.restore(ctx, rec, mode, ledger.Failed, ActorReattach, "window did not open: "+cause, ledger.Change{LastError: cause})
	}
	return s.close(ctx, rec, ActorReattach, closingNote(compensate, cause))
}

// End closes an open window now, for a person: the guardrail goes back on its accounts and the
// request becomes CLOSED (early); the workflow's own restore at the planned end then finds nothing
// to do. Ending a window already closed returns it as it is; a window that is not open is an
// *InvalidState naming its status.
func (s *Service) End(ctx context.Context, id, caller string) (ledger.Record, error) {
	rec, err := s.load(ctx, id)
	if err != nil {
		return rec, err
	}
	switch rec.Status {
	case ledger.Open, ledger.Closing, ledger.Closed:
		return s.close(ctx, rec, caller, "ended early by "+caller)
	case ledger.Scheduled:
		return rec, &contract.InvalidState{Msg: fmt.Sprintf("request %s has not started (it opens at %s): cancel it instead", id, FormatTime(rec.StartAt))}
	case ledger.Opening:
		return rec, &contract.InvalidState{Msg: fmt.Sprintf("request %s is opening: the guardrail is being lifted now; end it once it is open, in a few seconds", id)}
	}
	return rec, &contract.InvalidState{Msg: fmt.Sprintf("request %s is %s: there is no window to end", id, rec.Status)}
}

// Cancel withdraws a window that has not started: nothing was lifted, its leases are released and
// the workflow, when its start comes, finds it cancelled. Cancelling twice returns the cancelled
// request; a window that has started is an *InvalidState (end it instead).
func (s *Service) Cancel(ctx context.Context, id, caller string) (ledger.Record, error) {
	rec, err := s.load(ctx, id)
	if err != nil {
		return rec, err
	}
	if rec.Status != ledger.Cancelled {
		// Conditional on SCHEDULED: it races the workflow's own SCHEDULED → OPENING, and one wins.
		rec, err = s.Ledger.Transition(ctx, id, ledger.Cancelled, caller, "cancelled by "+caller, ledger.Change{})
		var terr *ledger.TransitionError
		if errors.As(err, &terr) {
			msg := fmt.Sprintf("request %s is %s: only a window that has not started can be cancelled", id, terr.Current)
			if terr.Current.Holds() {
				msg += "; end it instead"
			}
			return rec, &contract.InvalidState{Msg: msg, Err: err}
		}
		if err != nil {
			s.logError(ctx, "cancel", id, err)
			return rec, retryLater(err)
		}
	}
	if err := s.Ledger.Release(ctx, id, rec.AccountIDs); err != nil {
		s.logError(ctx, "release leases", id, err)
		return rec, retryLater(err)
	}
	s.Log.InfoContext(ctx, "window cancelled", "requestId", id)
	s.Announce(ctx, rec)
	return rec, nil
}

// close ends a window: OPEN → CLOSING → guardrail restored → CLOSED, leases released. Records
// already CLOSED (or never holding anything) are returned as they are.
func (s *Service) close(ctx context.Context, rec ledger.Record, actor, note string) (ledger.Record, error) {
	id := rec.RequestID
	switch rec.Status {
	case ledger.Closed, ledger.Cancelled, ledger.Rejected:
		// Nothing of ours is lifted; its accounts may belong to another window by now.
		s.Announce(ctx, rec)
		return rec, nil
	case ledger.Open:
		var err error
		if rec, err = s.Ledger.Transition(ctx, id, ledger.Closing, actor, note, ledger.Change{}); err != nil {
			return rec, s.stateError(ctx, id, err)
		}
	}
	return s.restore(ctx, rec, "close", ledger.Closed, actor, "guardrail restored", ledger.Change{ClosedAt: s.Now()})
}

// restore puts the guardrail back on the accounts rec still holds, moves rec to status `to`
// (unless it is there already) and releases its leases.
func (s *Service) restore(ctx context.Context, rec ledger.Record, mode string, to ledger.Status, actor, note string, c ledger.Change) (ledger.Record, error) {
	id := rec.RequestID
	accounts, err := s.ours(ctx, rec)
	if err != nil {
		s.logError(ctx, "read leases", id, err)
		return rec, retryLater(err)
	}
	s.Log.InfoContext(ctx, "restoring guardrail", "requestId", id, "accounts", len(accounts), "mode", mode)
	if err := s.Guardrail.Reattach(ctx, accounts); err != nil {
		s.logError(ctx, "restore guardrail", id, err)
		if nerr := s.Ledger.NoteError(ctx, id, "restore failed: "+err.Error()); nerr != nil {
			s.logError(ctx, "note error", id, nerr)
		}
		if guardrail.IsTransient(err) {
			return rec, &contract.Throttled{Msg: err.Error()}
		}
		return rec, &contract.RestoreFailed{Msg: err.Error()}
	}
	if rec.Status != to && rec.Status != ledger.Failed {
		if rec, err = s.Ledger.Transition(ctx, id, to, actor, note, c); err != nil {
			return rec, s.stateError(ctx, id, err)
		}
	}
	if err := s.Ledger.Release(ctx, id, rec.AccountIDs); err != nil {
		s.logError(ctx, "release leases", id, err)
		return rec, retryLater(err)
	}
	s.Log.InfoContext(ctx, "guardrail restored", "requestId", id, "status", rec.Status)
	s.Announce(ctx, rec)
	return rec, nil
}

// Alarm records that restoring failed for good, for cause, and raises Restore Failed. The status
// and the leases stay, so no other window opens on those accounts until a person (or a later
// restore) puts the guardrail back.
func (s *Service) Alarm(ctx context.Context, id, cause string) (ledger.Record, error) {
	rec, err := s.Ledger.MarkRestoreFailed(ctx, id, "the guardrail could not be restored: "+cause)
	if errors.Is(err, ledger.ErrNotFound) {
		return rec, &contract.InvalidState{Msg: fmt.Sprintf("request %s is not in the ledger", id), Err: err}
	}
	if err != nil {
		s.logError(ctx, "record failed restore", id, err)
		return rec, retryLater(err)
	}
	s.metric(contract.MetricRestoreFailed, 1)
	s.Log.ErrorContext(ctx, "GUARDRAIL NOT RESTORED: raising the alarm", "requestId", id, "accounts", len(rec.AccountIDs), "status", rec.Status)
	s.Announce(ctx, rec)
	return rec, nil
}

func closingNote(compensate bool, cause string) string {
	if compensate {
		return "closing early: the opening step failed after the window opened: " + cause
	}
	return "window over"
}

// ours lists the request's accounts that no other request holds now.
func (s *Service) ours(ctx context.Context, rec ledger.Record) ([]string, error) {
	leases, err := s.Ledger.Leases(ctx, rec.AccountIDs)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, id := range rec.AccountIDs {
		if l, held := leases[id]; held && l.RequestID != rec.RequestID {
			s.Log.WarnContext(ctx, "account held by another request; leaving its guardrail alone", "requestId", rec.RequestID, "account", id, "holder", l.RequestID)
			continue
		}
		ids = append(ids, id)
	}
	return ids, nil
}
