package window

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// Restore puts the guardrail back on the request's accounts and closes the request: CLOSED when
// a window ends (or compensation finds it open), FAILED when compensating a window that never
// opened. cause is the failure that led to compensation. decided are the accounts the execution
// carries: restored too, even if the ledger's record lost them. It never touches an account
// another window holds now. Running it again is a no-op.
func (s *Service) Restore(ctx context.Context, id string, compensate bool, cause string, decided []string) (ledger.Record, error) {
	rec, err := s.load(ctx, id)
	if err != nil {
		return rec, err
	}
	if missing := without(decided, rec.AccountIDs); len(missing) > 0 {
		s.metric(contract.MetricLedgerTampered, 1)
		s.log.ErrorContext(ctx, "LEDGER TAMPERED: the record lacks accounts its execution lifted; restoring them too",
			"requestId", id, "accounts", strings.Join(missing, ","))
		rec.AccountIDs = append(slices.Clone(rec.AccountIDs), missing...)
	}
	mode := "close"
	if compensate {
		mode = "compensate"
	}
	if rec.Status == ledger.Scheduled || rec.Status == ledger.Opening {
		note := "window did not open: " + cause
		if n, ok := notDecidedNote(rec, cause); ok && rec.Status == ledger.Scheduled {
			note, cause = n, n
		}
		return s.restore(ctx, rec, mode, ledger.Failed, ActorReattach, note, ledger.Change{LastError: cause})
	}
	return s.close(ctx, rec, ActorReattach, closingNote(compensate, cause))
}

// End ends an open window now, for a person, without touching the organization: the request
// becomes CLOSING (ended early by caller) and its execution is stopped; Step Functions' status
// change brings the safety net, which puts the guardrail back and closes the request (Rescue).
// So whoever answers people (the api) needs no permission to change the organization. If the
// execution cannot be stopped now, the answer is an error and the request stays CLOSING: asking
// again stops it, and the workflow's own restore at the planned end closes it anyway. Ending a
// window already closing or closed returns it as it is; a window that is not open is an
// *InvalidState naming its status.
func (s *Service) End(ctx context.Context, id, caller string) (ledger.Record, error) {
	rec, err := s.load(ctx, id)
	if err != nil {
		return rec, err
	}
	switch rec.Status {
	case ledger.Open:
		rec, err = s.ledger.Transition(ctx, id, ledger.Closing, caller, "ended early by "+caller, ledger.Change{})
		var terr *ledger.TransitionError
		if errors.As(err, &terr) && terr.Current != ledger.Open {
			return s.End(ctx, id, caller) // the workflow's restore, or another end, moved it on first
		}
		if err != nil {
			return rec, s.stateError(ctx, id, err)
		}
		s.log.InfoContext(ctx, "window ended early: stopping its execution", "requestId", id)
		return rec, s.stopFor(ctx, rec, caller)
	case ledger.Closing:
		if by := EndedBy(rec); by != "" {
			return rec, s.stopFor(ctx, rec, by) // an end asked again: its execution may not have stopped
		}
		return rec, nil
	case ledger.Closed:
		return rec, nil
	case ledger.Scheduled:
		return rec, &contract.InvalidState{Msg: fmt.Sprintf("request %s has not started (it opens at %s): cancel it instead", id, FormatTime(rec.StartAt))}
	case ledger.Opening:
		return rec, &contract.InvalidState{Msg: fmt.Sprintf("request %s is opening: the guardrail is being lifted now; end it once it is open, in a few seconds", id)}
	}
	return rec, &contract.InvalidState{Msg: fmt.Sprintf("request %s is %s: there is no window to end", id, rec.Status)}
}

// stopFor stops the execution of a window a person ended.
func (s *Service) stopFor(ctx context.Context, rec ledger.Record, by string) error {
	if s.executions == nil {
		return &contract.Unavailable{Msg: "no Step Functions client: the window's execution cannot be stopped"}
	}
	err := s.executions.Stop(ctx, rec.ExecutionARN, contract.ErrEndedEarly, "ended early by "+by)
	if errors.Is(err, ErrNoExecution) {
		// Nothing runs to stop, so no status change will come: the sweep settles a request that
		// holds accounts with no execution running.
		s.log.WarnContext(ctx, "the ended window's execution does not exist; the sweep closes it", "requestId", rec.RequestID)
		return nil
	}
	if err != nil {
		s.logError(ctx, "stop the execution of a window ended early", rec.RequestID, err)
		return retryLater(err)
	}
	return nil
}

// EndedBy is the person who ended rec's window early through rootwindow, or "" if nobody did: the
// actor of its move to CLOSING, when that is not rootwindow itself.
func EndedBy(rec ledger.Record) string {
	for _, h := range rec.History {
		if h.Status == ledger.Closing && !strings.HasPrefix(h.Actor, "rootwindow:") {
			return h.Actor
		}
	}
	return ""
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
		rec, err = s.ledger.Transition(ctx, id, ledger.Cancelled, caller, "cancelled by "+caller, ledger.Change{})
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
	if err := s.ledger.Release(ctx, id, rec.AccountIDs); err != nil {
		s.logError(ctx, "release leases", id, err)
		return rec, retryLater(err)
	}
	s.log.InfoContext(ctx, "window cancelled", "requestId", id)
	s.announce(ctx, rec)
	return rec, nil
}

// close ends a window: OPEN → CLOSING → guardrail restored → CLOSED, leases released. Records
// already CLOSED (or never holding anything) are returned as they are.
func (s *Service) close(ctx context.Context, rec ledger.Record, actor, note string) (ledger.Record, error) {
	id := rec.RequestID
	switch rec.Status {
	case ledger.Closed, ledger.Cancelled, ledger.Rejected:
		// Nothing of ours is lifted; its accounts may belong to another window by now.
		s.announce(ctx, rec)
		return rec, nil
	case ledger.Open:
		next, err := s.ledger.Transition(ctx, id, ledger.Closing, actor, note, ledger.Change{})
		var terr *ledger.TransitionError
		if errors.As(err, &terr) && terr.Current == ledger.Closed {
			// Someone else (the sweeper, an early end) closed it meanwhile: the guardrail is back.
			s.announce(ctx, next)
			return next, nil
		}
		if err != nil {
			return rec, s.stateError(ctx, id, err)
		}
		next.AccountIDs = rec.AccountIDs // with any the execution lifted that the record lost
		rec = next
	}
	return s.restore(ctx, rec, "close", ledger.Closed, actor, "guardrail restored", ledger.Change{})
}

// restore puts the guardrail back on the accounts rec still holds, moves rec to status `to`
// (unless it is there already) and releases its leases.
func (s *Service) restore(ctx context.Context, rec ledger.Record, mode string, to ledger.Status, actor, note string, c ledger.Change) (ledger.Record, error) {
	id, held := rec.RequestID, rec.AccountIDs
	accounts, err := s.ours(ctx, rec)
	if err != nil {
		s.logError(ctx, "read leases", id, err)
		return rec, retryLater(err)
	}
	s.log.InfoContext(ctx, "restoring guardrail", "requestId", id, "accounts", len(accounts), "mode", mode, "strategy", rec.Strategy)
	lifter := s.strategyOf(rec)
	ended := false   // this restore ends the window (and starts its accounts' cooldown)
	settled := false // this restore moved the record (a lifted window's report is then due)
	var restoreErr, stepErr error
	if err := lifter.serialize(ctx, id, func(ctx context.Context) error {
		if restoreErr = lifter.restore(ctx, rec, accounts); restoreErr != nil {
			return nil
		}
		if to == ledger.Closed {
			c.ClosedAt = s.Now() // when the guardrail is back, not when the restore began
		}
		if rec.Status != to && rec.Status != ledger.Failed {
			var err error
			if rec, err = s.ledger.Transition(ctx, id, to, actor, note, c); err != nil {
				stepErr = s.stateError(ctx, id, err)
				return nil
			}
			settled, ended = true, to == ledger.Closed
		}
		return nil
	}); err != nil {
		restoreErr = err
	}
	if restoreErr != nil {
		s.logError(ctx, "restore guardrail", id, restoreErr)
		if nerr := s.ledger.NoteError(ctx, id, "restore failed: "+restoreErr.Error()); nerr != nil {
			s.logError(ctx, "note error", id, nerr)
		}
		if guardrail.IsTransient(restoreErr) || errors.Is(restoreErr, ledger.ErrLocked) {
			return rec, &contract.Throttled{Msg: restoreErr.Error()}
		}
		return rec, &contract.RestoreFailed{Msg: restoreErr.Error()}
	}
	if stepErr != nil {
		return rec, stepErr
	}
	if ended {
		s.metric(contract.MetricWindowsClosed, 1)
	}
	if err := s.ledger.Release(ctx, id, held); err != nil {
		s.logError(ctx, "release leases", id, err)
		return rec, retryLater(err)
	}
	if ended {
		// For the cooldown; the guardrail is back whatever becomes of this record.
		if err := s.ledger.MarkEnded(ctx, id, held, s.Now()); err != nil {
			s.logError(ctx, "record the end of the window", id, err)
		}
	}
	if _, _, lifted := rec.Lifted(); settled && lifted {
		s.reportDue(ctx, id)
	}
	s.log.InfoContext(ctx, "guardrail restored", "requestId", id, "status", rec.Status)
	s.announce(ctx, rec)
	return rec, nil
}

// Alarm records that restoring failed for good, for cause, and raises Restore Failed. The status
// and the leases stay, so no other window opens on those accounts until a person (or a later
// restore) puts the guardrail back.
func (s *Service) Alarm(ctx context.Context, id, cause string) (ledger.Record, error) {
	rec, err := s.ledger.MarkRestoreFailed(ctx, id, "the guardrail could not be restored: "+cause)
	if errors.Is(err, ledger.ErrNotFound) {
		return rec, &contract.InvalidState{Msg: fmt.Sprintf("request %s is not in the ledger", id), Err: err}
	}
	if err != nil {
		s.logError(ctx, "record failed restore", id, err)
		return rec, retryLater(err)
	}
	s.metric(contract.MetricRestoreFailed, 1)
	s.log.ErrorContext(ctx, "GUARDRAIL NOT RESTORED: raising the alarm", "requestId", id, "accounts", len(rec.AccountIDs), "status", rec.Status)
	s.announce(ctx, rec)
	return rec, nil
}

func closingNote(compensate bool, cause string) string {
	if compensate {
		return "closing early: the opening step failed after the window opened: " + cause
	}
	return "window over"
}

// ours lists the request's accounts that no other window holds now. A lease names its holder,
// but a lease is only an item in a table: an account is left alone only when the holder's record
// is a window that holds it. Any other lease (planted, or left by a request that no longer holds
// the account) does not stop the restore, and is reported.
func (s *Service) ours(ctx context.Context, rec ledger.Record) ([]string, error) {
	leases, err := s.ledger.Leases(ctx, rec.AccountIDs)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, id := range rec.AccountIDs {
		l, held := leases[id]
		if !held || l.RequestID == rec.RequestID {
			ids = append(ids, id)
			continue
		}
		holder, err := s.ledger.Get(ctx, l.RequestID)
		switch {
		case err == nil && holder.Status.Holds() && slices.Contains(holder.AccountIDs, id):
			s.log.WarnContext(ctx, "account held by another window; leaving its guardrail alone", "requestId", rec.RequestID, "account", id, "holder", l.RequestID)
			continue
		case err != nil && !errors.Is(err, ledger.ErrNotFound):
			return nil, err
		}
		s.metric(contract.MetricLedgerTampered, 1)
		s.log.ErrorContext(ctx, "LEDGER TAMPERED: a lease names a holder that is not a window holding the account; restoring it anyway",
			"requestId", rec.RequestID, "account", id, "holder", l.RequestID)
		ids = append(ids, id)
	}
	return ids, nil
}

// without lists the items of a not in b.
func without(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
