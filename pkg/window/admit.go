package window

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rootwindow/rootwindow/pkg/authz"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/request"
)

// Admit checks a parsed request, given the problems parsing found, and if there are none reserves
// its accounts under request ID id as actor. It returns the SCHEDULED record; or the request's
// record and every problem found, each of its kind (the record is REJECTED only when the
// reservation lost a race and recorded that, which it announces); or a named error when a check
// could not be made.
func (s *Service) Admit(ctx context.Context, id, executionARN string, req request.Request, origin contract.Origin, probs request.Problems, actor string) (ledger.Record, request.Problems, error) {
	ctx = guardrail.ReadTagsOnce(ctx) // the owners' check and the claim share the root's tags
	// Created when it was read: however long the checks take, the request is as of then, and its
	// execution's Validate reads it again as of then.
	rec := ledger.Record{RequestID: id, Fields: req.Fields, Origin: origin, ExecutionARN: executionARN, CreatedAt: req.ReadAt}
	if origin.Channel == contract.ChannelEventBridge && s.config.EventConfirmMinutes > 0 {
		// An integration asserted the requester: the requester confirms before anything is lifted.
		rec.ConfirmBy = s.Now().Add(time.Duration(s.config.EventConfirmMinutes) * time.Minute).Truncate(time.Second)
	}
	if len(probs) == 0 {
		probs = s.betterWithAssumeRoot(req)
	}
	if req.BreakGlass && origin.Channel == contract.ChannelEventBridge {
		// An integration asserts its requester: no emergency skips an approval on its word.
		probs.AddKind(request.Forbidden, "breakGlass", "a break-glass window is asked for by its requester in person (the API, the rootwindow command or the console), not through an integration")
	}
	var reports map[string]guardrail.Report // what Organizations said of each account, for the sign-in audit
	if len(probs) == 0 {
		var err error
		probs, rec.Strategy, reports, err = s.authorize(ctx, req)
		var wrong *guardrail.WrongOrganizationError
		switch {
		case errors.As(err, &wrong):
			// A configuration that names another organization: no retry will help.
			s.logError(ctx, "check the organization", id, err)
			probs.Add("organization", "%s", wrong.Error())
		case err != nil:
			s.logError(ctx, "check the organization", id, err)
			return rec, nil, retryLater(err)
		}
	}
	if len(probs) == 0 {
		var err error
		if probs, err = s.checkLimits(ctx, req); err != nil {
			s.logError(ctx, "check the limits", id, err)
			return rec, nil, retryLater(err)
		}
	}
	if len(probs) == 0 {
		// The guardrail's document is pinned at the first booking, if not by configuration, and
		// checked again at the lift.
		problem, err := s.GuardrailProblem(ctx)
		if err != nil {
			s.logError(ctx, "read the guardrail's document", id, err)
			return rec, nil, retryLater(err)
		}
		if problem != "" {
			s.metric(contract.MetricGuardrailChanged, 1)
			probs.AddKind(request.Conflict, "guardrail", "%s", problem)
		}
	}
	if len(probs) == 0 {
		// The strategy must still have room for this window (exempt: the guardrail's document,
		// with it, within the size quota).
		problem, err := s.strategyOf(rec).fits(ctx, req)
		if err != nil {
			s.logError(ctx, "render the guardrail's document", id, err)
			return rec, nil, retryLater(err)
		}
		if problem != "" {
			probs.AddKind(request.Limited, "accountIds", "%s", problem)
		}
	}
	if len(probs) > 0 {
		return rec, probs, nil
	}
	if req.BreakGlass {
		// No approval; another administrator reviews it afterwards, and BreakGlassUnreviewed
		// alarms until then. Noted before the reservation, so that no break-glass window can
		// open unnoted (a rejected one is taken off by the sweep).
		if err := s.ledger.AwaitReview(ctx, id); err != nil {
			s.logError(ctx, "note the break-glass request for review", id, err)
			return rec, nil, retryLater(err)
		}
	} else {
		approveBy, err := s.approvalDeadline(ctx, origin.Channel, req.AccountIDs)
		if err != nil {
			s.logError(ctx, "find whether the request needs an approval", id, err)
			return rec, nil, retryLater(err)
		}
		rec.ApproveBy = approveBy
	}
	rec.SignIn = s.auditSignIn(ctx, req.AccountIDs, reports)
	if !rec.ApproveBy.IsZero() || rec.BreakGlass {
		rec.RequesterUserID = s.requesterUserID(ctx, id, rec.Requester) // another person will decide or review
	}
	reserved, err := s.ledger.Reserve(ctx, rec, actor)
	var conflict *ledger.ConflictError
	var dup *ledger.DuplicateError
	switch {
	case errors.As(err, &conflict):
		s.log.InfoContext(ctx, "request rejected: accounts held by another window", "requestId", id)
		if reserved.Status == ledger.Rejected { // the reservation lost a race and recorded it
			s.announce(ctx, reserved)
		}
		return reserved, conflictProblems(req, conflict), nil
	case errors.As(err, &dup):
		probs.Add("requestId", "%s", dup.Error())
		return rec, probs, nil
	case err != nil:
		s.logError(ctx, "reserve", id, err)
		return rec, nil, retryLater(err)
	}
	s.log.InfoContext(ctx, "request accepted", "requestId", id, "accounts", len(reserved.AccountIDs),
		"hours", reserved.Hours, "startAt", FormatTime(reserved.StartAt), "channel", origin.Channel)
	return reserved, nil, nil
}

// SameAsked reports whether req asks for the window rec records: the same requester, accounts,
// hours and reason, and the same start when req names one. A request ID (an execution name, an
// Idempotency-Key) names one request; a second use of it must ask for the same.
func SameAsked(rec ledger.Record, req request.Request) bool {
	asked := ledger.Record{Fields: req.Fields}
	if !req.StartGiven {
		asked.StartAt = time.Time{}
	}
	return rec.SameRequest(asked)
}

// Reject records a request refused with probs (unless a reservation that lost a race recorded it
// already) and announces it.
func (s *Service) Reject(ctx context.Context, rec ledger.Record, probs request.Problems, actor string) (ledger.Record, error) {
	id := rec.RequestID
	if rec.Status != ledger.Rejected {
		rec.Problems = probs.Strings()
		var err error
		if rec, err = s.ledger.RecordRejection(ctx, rec, actor); err != nil {
			s.logError(ctx, "record rejection", id, err)
			return rec, retryLater(err)
		}
	}
	s.log.InfoContext(ctx, "request rejected", "requestId", id, "problems", len(probs))
	s.announce(ctx, rec)
	return rec, nil
}

// Withdraw takes back a reservation that will never open (its workflow could not start, or its
// execution is gone before the start): the request becomes FAILED with why, its leases are
// released and the failure announced. The leases are released only once the request is FAILED: a
// request that moved meanwhile (it began to open, say) keeps them.
func (s *Service) Withdraw(ctx context.Context, rec ledger.Record, actor, why string, c ledger.Change) (ledger.Record, error) {
	failed, err := s.ledger.Transition(ctx, rec.RequestID, ledger.Failed, actor, why, c)
	if err != nil {
		return failed, err
	}
	if err := s.ledger.Release(context.WithoutCancel(ctx), rec.RequestID, rec.AccountIDs); err != nil {
		return failed, err
	}
	s.announce(ctx, failed)
	return failed, nil
}

// authorize checks the requester, the other windows and the organization, and lists every
// problem by field. An error means a check could not be made.
func (s *Service) authorize(ctx context.Context, req request.Request) (request.Problems, string, map[string]guardrail.Report, error) {
	var probs request.Problems
	az := s.config.Authz()
	if !az.IsAdmin(req.Requester) {
		// Someone who may not ask learns nothing about the accounts or the organization.
		probs.AddKind(request.Forbidden, "requester", "%q is not an administrator: only principals matching the configured adminPrincipals may ask for a window", req.Requester)
		return probs, "", nil, nil
	}
	leases, err := s.ledger.Leases(ctx, req.AccountIDs)
	if err != nil {
		return nil, "", nil, err
	}
	var free []string
	for _, id := range req.AccountIDs {
		if l, held := leases[id]; held {
			probs.AddKind(request.Conflict, req.Field(id), "%s", ledger.Conflict{AccountID: id, RequestID: l.RequestID, Until: l.Until}.String())
		} else {
			free = append(free, id)
		}
	}
	if len(free) == 0 {
		return sortByField(probs), "", nil, nil
	}
	more, strategy, reports, err := s.checkAccounts(ctx, req, free, "")
	if err != nil {
		return nil, "", nil, err
	}
	return sortByField(append(probs, more...)), strategy, reports, nil
}

// checkAccounts asks Organizations about accounts and checks that the guardrail can be lifted
// from each by the named strategy (chosen here when "": chooseStrategy) and that the requester
// owns each. It returns the strategy's name and what Organizations said of each account.
func (s *Service) checkAccounts(ctx context.Context, req request.Request, accounts []string, strategy string) (request.Problems, string, map[string]guardrail.Report, error) {
	var probs request.Problems
	reports, err := s.guardrail.Inspect(ctx, accounts)
	if err != nil {
		return nil, "", nil, err
	}
	if strategy == "" {
		strategy = s.chooseStrategy(reports, accounts)
	}
	lifter := s.strategyNamed(strategy)
	az := s.config.Authz()
	tagKey := az.OwnerTag()
	lookup := s.guardrail.Owners(tagKey)
	member := s.groupMembership(req.Requester)
	for _, id := range accounts {
		r := reports[id]
		if msg := lifter.problem(r); msg != "" {
			probs.Add(req.Field(id), "%s %s", id, msg)
			continue
		}
		// The account's own owner tag, else its nearest OU's (or the root's).
		owners, from, tagged, err := lookup.Of(ctx, id, r.Tags, r.Parents)
		if err != nil {
			return nil, "", nil, err
		}
		where := "its"
		if from != id {
			where = from + "'s"
		}
		if !tagged {
			probs.AddKind(request.Forbidden, req.Field(id), "%s has no %q tag, nor has any OU above it, so nobody owns it for rootwindow: tag the account (or its OU) with its owners first", id, tagKey)
			continue
		}
		if az.Owns(req.Requester, owners) {
			continue
		}
		groups := authz.OwnerGroups(owners)
		in, why, err := member(ctx, groups)
		if err != nil {
			return nil, "", nil, err
		}
		if !in {
			probs.AddKind(request.Forbidden, req.Field(id), "%q is not an owner of %s (not listed in %s %q tag%s)", req.Requester, id, where, tagKey, why)
		}
	}
	return probs, strategy, reports, nil
}

// groupMembership answers, for one check, whether requester is a member of any of the groups
// given (asking the identity store once per set of groups), or why not when the groups could not
// make it an owner.
func (s *Service) groupMembership(requester string) func(context.Context, []string) (bool, string, error) {
	user := authz.IdentityCenterUser(requester)
	known := map[string]bool{}
	return func(ctx context.Context, groups []string) (bool, string, error) {
		switch {
		case len(groups) == 0:
			return false, "", nil
		case s.groups == nil:
			return false, ", whose groups only count where identityStoreId is set", nil
		case user == "":
			return false, ", whose groups have only IAM Identity Center users as members", nil
		}
		var ask []string
		for _, g := range groups {
			if in, ok := known[g]; ok {
				if in {
					return true, "", nil
				}
				continue
			}
			ask = append(ask, g)
		}
		if len(ask) > 0 {
			in, err := s.groups.MemberOf(ctx, user, ask)
			if err != nil {
				return false, "", fmt.Errorf("ask the identity store whether %s is in group %s: %w", user, strings.Join(ask, ", "), err)
			}
			for _, g := range ask {
				known[g] = slices.Contains(in, g)
			}
			if slices.ContainsFunc(ask, func(g string) bool { return known[g] }) {
				return true, "", nil
			}
		}
		return false, ", nor a member of a group it names", nil
	}
}

// recheck makes the booking's checks again for a request about to open: the requester is still an
// administrator, still owns every account, and the guardrail can still be lifted from each. A
// booking can be made a week ahead; an owner removed since must not get the window.
func (s *Service) recheck(ctx context.Context, rec ledger.Record) (request.Problems, error) {
	req := request.Request{Fields: request.Fields{Requester: rec.Requester, AccountIDs: rec.AccountIDs}}
	if !s.config.Authz().IsAdmin(rec.Requester) {
		var probs request.Problems
		probs.AddKind(request.Forbidden, "requester", "%q is no longer an administrator", rec.Requester)
		return probs, nil
	}
	probs, _, _, err := s.checkAccounts(ctx, req, rec.AccountIDs, s.strategyOf(rec).name())
	return sortByField(probs), err
}

func conflictProblems(req request.Request, c *ledger.ConflictError) request.Problems {
	var probs request.Problems
	for _, cf := range c.Conflicts {
		probs.AddKind(request.Conflict, req.Field(cf.AccountID), "%s", cf.String())
	}
	return sortByField(probs)
}

// sortByField orders problems as the requester wrote the fields: requester first, then accounts
// in submitted order.
func sortByField(p request.Problems) request.Problems {
	sort.SliceStable(p, func(i, j int) bool { return fieldOrder(p[i].Field) < fieldOrder(p[j].Field) })
	return p
}

func fieldOrder(field string) int {
	var i int
	if _, err := fmt.Sscanf(field, "accountIds[%d]", &i); err == nil {
		return i + 1
	}
	return 0
}

// betterWithAssumeRoot refuses a window for a task that centralized root access performs, where
// it is enabled and the requester gave no reason to lift the guardrail instead: the answer is the
// sts:AssumeRoot command for each account, a 15-minute session scoped to the task.
func (s *Service) betterWithAssumeRoot(req request.Request) request.Problems {
	var probs request.Problems
	task, ok := request.TaskNamed(req.Task)
	if !ok || task.TaskPolicy == "" || !s.config.CentralizedRoot || req.WhyNotAssumeRoot != "" || !s.config.Authz().IsAdmin(req.Requester) {
		return nil // someone who may not ask is told so first, and learns nothing of the accounts
	}
	for _, a := range req.AccountIDs {
		probs.AddKind(request.Conflict, "task", "%s needs no window on %s: centralized root access does it in a 15-minute session scoped to the task, from the management account: %s (if that will not do, say why in whyNotAssumeRoot)",
			task.Name, a, task.AssumeRootCommand(a, s.config.AssumeRootRegion()))
	}
	return probs
}
