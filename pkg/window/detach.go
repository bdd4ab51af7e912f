package window

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/request"
)

// detach lifts the guardrail attached to each account by swapping it for the window's own SCP,
// which denies the root user from the window's end by AWS's clock (see package guardrail), and
// restores it by swapping them back.
type detach struct{ s *Service }

func (detach) name() string { return contract.StrategyDetach }

func (d detach) problem(r guardrail.Report) string { return d.s.guardrail.Problem(r) }

func (detach) fits(context.Context, request.Request) (string, error) { return "", nil }

// serialize: each window's SCP and attachments are its own; nothing shared to guard.
func (detach) serialize(ctx context.Context, _ string, fn func(context.Context) error) error {
	return fn(ctx)
}

// lift makes the window's SCP from the document the step checked against the pin, when it did:
// the document the window denies is the one checked, read once (no second read that could see
// another).
func (d detach) lift(ctx context.Context, rec ledger.Record, restoreAt time.Time, checked guardrail.Content) (string, string, error) {
	w := guardrail.Window{RequestID: rec.RequestID, End: restoreAt, AccountIDs: rec.AccountIDs, PolicyID: rec.WindowPolicyID, Document: checked.Text}
	if d.s.exemptInUse() {
		// The live document may carry other windows' exemptions: bound the base instead.
		b, found, err := d.s.ledger.GuardrailBase(ctx)
		if err != nil {
			return "", "", retryLater(err)
		}
		if found {
			w.Document = b.Content
		}
	}
	policyID, err := d.s.guardrail.Lift(ctx, w)
	return policyID, fmt.Sprintf("guardrail lifted from %d account(s); the window's SCP %s denies the root user from %s", len(rec.AccountIDs), policyID, FormatTime(restoreAt)), err
}

// liftFailed: transient failures leave the request OPENING for the state machine to retry
// (guardrail.Lift has already put back what it took); others fail it.
func (d detach) liftFailed(ctx context.Context, rec ledger.Record, err error) error {
	s := d.s
	var unavailable *contract.Unavailable
	var throttled *contract.Throttled
	if errors.As(err, &unavailable) || errors.As(err, &throttled) {
		return err // the base could not be read: nothing was lifted, the state machine retries
	}
	s.logError(ctx, "lift guardrail", rec.RequestID, err)
	var berr *guardrail.BatchError
	if errors.As(err, &berr) && berr.RestoreFailed() {
		_ = s.ledger.NoteError(ctx, rec.RequestID, err.Error())
		return &contract.RestoreFailed{Msg: err.Error()}
	}
	if guardrail.IsTransient(err) {
		_ = s.ledger.NoteError(ctx, rec.RequestID, err.Error())
		return &contract.Throttled{Msg: err.Error()}
	}
	failed, terr := s.ledger.Transition(ctx, rec.RequestID, ledger.Failed, ActorDetach, err.Error(), ledger.Change{LastError: err.Error()})
	if terr != nil {
		s.logError(ctx, "record failure", rec.RequestID, terr)
	}
	if rerr := s.ledger.Release(ctx, rec.RequestID, rec.AccountIDs); rerr != nil {
		s.logError(ctx, "release leases", rec.RequestID, rerr)
	}
	if terr == nil {
		s.announce(ctx, failed)
	}
	return &contract.DetachFailed{Msg: err.Error()}
}

func (d detach) restore(ctx context.Context, rec ledger.Record, accounts []string) error {
	return d.s.guardrail.Restore(ctx, guardrail.Window{RequestID: rec.RequestID, AccountIDs: accounts, PolicyID: rec.WindowPolicyID})
}

func (d detach) cutShort(ctx context.Context, rec ledger.Record) (string, error) {
	return d.s.guardrail.WindowProblem(ctx, guardrail.Window{RequestID: rec.RequestID, AccountIDs: rec.AccountIDs, PolicyID: rec.WindowPolicyID})
}
