package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/request"
	"github.com/rootwindow/rootwindow/pkg/window"
)

var channels = map[string]bool{contract.ChannelStepFunctions: true, contract.ChannelEventBridge: true, contract.ChannelAPI: true}

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
	existing, err := s.Ledger.Get(ctx, id)
	switch {
	case err == nil:
		if probs := s.sameAsExisting(existing, in.Input); len(probs) > 0 && existing.Status != ledger.Rejected {
			s.Log.WarnContext(ctx, "execution name already names another request; nothing done", "requestId", id)
			return contract.Window{}, &contract.RequestRejected{Problems: probs.Strings()}
		}
		s.Log.InfoContext(ctx, "request already validated", "requestId", id, "status", existing.Status)
		s.Announce(ctx, existing)
		return s.answerAgain(existing)
	case !errors.Is(err, ledger.ErrNotFound):
		s.Log.ErrorContext(ctx, "read ledger", "requestId", id, "error", err.Error())
		return contract.Window{}, &contract.Unavailable{Msg: err.Error()}
	}

	req, origin, probs := s.parse(in.Input)
	if origin.EventID != "" {
		holder, err := s.Ledger.ClaimEvent(ctx, origin.EventID, id)
		if err != nil {
			s.Log.ErrorContext(ctx, "claim event", "requestId", id, "error", err.Error())
			return contract.Window{}, &contract.Unavailable{Msg: err.Error()}
		}
		if holder != id {
			s.Log.InfoContext(ctx, "duplicate delivery of an event; nothing to do", "requestId", id, "eventId", origin.EventID, "handledAs", holder)
			return contract.Window{RequestID: id, DuplicateOf: holder}, nil
		}
	}
	rec, probs, err := s.Admit(ctx, id, req, origin, probs, window.ActorValidate)
	if err != nil {
		return contract.Window{}, err
	}
	if len(probs) > 0 {
		if _, err := s.Reject(ctx, rec, probs, window.ActorValidate); err != nil {
			return contract.Window{}, err
		}
		return contract.Window{}, &contract.RequestRejected{Problems: probs.Strings()}
	}
	s.Announce(ctx, rec)
	return s.window(rec), nil
}

func (s *Steps) window(rec ledger.Record) contract.Window {
	return contract.Window{
		RequestID: rec.RequestID, AccountIDs: rec.AccountIDs, Hours: rec.Hours,
		StartAt: window.FormatTime(rec.StartAt), StartsLater: rec.StartAt.After(s.Now()),
	}
}

// sameAsExisting checks that an execution whose name is already a request's ID asks for that
// request (a retry of Validate, or the API's own execution): an execution named after another
// request must not run it. The input is read as of the request's validation, so that a start
// that was "now" then is not refused as past.
func (s *Steps) sameAsExisting(existing ledger.Record, input json.RawMessage) request.Problems {
	var env contract.Envelope
	var probs request.Problems
	if json.Unmarshal(input, &env) == nil && len(env.Request) > 0 {
		req, err := request.Parse(env.Request, s.Config.RequestPolicy(existing.CreatedAt))
		if err == nil && window.SameAsked(existing, req) {
			return nil
		}
	}
	probs.Add("execution name", "%q is already request %s, which asked for something else: start a new execution with a new name (nothing was done)", existing.RequestID, existing.RequestID)
	return probs
}

// answerAgain repeats the answer Validate gave when it first saw this request.
func (s *Steps) answerAgain(rec ledger.Record) (contract.Window, error) {
	if rec.Status != ledger.Rejected {
		return s.window(rec), nil
	}
	probs := rec.Problems
	if len(probs) == 0 && len(rec.History) > 0 {
		probs = []string{rec.History[len(rec.History)-1].Note}
	}
	return contract.Window{}, &contract.RequestRejected{Problems: probs}
}

// parse reads the envelope strictly and the request under the contract.
func (s *Steps) parse(input json.RawMessage) (request.Request, contract.Origin, request.Problems) {
	var probs request.Problems
	origin := contract.Origin{Channel: contract.ChannelStepFunctions}
	dec := json.NewDecoder(bytes.NewReader(input))
	dec.DisallowUnknownFields()
	var env contract.Envelope
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
	req, err := request.Parse(env.Request, s.Config.RequestPolicy(s.Now()))
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
