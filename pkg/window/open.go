package window

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// Decision is what Validate decided, as the execution carries it to the steps after it: the
// ledger's record must agree with it. Only rootwindow's state machine writes an execution's state,
// while the ledger is a table that others might write; a record that disagrees is refused. A lift
// without a decision (a direct invocation of the function, not its execution) is refused too.
type Decision struct {
	AccountIDs []string
	Hours      int
	// ConfirmedBy is who confirmed the request when Validate let it go on ("" when none was due).
	ConfirmedBy string
	// NeedsApproval and ApprovedBy are the approval as the execution carries it.
	NeedsApproval bool
	ApprovedBy    string
}

// clockSkew is how far Step Functions' clock (which ends Wait for start) and a Lambda's may differ.
const clockSkew = time.Minute

// agrees refuses a record that disagrees with what its execution decided, and reports it.
func (s *Service) agrees(ctx context.Context, rec ledger.Record, d Decision) error {
	if len(d.AccountIDs) == 0 || d.Hours < 1 {
		s.log.ErrorContext(ctx, "refusing to lift: no decision from Validate (not the request's execution)", "requestId", rec.RequestID)
		return &contract.DetachFailed{Msg: fmt.Sprintf("request %s: the lift carries no decision from Validate (accounts and hours), as its execution always does: nothing lifted", rec.RequestID)}
	}
	if why := s.approvedAsDecided(rec, d); why != "" && (rec.Status == ledger.Scheduled || rec.Status == ledger.Opening) {
		s.metric(contract.MetricLedgerTampered, 1)
		s.log.ErrorContext(ctx, "refusing to lift: the approval does not hold", "requestId", rec.RequestID, "why", why)
		return &contract.DetachFailed{Msg: fmt.Sprintf("request %s: %s: nothing lifted", rec.RequestID, why)}
	}
	confirmed := rec.ConfirmedBy == d.ConfirmedBy && !rec.AwaitsConfirmation() && (rec.ConfirmedBy == "" || rec.ConfirmedBy == rec.Requester)
	if slices.Equal(rec.AccountIDs, d.AccountIDs) && rec.Hours == d.Hours && confirmed {
		return nil
	}
	s.metric(contract.MetricLedgerTampered, 1)
	s.log.ErrorContext(ctx, "LEDGER TAMPERED: the request's record disagrees with its execution; refusing to lift",
		"requestId", rec.RequestID, "recordAccounts", strings.Join(rec.AccountIDs, ","), "executionAccounts", strings.Join(d.AccountIDs, ","),
		"recordHours", rec.Hours, "executionHours", d.Hours)
	return &contract.DetachFailed{Msg: fmt.Sprintf("the ledger's record of request %s (accounts %s, %d h, confirmed by %q) disagrees with what its execution decided (accounts %s, %d h, confirmed by %q): nothing lifted; operators are alerted (LedgerTampered)",
		rec.RequestID, strings.Join(rec.AccountIDs, ","), rec.Hours, rec.ConfirmedBy, strings.Join(d.AccountIDs, ","), d.Hours, d.ConfirmedBy)}
}

// Open lifts the guardrail from the request's accounts and starts the window: restoreAt is when
// the lift began plus the requested hours, fixed before anything is lifted, because the window's
// SCP (see package guardrail) makes AWS deny the root user from then whatever else happens. Before lifting anything it checks the
// record against what the execution decided, and makes the booking's checks again (requester,
// owners, organization); a request that no longer passes is withdrawn (FAILED, announced) and
// returned with *contract.RequestRejected. It returns the record: OPEN (or further on, for a
// retry after success), or CANCELLED when the request was cancelled before its start.
func (s *Service) Open(ctx context.Context, id string, decided Decision) (ledger.Record, error) {
	ctx = guardrail.ReadTagsOnce(ctx) // the owners' check and the claim share the root's tags
	rec, err := s.load(ctx, id)
	if err != nil {
		return rec, err
	}
	if err := s.agrees(ctx, rec, decided); err != nil {
		return rec, err
	}
	switch rec.Status {
	case ledger.Open, ledger.Closing, ledger.Closed:
		s.announce(ctx, rec)
		return rec, nil // a retry after success
	case ledger.Cancelled:
		s.log.InfoContext(ctx, "request cancelled before its start; nothing lifted", "requestId", id)
		return rec, nil
	case ledger.Scheduled:
		if now := s.Now(); now.Add(clockSkew).Before(rec.StartAt) {
			// The execution waits for the start (Wait for start); a lift before it is not its.
			s.log.ErrorContext(ctx, "refusing to lift before the window's start", "requestId", id, "startAt", FormatTime(rec.StartAt))
			return rec, &contract.DetachFailed{Msg: fmt.Sprintf("request %s starts at %s, not before: nothing lifted", id, FormatTime(rec.StartAt))}
		}
		if rec, err = s.withdrawIfNoLongerAllowed(ctx, rec); err != nil || rec.Status != ledger.Scheduled {
			return rec, err
		}
	case ledger.Opening:
		// A retry after a failure or crash part-way: lifting again is idempotent.
	default:
		return rec, &contract.InvalidState{Msg: fmt.Sprintf("request %s is %s; its window cannot open", id, rec.Status)}
	}

	// The check of the guardrail's document and the lift are one section of the strategy's
	// (exempt: under the ledger's lock on the document, so that what was checked is what is
	// replaced, read once).
	lifter := s.strategyOf(rec)
	var policyID, note string
	var restoreAt time.Time
	var stepErr, liftErr error
	cancelled := false
	if err := lifter.serialize(ctx, id, func(ctx context.Context) error {
		var checked guardrail.Content // the guardrail's document as this step checked it, when it did
		if rec.Status == ledger.Scheduled {
			if checked, stepErr = s.guardrailMayBeLifted(ctx, id); stepErr != nil {
				return nil
			}
			end := s.Now().Truncate(time.Second).Add(time.Duration(rec.Hours) * time.Hour)
			var err error
			rec, err = s.ledger.Transition(ctx, id, ledger.Opening, ActorDetach, "lifting the guardrail until "+FormatTime(end), ledger.Change{RestoreAt: end})
			var terr *ledger.TransitionError
			if cancelled = errors.As(err, &terr) && terr.Current == ledger.Cancelled; cancelled {
				return nil
			}
			if err != nil {
				stepErr = s.stateError(ctx, id, err)
				return nil
			}
		}
		if restoreAt = rec.RestoreAt; restoreAt.IsZero() { // OPENING recorded by a version that fixed restoreAt after the lift
			restoreAt = s.Now().Truncate(time.Second).Add(time.Duration(rec.Hours) * time.Hour)
		}
		s.log.InfoContext(ctx, "lifting guardrail", "requestId", id, "accounts", len(rec.AccountIDs), "until", FormatTime(restoreAt), "strategy", rec.Strategy)
		policyID, note, liftErr = lifter.lift(ctx, rec, restoreAt, checked)
		return nil
	}); err != nil {
		s.logError(ctx, "take the guardrail's lock", id, err)
		return rec, retryLater(err)
	}
	switch {
	case stepErr != nil:
		return rec, stepErr
	case cancelled:
		return rec, nil
	case liftErr != nil:
		return rec, lifter.liftFailed(ctx, rec, liftErr)
	}
	openedAt := s.Now().Truncate(time.Second)
	if err := s.ledger.ExtendLeases(ctx, id, rec.AccountIDs, restoreAt); err != nil {
		s.logError(ctx, "extend leases", id, err)
		return rec, retryLater(err)
	}
	signIn, prepared := s.prepareSignIn(ctx, rec)
	note += prepared
	rec, err = s.ledger.Transition(ctx, id, ledger.Open, ActorDetach, note,
		ledger.Change{OpenedAt: openedAt, RestoreAt: restoreAt, WindowPolicyID: policyID, SignIn: signIn})
	var terr *ledger.TransitionError
	if errors.As(err, &terr) {
		// Someone settled the request while we were lifting (the safety net, after the execution
		// was stopped): it is no longer ours to open, so put back what we lifted.
		s.log.WarnContext(ctx, "request settled during the lift; putting the guardrail back", "requestId", id, "status", terr.Current)
		rec.WindowPolicyID = policyID
		lerr := s.putBack(ctx, rec)
		if lerr != nil {
			s.logError(ctx, "put back after a lost race", id, lerr)
			return rec, &contract.RestoreFailed{Msg: lerr.Error()}
		}
		return rec, &contract.InvalidState{Msg: terr.Error(), Err: err}
	}
	if err != nil {
		return rec, s.stateError(ctx, id, err)
	}
	s.metric(contract.MetricWindowsOpened, 1)
	s.log.InfoContext(ctx, "window open", "requestId", id, "openedAt", FormatTime(openedAt), "restoreAt", FormatTime(restoreAt))
	s.announce(ctx, rec)
	return rec, nil
}

// putBack undoes a request's lift on the accounts it still holds, by its strategy.
func (s *Service) putBack(ctx context.Context, rec ledger.Record) error {
	accounts, err := s.ours(ctx, rec)
	if err != nil {
		return err
	}
	return s.strategyOf(rec).restore(ctx, rec, accounts)
}

// load reads the request a step acts on: a missing one is InvalidState (wrapping
// ledger.ErrNotFound), a failed read is retried.
func (s *Service) load(ctx context.Context, id string) (ledger.Record, error) {
	rec, err := s.ledger.Get(ctx, id)
	if err == nil {
		return rec, nil
	}
	s.logError(ctx, "read ledger", id, err)
	if errors.Is(err, ledger.ErrNotFound) {
		return rec, &contract.InvalidState{Msg: fmt.Sprintf("request %s is not in the ledger", id), Err: err}
	}
	return rec, retryLater(err)
}

// stateError classifies a ledger transition error.
func (s *Service) stateError(ctx context.Context, id string, err error) error {
	s.logError(ctx, "move request", id, err)
	var terr *ledger.TransitionError
	if errors.As(err, &terr) {
		return &contract.InvalidState{Msg: terr.Error()}
	}
	return retryLater(err)
}

// withdrawIfNoLongerAllowed makes the booking's checks again; a request that fails them is
// withdrawn and returned with *contract.RequestRejected. A request cancelled meanwhile is
// returned as it is.
func (s *Service) withdrawIfNoLongerAllowed(ctx context.Context, rec ledger.Record) (ledger.Record, error) {
	probs, err := s.recheck(ctx, rec)
	if err != nil {
		s.logError(ctx, "check the organization again", rec.RequestID, err)
		return rec, retryLater(err)
	}
	if len(probs) == 0 {
		return rec, nil
	}
	why := "withdrawn at the lift, the booking's checks no longer pass: " + strings.Join(probs.Strings(), "; ")
	s.log.WarnContext(ctx, "request withdrawn at the lift", "requestId", rec.RequestID, "problems", len(probs))
	withdrawn, err := s.Withdraw(ctx, rec, ActorDetach, why, ledger.Change{LastError: why})
	var terr *ledger.TransitionError
	if errors.As(err, &terr) && terr.Current == ledger.Cancelled {
		return withdrawn, nil
	}
	if err != nil {
		return rec, s.stateError(ctx, rec.RequestID, err)
	}
	return withdrawn, &contract.RequestRejected{Problems: probs.Strings()}
}

// guardrailMayBeLifted refuses to lift a guardrail whose document is not the pinned one, or
// holds statements besides the root deny that no operator allowed; it returns the document it
// checked.
func (s *Service) guardrailMayBeLifted(ctx context.Context, id string) (guardrail.Content, error) {
	problem, checked, err := s.checkGuardrail(ctx, true)
	if err != nil {
		s.logError(ctx, "read the guardrail's document", id, err)
		return checked, retryLater(err)
	}
	if problem == "" {
		return checked, nil
	}
	s.metric(contract.MetricGuardrailChanged, 1)
	s.log.ErrorContext(ctx, "GUARDRAIL CHANGED: refusing to lift it", "requestId", id, "problem", problem)
	return checked, &contract.DetachFailed{Msg: problem + ": nothing lifted"}
}

// GuardrailProblem says what is wrong with the guardrail's document, or "": not a policy Control
// Tower manages; holding nothing but the root deny and the statements allowed by Sid; and, for the
// detach strategy, the pinned document (guardrailContentSha256, or the document rootwindow first
// saw, pinned in the ledger), or, for the exempt strategy, the document rootwindow last wrote; and
// claimed by no other deployment of rootwindow (guardrail.Claim).
func (s *Service) GuardrailProblem(ctx context.Context) (string, error) {
	problem, _, err := s.checkGuardrail(ctx, false)
	return problem, err
}

// checkGuardrail is GuardrailProblem, with the document it checked; at a lift (claim) the
// guardrail is claimed for this deployment if nobody claims it yet.
func (s *Service) checkGuardrail(ctx context.Context, claim bool) (problem string, checked guardrail.Content, err error) {
	check := s.guardrail.CheckClaim
	if claim {
		check = s.guardrail.Claim
	}
	var claimed *guardrail.ClaimedError
	switch err := check(ctx); {
	case errors.As(err, &claimed):
		return claimed.Error(), checked, nil
	case err != nil:
		// The claim keeps two deployments from undoing each other's windows; only another's
		// claim, seen, refuses. An organization that cannot hold one (the root's tags refused,
		// a delegation that does not allow them, reads that keep failing) gets what it had before
		// claims: the document's checks decide.
		s.log.ErrorContext(ctx, "the guardrail's claim could not be read or made; going on unclaimed", "policy", s.guardrail.PolicyID(), "error", err.Error())
	}
	if s.exemptInUse() {
		return s.exemptDocumentProblem(ctx)
	}
	c, err := s.guardrail.Content(ctx)
	if err != nil {
		return "", c, err
	}
	id := s.guardrail.PolicyID()
	if p := controlTowerProblem(id, c); p != "" {
		return p, c, nil
	}
	if p := s.extraStatementsProblem(c.Text); p != "" {
		return p, c, nil
	}
	pinned := s.config.GuardrailSHA256
	if pinned == "" {
		if pinned, err = s.ledger.PinGuardrail(ctx, c.SHA256); err != nil {
			return "", c, err
		}
	}
	if c.SHA256 != pinned {
		// Whole hashes: an operator compares them with the one they computed (README, the pin).
		return fmt.Sprintf("the guardrail %s's document changed since it was pinned (its sha256 is %s; pinned: %s): rootwindow lifts only the pinned document; an operator puts it back or re-pins it",
			id, c.SHA256, pinned), c, nil
	}
	return "", c, nil
}

// controlTowerProblem refuses an SCP AWS Control Tower manages.
func controlTowerProblem(id string, c guardrail.Content) string {
	if strings.HasPrefix(c.Name, guardrail.ControlTowerPrefix) {
		return fmt.Sprintf("the guardrail %s (%s) is an SCP AWS Control Tower manages: Control Tower reports a change to it as drift and puts it back, so rootwindow does not lift it; attach a root-deny SCP of your own to each account and name it in guardrailPolicyId", id, c.Name)
	}
	return ""
}

// extraStatementsProblem refuses a document holding statements besides the root deny that no
// operator allowed by Sid: lifting the guardrail would lift them too.
func (s *Service) extraStatementsProblem(doc string) string {
	id := s.guardrail.PolicyID()
	extra, err := guardrail.ExtraStatements(doc, s.config.GuardrailAllowedSids)
	if err != nil {
		return fmt.Sprintf("the guardrail %s cannot be checked: %v", id, err)
	}
	if len(extra) > 0 {
		return fmt.Sprintf("the guardrail %s holds statements besides the root deny (%s): lifting it would lift them too; allow them by Sid in guardrailAllowedStatements, or move them to another SCP",
			id, strings.Join(extra, ", "))
	}
	return ""
}
