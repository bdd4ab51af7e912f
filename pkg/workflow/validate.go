package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/identity"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/request"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// Validate checks a request against the contract, the administrators, the owners, the other
// windows and the organization; reserves its accounts; and returns the window to hold. A request
// that fails any check is recorded as REJECTED and returned as *RequestRejected listing every
// problem. Running it again for the same execution returns the same answer; a second execution
// for an EventBridge event already handled returns a Window naming the request that handled it.
func (s *Steps) Validate(ctx context.Context, in contract.ValidateInput) (contract.Window, error) {
	id := in.Execution
	if err := ledger.ValidRequestID(id); err != nil {
		return contract.Window{}, &contract.RequestRejected{Problems: []string{"execution name: " + err.Error()}}
	}
	// The execution that invoked this step, running now, with this input: nothing else is acted on.
	input := in.Input
	if in.ApprovalToken != "" {
		input = nil // the "Wait for approval" state passes the token, not the input
	}
	started, err := s.Bind(ctx, in.ExecutionARN, id, input)
	if err != nil {
		return contract.Window{}, err
	}
	if input != nil {
		in.Input = started // as it was started, read strictly (a repeated key is refused)
	}
	if in.ApprovalToken != "" {
		// The "Wait for approval" state: Step Functions ignores this answer and waits for the
		// decision sent with its token.
		return contract.Window{RequestID: id}, s.AwaitApproval(ctx, id, in.ApprovalToken)
	}
	existing, err := s.Get(ctx, id)
	switch {
	case err == nil:
		if probs := s.sameAsExisting(existing, in.Input); len(probs) > 0 && existing.Status != ledger.Rejected {
			s.Logger().WarnContext(ctx, "execution name already names another request; nothing done", "requestId", id)
			return contract.Window{}, &contract.RequestRejected{Problems: probs.Strings()}
		}
		s.Logger().InfoContext(ctx, "request already validated", "requestId", id, "status", existing.Status)
		_ = s.Launch(ctx, existing, window.ActorValidate, nil) // its workflow runs: this step
		return s.answerAgain(ctx, existing, claimsEventBridge(in.Input))
	case !errors.Is(err, ledger.ErrNotFound):
		s.Logger().ErrorContext(ctx, "read ledger", "requestId", id, "error", err.Error())
		return contract.Window{}, &contract.Unavailable{Msg: err.Error()}
	}

	starter, err := s.whoStarted(ctx, in)
	if err != nil {
		return contract.Window{}, err
	}
	if door := s.door(starter); door != contract.ChannelAPI && strings.HasPrefix(id, contract.APIRequestPrefix) {
		// Refused before anything is recorded: a record under the name would answer the API
		// caller whose Idempotency-Key makes it.
		return contract.Window{}, &contract.RequestRejected{Problems: []string{fmt.Sprintf(
			"execution name: names starting with %q are the API's request IDs: start a new execution with another name (nothing was done)", contract.APIRequestPrefix)}}
	}
	req, origin, probs := s.parse(in.Input, s.door(starter), starter)
	if origin.EventID != "" {
		holder, err := s.ClaimEvent(ctx, origin.EventID, id)
		if err != nil {
			return contract.Window{}, err
		}
		if holder != id {
			s.Logger().InfoContext(ctx, "duplicate delivery of an event; nothing to do", "requestId", id, "eventId", origin.EventID, "handledAs", holder)
			return contract.Window{RequestID: id, DuplicateOf: holder}, nil
		}
	}
	rec, probs, err := s.Admit(ctx, id, in.ExecutionARN, req, origin, probs, window.ActorValidate)
	if err != nil {
		return contract.Window{}, err
	}
	if len(probs) > 0 {
		if _, err := s.Reject(ctx, rec, probs, window.ActorValidate); err != nil {
			return contract.Window{}, err
		}
		return contract.Window{}, &contract.RequestRejected{Problems: probs.Strings()}
	}
	_ = s.Launch(ctx, rec, window.ActorValidate, nil) // its workflow runs: this step
	if err := s.Confirmed(ctx, rec, origin.Channel == contract.ChannelEventBridge); err != nil {
		return contract.Window{}, err
	}
	return s.window(rec), nil
}

func (s *Steps) window(rec ledger.Record) contract.Window {
	return contract.Window{
		RequestID: rec.RequestID, AccountIDs: rec.AccountIDs, Hours: rec.Hours,
		StartAt: window.FormatTime(rec.StartAt), StartsLater: rec.StartAt.After(s.Now()),
		ConfirmedBy: rec.ConfirmedBy, NeedsApproval: !rec.ApproveBy.IsZero(),
		Approval: contract.Approval{ApprovedBy: rec.ApprovedBy, ApprovedAt: window.FormatTime(rec.ApprovedAt)},
	}
}

// claimsEventBridge reports whether an execution's input says it came through EventBridge: then
// a confirmation is due when configured, whatever the ledger's record says.
func claimsEventBridge(input json.RawMessage) bool {
	env, bad := envelopeOf(input)
	return len(bad) == 0 && env.Origin != nil && env.Origin.Channel == contract.ChannelEventBridge
}

// sameAsExisting checks that an execution whose name is already a request's ID asks for that
// request (a retry of Validate, or the API's own execution): an execution named after another
// request must not run it. The input is read as of the request's validation, so that a start
// that was "now" then is not refused as past.
func (s *Steps) sameAsExisting(existing ledger.Record, input json.RawMessage) request.Problems {
	var probs request.Problems
	if env, bad := envelopeOf(input); len(bad) == 0 && len(env.Request) > 0 {
		req, err := request.Parse(env.Request, s.Settings().RequestPolicy(existing.CreatedAt))
		if err == nil && window.SameAsked(existing, req) {
			return nil
		}
	}
	probs.Add("execution name", "%q is already request %s, which asked for something else: start a new execution with a new name (nothing was done)", existing.RequestID, existing.RequestID)
	return probs
}

// answerAgain repeats the answer Validate gave when it first saw this request, or, for a request
// that waits for its requester's confirmation, says whether it has it now.
func (s *Steps) answerAgain(ctx context.Context, rec ledger.Record, viaEventBridge bool) (contract.Window, error) {
	if rec.Status != ledger.Rejected {
		if err := s.Confirmed(ctx, rec, viaEventBridge); err != nil {
			return contract.Window{}, err
		}
		return s.window(rec), nil
	}
	probs := rec.Problems
	if len(probs) == 0 && len(rec.History) > 0 {
		probs = []string{rec.History[len(rec.History)-1].Note}
	}
	return contract.Window{}, &contract.RequestRejected{Problems: probs}
}

// whoStarted finds who started the execution (Service.WhoStarted), once the state machine passed
// its ARN and start time.
func (s *Steps) whoStarted(ctx context.Context, in contract.ValidateInput) (identity.Starter, error) {
	startedAt, err := time.Parse(time.RFC3339, in.StartedAt)
	if in.ExecutionARN == "" || err != nil {
		// A state machine that does not pass the execution's context: nobody can be trusted.
		return identity.Starter{}, &contract.RequestRejected{Problems: []string{"execution: the state machine did not pass the execution's ARN and start time, so who started it cannot be established: redeploy rootwindow (nothing was done)"}}
	}
	return s.WhoStarted(ctx, in.Execution, in.ExecutionARN, startedAt)
}

// door tells by who started an execution which door the request came through: the request rule's
// role for EventBridge, the api function's role for the API, anyone else the console.
func (s *Steps) door(starter identity.Starter) string {
	switch {
	case starter.RoleARN != "" && starter.RoleARN == s.Settings().EventsRoleARN:
		return contract.ChannelEventBridge
	case starter.RoleARN != "" && starter.RoleARN == s.Settings().APIRoleARN:
		return contract.ChannelAPI
	}
	return contract.ChannelStepFunctions
}

// parse reads the envelope strictly and the request under the contract, for the door it came
// through. The origin is rootwindow's own finding: taken from the input only where rootwindow's
// request rule wrote it (EventBridge); a console request's requester is whoever started the
// execution, and a requester it names is a claim that must match.
func (s *Steps) parse(input json.RawMessage, door string, starter identity.Starter) (request.Request, contract.Origin, request.Problems) {
	var probs request.Problems
	origin := contract.Origin{Channel: door, Caller: starter.ARN}
	env, bad := envelopeOf(input)
	if len(bad) > 0 {
		for _, b := range bad {
			probs.Add("input", "must be {\"request\": {...}} with an optional \"origin\": %s", b)
		}
		return request.Request{}, origin, probs
	}
	policy := s.Settings().RequestPolicy(s.Now())
	switch door {
	case contract.ChannelEventBridge:
		if env.Origin == nil || env.Origin.Channel != contract.ChannelEventBridge {
			probs.Add("origin", "must be the request rule's {\"channel\": \"eventbridge\", \"eventId\": ..., \"sourceAccount\": ...}")
		} else {
			origin = contract.Origin{Channel: door, EventID: env.Origin.EventID, SourceAccount: env.Origin.SourceAccount,
				AssertedBy: s.Settings().IntegrationsIn(env.Origin.SourceAccount)}
			if len(origin.AssertedBy) == 0 {
				// The bus admits only the configured integrations; an event from elsewhere means
				// the bus policy is not what rootwindow deployed.
				probs.AddKind(request.Forbidden, "origin.sourceAccount", "%q has no integration configured in eventIntegrations: only those principals may put requests", env.Origin.SourceAccount)
			}
		}
		if origin.EventID != "" && ledger.ValidRequestID(origin.EventID) != nil {
			probs.Add("origin.eventId", "%q is not an event ID", origin.EventID)
			origin.EventID = ""
		}
	case contract.ChannelAPI:
		probs.Add("execution", "was started by rootwindow's API, but its request is not in the ledger: nothing to run")
		return request.Request{}, origin, probs
	default:
		policy.AuthenticatedCaller = starter.ARN
	}
	if len(env.Request) == 0 || string(env.Request) == "null" {
		probs.Add("request", "is required: the execution input must be {\"request\": {...}}")
		return request.Request{}, origin, probs
	}
	req, err := request.Parse(env.Request, policy)
	var rp *request.Problems
	if errors.As(err, &rp) {
		probs = append(probs, *rp...)
		// A rejection is recorded with what was asked, as far as it can be read safely.
		req = request.Asked(env.Request)
		if policy.AuthenticatedCaller != "" {
			req.Requester = policy.AuthenticatedCaller
		}
	}
	return req, origin, probs
}

// envelopeOf reads an execution's input as strictly as the API reads a body: exact keys, each
// once (request.StrictObject), at the top and in the origin, whose values must be strings. The
// console's origin is never read, only checked for shape.
func envelopeOf(input json.RawMessage) (contract.Envelope, []string) {
	top, bad := request.StrictObject(input, "request", "origin")
	if len(bad) > 0 {
		return contract.Envelope{}, bad
	}
	env := contract.Envelope{Request: top["request"]}
	raw, ok := top["origin"]
	if !ok || string(bytes.TrimSpace(raw)) == "null" {
		return env, nil
	}
	fields, bad := request.StrictObject(raw, "channel", "eventId", "sourceAccount", "caller")
	for _, k := range []string{"channel", "eventId", "sourceAccount", "caller"} {
		if v, ok := fields[k]; ok && !isString(v) {
			bad = append(bad, fmt.Sprintf("origin.%s must be a string", k))
		}
	}
	if len(bad) > 0 {
		for i := range bad {
			bad[i] = "origin: " + bad[i]
		}
		return contract.Envelope{}, bad
	}
	var o contract.Origin
	for k, dst := range map[string]*string{"channel": &o.Channel, "eventId": &o.EventID, "sourceAccount": &o.SourceAccount, "caller": &o.Caller} {
		if v, ok := fields[k]; ok {
			_ = json.Unmarshal(v, dst)
		}
	}
	env.Origin = &o
	return env, nil
}

func isString(v json.RawMessage) bool {
	var s string
	t := bytes.TrimSpace(v)
	return len(t) > 0 && t[0] == '"' && json.Unmarshal(t, &s) == nil
}
