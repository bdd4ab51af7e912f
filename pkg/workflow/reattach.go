package workflow

import (
	"context"
	"errors"
	"fmt"

	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// Reattach puts the guardrail back on the request's accounts and closes the request: CLOSED when
// a window ends (or compensation finds it open), FAILED when compensating a window that never
// opened. It never touches an account another request holds now. Running it again is a no-op.
func (s *Steps) Reattach(ctx context.Context, in ReattachInput) (Restored, error) {
	id := in.RequestID
	if in.Mode != ModeClose && in.Mode != ModeCompensate {
		return Restored{}, &InvalidState{Msg: fmt.Sprintf("reattach mode must be %q or %q, got %q", ModeClose, ModeCompensate, in.Mode)}
	}
	rec, err := s.load(ctx, id)
	if errors.Is(err, ledger.ErrNotFound) && in.Mode == ModeCompensate {
		// Validation failed before recording anything: nothing was reserved or lifted.
		return Restored{RequestID: id, Status: "NONE"}, nil
	}
	if err != nil {
		return Restored{}, err
	}
	switch rec.Status {
	case ledger.Closed, ledger.Cancelled, ledger.Rejected:
		// Nothing of ours is lifted; its accounts may belong to another window by now.
		return restored(rec), nil
	case ledger.Open:
		if rec, err = s.Ledger.Transition(ctx, id, ledger.Closing, actorReattach, closingNote(in), ledger.Change{}); err != nil {
			return Restored{}, s.stateError(ctx, id, err)
		}
	}

	accounts, err := s.ours(ctx, rec)
	if err != nil {
		s.logError(ctx, "read leases", id, err)
		return Restored{}, retryLater(err)
	}
	s.Log.InfoContext(ctx, "restoring guardrail", "requestId", id, "accounts", len(accounts), "mode", in.Mode)
	if err := s.Guardrail.Reattach(ctx, accounts); err != nil {
		s.logError(ctx, "restore guardrail", id, err)
		if nerr := s.Ledger.NoteError(ctx, id, "restore failed: "+err.Error()); nerr != nil {
			s.logError(ctx, "note error", id, nerr)
		}
		if guardrail.IsTransient(err) {
			return Restored{}, &Throttled{Msg: err.Error()}
		}
		return Restored{}, &RestoreFailed{Msg: err.Error()}
	}

	switch rec.Status {
	case ledger.Closing:
		rec, err = s.Ledger.Transition(ctx, id, ledger.Closed, actorReattach, "guardrail restored", ledger.Change{ClosedAt: s.now()})
	case ledger.Scheduled, ledger.Opening:
		rec, err = s.Ledger.Transition(ctx, id, ledger.Failed, actorReattach, "window did not open: "+in.Cause, ledger.Change{LastError: in.Cause})
	}
	if err != nil {
		return Restored{}, s.stateError(ctx, id, err)
	}
	if err := s.Ledger.Release(ctx, id, rec.AccountIDs); err != nil {
		s.logError(ctx, "release leases", id, err)
		return Restored{}, retryLater(err)
	}
	s.Log.InfoContext(ctx, "guardrail restored", "requestId", id, "status", rec.Status)
	return restored(rec), nil
}

func closingNote(in ReattachInput) string {
	if in.Mode == ModeCompensate {
		return "closing early: the opening step failed after the window opened: " + in.Cause
	}
	return "window over"
}

func restored(rec ledger.Record) Restored {
	return Restored{RequestID: rec.RequestID, Status: string(rec.Status), ClosedAt: formatTime(rec.ClosedAt)}
}

// ours lists the request's accounts that no other request holds now.
func (s *Steps) ours(ctx context.Context, rec ledger.Record) ([]string, error) {
	leases, err := s.Ledger.Leases(ctx, rec.AccountIDs)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, id := range rec.AccountIDs {
		if l, held := leases[id]; held && l.RequestID != rec.RequestID {
			s.Log.Warn("account held by another request; leaving its guardrail alone", "requestId", rec.RequestID, "account", id, "holder", l.RequestID)
			continue
		}
		ids = append(ids, id)
	}
	return ids, nil
}
