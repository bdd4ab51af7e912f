package window

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rootwindow/rootwindow/pkg/authz"
	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// Approval by a second administrator (configuration: approval). A request that needs it is booked
// with a deadline (ApproveBy); its execution then waits on a task token ("Wait for approval",
// TimeoutSeconds at the deadline) that AwaitApproval records; an administrator other than the
// requester decides through the API (Decide), which records the decision and sends it to Step
// Functions: SendTaskSuccess carries the approver to the lift, which checks it against the record;
// SendTaskFailure (ApprovalDenied), or nobody deciding in time (States.Timeout), ends the
// execution through its compensation: nothing is lifted and the accounts are released.

// MaxDecisionWords bounds the words an approver may give with a decision.
const MaxDecisionWords = 500

// approvalDeadline is when a request booked now must be decided by, or zero when it needs no
// approval: the configuration's doors and accounts (by their OUs and root, read only when the
// configuration names some).
func (s *Service) approvalDeadline(ctx context.Context, channel string, accounts []string) (time.Time, error) {
	cfg := s.config.Settings
	if cfg.Approval != config.ApprovalSecondAdmin {
		return time.Time{}, nil
	}
	var paths [][]string
	if len(cfg.ApprovalScope) > 0 {
		for _, a := range accounts {
			up, err := s.guardrail.Ancestors(ctx, a)
			if err != nil {
				return time.Time{}, err
			}
			paths = append(paths, append([]string{a}, up...))
		}
	}
	if !cfg.NeedsApproval(channel, paths) {
		return time.Time{}, nil
	}
	return s.Now().Add(time.Duration(cfg.ApprovalMinutes) * time.Minute).Truncate(time.Second), nil
}

// AwaitApproval records the task token the request's execution waits on and asks the approvers
// (Approval Requested). A decision made before the token arrived is sent now.
func (s *Service) AwaitApproval(ctx context.Context, id, token string) error {
	if token == "" || len(token) > 1024 {
		return &contract.InvalidState{Msg: "the approval task token must be 1 to 1024 characters"}
	}
	rec, err := s.ledger.SetApprovalToken(ctx, id, token)
	var derr *ledger.DecisionError
	switch {
	case errors.As(err, &derr):
		return &contract.InvalidState{Msg: derr.Error(), Err: err}
	case err != nil:
		s.logError(ctx, "record the approval token", id, err)
		return retryLater(err)
	}
	s.log.InfoContext(ctx, "waiting for approval", "requestId", id, "approveBy", FormatTime(rec.ApproveBy))
	s.announce(ctx, rec)
	if !rec.AwaitsApproval() {
		return s.sendDecision(ctx, rec)
	}
	return nil
}

// Decide records caller's decision on a request that waits for a second administrator's approval,
// and sends it to the waiting execution. The caller must be an administrator and not the
// requester (by any name the requester is known by); the decision must come before the deadline.
// Deciding the same way again sends it again (a retry after a failed send).
func (s *Service) Decide(ctx context.Context, id, caller string, approve bool, words string) (ledger.Record, error) {
	rec, err := s.load(ctx, id)
	if err != nil {
		return rec, err
	}
	az := s.config.Authz()
	if !az.IsApprover(caller) {
		return rec, &NotRequesterError{Msg: fmt.Sprintf("%s is not an approver: only principals matching approverPrincipals (adminPrincipals when none are set) may approve or deny a request", caller)}
	}
	if err := s.notTheRequester(ctx, caller, rec, "another administrator must approve or deny it"); err != nil {
		return rec, err
	}
	switch {
	case rec.ApproveBy.IsZero():
		return rec, &contract.InvalidState{Msg: fmt.Sprintf("request %s does not wait for an approval", id)}
	case rec.AwaitsApproval() && !s.Now().Before(rec.ApproveBy):
		return rec, &contract.InvalidState{Msg: fmt.Sprintf("the time to decide request %s ran out at %s; nothing was lifted: its requester may ask again", id, FormatTime(rec.ApproveBy))}
	}
	decidedBefore := rec.ApprovedBy != "" || rec.DeniedBy != ""
	rec, err = s.ledger.Decide(ctx, id, caller, approve, words)
	var derr *ledger.DecisionError
	switch {
	case errors.As(err, &derr):
		return rec, &contract.InvalidState{Msg: derr.Error(), Err: err}
	case err != nil:
		s.logError(ctx, "record a decision", id, err)
		return rec, retryLater(err)
	}
	s.log.InfoContext(ctx, "request decided", "requestId", id, "approved", approve, "by", caller)
	s.announce(ctx, rec)
	if rec.ApprovalToken == "" {
		return rec, nil // the execution has not asked yet: AwaitApproval sends it
	}
	err = s.sendDecision(ctx, rec)
	if decidedBefore && errors.Is(err, ErrTaskGone) && rec.Status != ledger.Failed {
		// The same decision again, after its execution had it and went on: the answer is the
		// first one's (an approval stands, and its window opens or has opened).
		return rec, nil
	}
	return rec, err
}

// sendDecision sends a recorded decision to the execution waiting on the record's token.
func (s *Service) sendDecision(ctx context.Context, rec ledger.Record) error {
	if s.decisions == nil {
		return &contract.Unavailable{Msg: "this function cannot call Step Functions"}
	}
	var err error
	if rec.ApprovedBy != "" {
		err = s.decisions.Approve(ctx, rec.ApprovalToken, contract.Approval{ApprovedBy: rec.ApprovedBy, ApprovedAt: FormatTime(rec.ApprovedAt)})
	} else {
		err = s.decisions.Deny(ctx, rec.ApprovalToken, contract.ErrApprovalDenied, "denied by "+rec.DeniedBy)
	}
	switch {
	case errors.Is(err, ErrTaskGone):
		return &contract.InvalidState{Msg: fmt.Sprintf("request %s no longer waits for a decision (its time ran out or its execution ended): nothing was lifted", rec.RequestID), Err: err}
	case err != nil:
		s.logError(ctx, "send the decision to Step Functions", rec.RequestID, err)
		return retryLater(err)
	}
	return nil
}

// notTheRequester refuses caller if they could be rec's requester (mayBeRequester), saying who
// else must act (others); it asks again later if the identity store cannot say.
func (s *Service) notTheRequester(ctx context.Context, caller string, rec ledger.Record, others string) error {
	requester, err := s.mayBeRequester(ctx, caller, rec)
	switch {
	case err != nil:
		s.logError(ctx, "ask the identity store who "+caller+" is", rec.RequestID, err)
		return retryLater(err)
	case requester:
		return &NotRequesterError{Msg: fmt.Sprintf("request %s is yours: %s", rec.RequestID, others)}
	}
	return nil
}

// mayBeRequester reports whether caller could be rec's requester, for the four-eyes rule: by
// name (authz.MayBeSamePerson), or as the one Identity Center user: the identity store gives the
// caller's user name the user ID it gave the requester's at booking (RequesterUserID), so a user
// renamed since, or known by two user names over time, is still the requester. AWS gives the
// doors no such ID (a permission set's aws:userid is the role's ID and the session name, the user
// name), so it is asked for.
func (s *Service) mayBeRequester(ctx context.Context, caller string, rec ledger.Record) (bool, error) {
	if s.config.Authz().MayBeSamePerson(caller, rec.Requester) {
		return true, nil
	}
	user := authz.IdentityCenterUser(caller)
	if rec.RequesterUserID == "" || user == "" || s.groups == nil {
		return false, nil
	}
	id, err := s.groups.UserID(ctx, user)
	return err == nil && id == rec.RequesterUserID, err
}

// requesterUserID is the Identity Center user ID of requester (an Identity Center user's
// session) where identityStoreId is set, for RequesterUserID; "" for anyone else, or when the
// identity store cannot say now (logged: the four-eyes rule then compares names, as it does
// without a store).
func (s *Service) requesterUserID(ctx context.Context, id, requester string) string {
	user := authz.IdentityCenterUser(requester)
	if user == "" || s.groups == nil {
		return ""
	}
	userID, err := s.groups.UserID(ctx, user)
	if err != nil {
		s.logError(ctx, "ask the identity store who the requester is", id, err)
	}
	return userID
}

// approvedAsDecided refuses a lift whose approval the record and the execution do not agree on:
// a request that needs an approval is lifted only with one, by someone other than its requester,
// named the same by both.
func (s *Service) approvedAsDecided(rec ledger.Record, d Decision) string {
	if !d.NeedsApproval && rec.ApproveBy.IsZero() {
		return ""
	}
	az := s.config.Authz()
	switch {
	case rec.ApprovedBy == "" || rec.ApprovedAt.IsZero():
		return "it needs a second administrator's approval and the ledger records none"
	case d.ApprovedBy != rec.ApprovedBy:
		return fmt.Sprintf("the ledger says %q approved it, its execution %q", rec.ApprovedBy, d.ApprovedBy)
	case az.MayBeSamePerson(rec.ApprovedBy, rec.Requester):
		return "its approver is its requester"
	}
	return ""
}

// notDecidedNote says why a request that waited for an approval did not open, from the error its
// execution caught: nobody decided in time, or an approver denied it.
func notDecidedNote(rec ledger.Record, cause string) (string, bool) {
	switch {
	case rec.ApproveBy.IsZero():
		return "", false
	case rec.DeniedBy != "":
		note := "denied by " + rec.DeniedBy
		if rec.Decision != "" {
			note += ": " + rec.Decision
		}
		return note + "; nothing was lifted", true
	case cause == contract.ErrTimeout || (cause == contract.ErrApprovalDenied && rec.AwaitsApproval()):
		return fmt.Sprintf("not approved by %s: nothing was lifted", FormatTime(rec.ApproveBy)), true
	}
	return "", false
}
