package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/rootwindow/rootwindow/pkg/authz"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/request"
)

var channels = map[string]bool{ledger.ChannelStepFunctions: true, ledger.ChannelEventBridge: true, ledger.ChannelAPI: true}

// Validate checks a request against the contract, the administrators, the owners, the other
// windows and the organization; reserves its accounts; and returns the window to hold. A request
// that fails any check is recorded as REJECTED and returned as *RequestRejected listing every
// problem. Running it again for the same execution returns the same answer; a second execution
// for an EventBridge event already handled returns a Window naming the request that handled it.
func (s *Steps) Validate(ctx context.Context, in ValidateInput) (Window, error) {
	id := in.Execution
	if err := ledger.ValidRequestID(id); err != nil {
		return Window{}, &RequestRejected{Problems: []string{"execution name: " + err.Error()}}
	}
	existing, err := s.Ledger.Get(ctx, id)
	switch {
	case err == nil:
		s.Log.InfoContext(ctx, "request already validated", "requestId", id, "status", existing.Status)
		s.Announce(ctx, existing)
		return s.answerAgain(existing)
	case !errors.Is(err, ledger.ErrNotFound):
		s.logError(ctx, "read ledger", id, err)
		return Window{}, retryLater(err)
	}

	req, origin, probs := s.parse(in.Input)
	if origin.EventID != "" {
		holder, err := s.Ledger.ClaimEvent(ctx, origin.EventID, id)
		if err != nil {
			s.logError(ctx, "claim event", id, err)
			return Window{}, retryLater(err)
		}
		if holder != id {
			s.Log.InfoContext(ctx, "duplicate delivery of an event; nothing to do", "requestId", id, "eventId", origin.EventID, "handledAs", holder)
			return Window{RequestID: id, DuplicateOf: holder}, nil
		}
	}
	rec, probs, err := s.Admit(ctx, id, req, origin, probs, actorValidate)
	if err != nil {
		return Window{}, err
	}
	if len(probs) > 0 {
		if rec.Status != ledger.Rejected { // not already recorded by a reservation that lost a race
			rec.Problems = probs.Strings()
			if rec, err = s.Ledger.RecordRejection(ctx, rec, actorValidate); err != nil {
				s.logError(ctx, "record rejection", id, err)
				return Window{}, retryLater(err)
			}
		}
		s.Log.InfoContext(ctx, "request rejected", "requestId", id, "problems", len(probs))
		s.Announce(ctx, rec)
		return Window{}, &RequestRejected{Problems: probs.Strings()}
	}
	s.Announce(ctx, rec)
	return s.window(rec), nil
}

// Admit checks a parsed request, given the problems parsing found, and if there are none reserves
// its accounts under request ID id as actor. It returns the SCHEDULED record; or the request's
// record and every problem found, each of its kind (the record is REJECTED only when the
// reservation lost a race and recorded that); or a named error when a check could not be made.
func (s *Steps) Admit(ctx context.Context, id string, req request.Request, origin ledger.Origin, probs request.Problems, actor string) (ledger.Record, request.Problems, error) {
	rec := ledger.Record{
		RequestID: id, Requester: req.Requester, Reason: req.Reason, AccountIDs: req.AccountIDs,
		Hours: req.Hours, StartAt: req.StartAt, Origin: origin,
	}
	if len(probs) == 0 {
		var err error
		if probs, err = s.authorize(ctx, req); err != nil {
			s.logError(ctx, "check the organization", id, err)
			return rec, nil, retryLater(err)
		}
	}
	if len(probs) > 0 {
		return rec, probs, nil
	}
	reserved, err := s.Ledger.Reserve(ctx, rec, actor)
	var conflict *ledger.ConflictError
	var dup *ledger.DuplicateError
	switch {
	case errors.As(err, &conflict):
		s.Log.InfoContext(ctx, "request rejected: accounts held by another window", "requestId", id)
		return reserved, conflictProblems(req, conflict), nil
	case errors.As(err, &dup):
		probs.Add("requestId", "%s", dup.Error())
		return rec, probs, nil
	case err != nil:
		s.logError(ctx, "reserve", id, err)
		return rec, nil, retryLater(err)
	}
	s.Log.InfoContext(ctx, "request accepted", "requestId", id, "accounts", len(reserved.AccountIDs),
		"hours", reserved.Hours, "startAt", formatTime(reserved.StartAt), "channel", origin.Channel)
	return reserved, nil, nil
}

func (s *Steps) window(rec ledger.Record) Window {
	return Window{
		RequestID: rec.RequestID, AccountIDs: rec.AccountIDs, Hours: rec.Hours,
		StartAt: formatTime(rec.StartAt), StartsLater: rec.StartAt.After(s.now()),
	}
}

// answerAgain repeats the answer Validate gave when it first saw this request.
func (s *Steps) answerAgain(rec ledger.Record) (Window, error) {
	if rec.Status != ledger.Rejected {
		return s.window(rec), nil
	}
	probs := rec.Problems
	if len(probs) == 0 && len(rec.History) > 0 {
		probs = []string{rec.History[len(rec.History)-1].Note}
	}
	return Window{}, &RequestRejected{Problems: probs}
}

// parse reads the envelope strictly and the request under the contract.
func (s *Steps) parse(input json.RawMessage) (request.Request, ledger.Origin, request.Problems) {
	var probs request.Problems
	origin := ledger.Origin{Channel: ledger.ChannelStepFunctions}
	dec := json.NewDecoder(bytes.NewReader(input))
	dec.DisallowUnknownFields()
	var env Envelope
	if err := dec.Decode(&env); err != nil {
		probs.Add("input", "must be {\"request\": {...}} with an optional \"origin\"; %s", describeJSONError(err))
		return request.Request{}, origin, probs
	}
	if env.Origin != nil {
		origin = *env.Origin
		if !channels[origin.Channel] {
			probs.Add("origin.channel", "must be one of api, eventbridge, stepfunctions, got %q", origin.Channel)
		}
		if origin.EventID != "" && ledger.ValidRequestID(origin.EventID) != nil {
			probs.Add("origin.eventId", "%q is not an event ID", origin.EventID)
			origin.EventID = ""
		}
	}
	if len(env.Request) == 0 || string(env.Request) == "null" {
		probs.Add("request", "is required: the execution input must be {\"request\": {...}}")
		return request.Request{}, origin, probs
	}
	req, err := request.Parse(env.Request, s.Config.RequestPolicy(s.now()))
	var rp *request.Problems
	if errors.As(err, &rp) {
		probs = append(probs, *rp...)
	}
	return req, origin, probs
}

func describeJSONError(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return "it is not valid JSON"
	}
	return err.Error() // names the unknown field, e.g. `json: unknown field "requests"`
}

// authorize checks the requester, the other windows and the organization, and lists every
// problem by field. An error means a check could not be made.
func (s *Steps) authorize(ctx context.Context, req request.Request) (request.Problems, error) {
	var probs request.Problems
	az := s.Config.Authz()
	if !az.IsAdmin(req.Requester) {
		// Someone who may not ask learns nothing about the accounts or the organization.
		probs.AddKind(request.Forbidden, "requester", "%q is not an administrator: only principals matching the configured adminPrincipals may ask for a window", req.Requester)
		return probs, nil
	}
	leases, err := s.Ledger.Leases(ctx, req.AccountIDs)
	if err != nil {
		return nil, err
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
		return sortByField(probs), nil
	}
	reports, err := s.Guardrail.Inspect(ctx, free)
	if err != nil {
		return nil, err
	}
	tagKey := az.OwnerTag()
	for _, id := range free {
		r := reports[id]
		if msg := r.Problem(s.Guardrail.PolicyID()); msg != "" {
			probs.Add(req.Field(id), "%s %s", id, msg)
			continue
		}
		owners, tagged := r.Tags[tagKey]
		switch {
		case !tagged:
			probs.AddKind(request.Forbidden, req.Field(id), "%s has no %q tag, so nobody owns it for rootwindow: tag the account with its owners first", id, tagKey)
		case !authz.Owns(req.Requester, owners):
			probs.AddKind(request.Forbidden, req.Field(id), "%q is not an owner of %s (not listed in its %q tag)", req.Requester, id, tagKey)
		}
	}
	return sortByField(probs), nil
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
