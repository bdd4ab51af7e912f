package api

import (
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rootwindow/rootwindow/pkg/authz"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/request"
)

// ErrorBody is every error answer's body.
type ErrorBody struct {
	Message       string           `json:"message"`
	Problems      request.Problems `json:"problems,omitempty"`
	CorrelationID string           `json:"correlationId"`
}

type response struct {
	status        int
	body          any
	headers       map[string]string
	location      string
	requestID     string // for the log
	CorrelationID string
}

func ok(status int, body any) response { return response{status: status, body: body} }

// okRecord answers with the record as caller may see it: what signing in as each account's root
// user takes (its root email, password, MFA and key state) only for the request's requester.
func okRecord(rec ledger.Record, caller string, az authz.Policy) response {
	view := View(rec)
	if !az.SamePerson(caller, rec.Requester) {
		view.SignIn = nil
	}
	res := ok(http.StatusOK, view)
	res.requestID = rec.RequestID
	return res
}

func fail(status int, msg string) response {
	return response{status: status, body: &ErrorBody{Message: msg}}
}

// invalid is a 400 listing every field error.
func invalid(p request.Problems) response {
	return withProblems(http.StatusBadRequest, "the request is not valid", p)
}

// rejected answers problems by their worst kind: anything invalid is 400, else anything
// forbidden 403, else a limit reached 429, else (accounts held by other windows, a guardrail not
// as pinned) 409. Every problem is listed.
func rejected(p request.Problems) response {
	switch {
	case p.Has(request.Invalid):
		return invalid(p)
	case p.Has(request.Forbidden):
		return withProblems(http.StatusForbidden, "the requester may not ask for this window", p)
	case p.Has(request.Limited):
		return withProblems(http.StatusTooManyRequests, "a limit on windows is reached; each problem names it and when it frees", p)
	}
	for _, pr := range p {
		switch pr.Field {
		case "guardrail":
			return withProblems(http.StatusConflict, "the guardrail cannot be lifted as it is now", p)
		case "task":
			return withProblems(http.StatusConflict, "centralized root access performs this task without a window: each problem gives the sts:AssumeRoot command (or say whyNotAssumeRoot)", p)
		}
	}
	return withProblems(http.StatusConflict, "an account already has an open or scheduled window", p)
}

func withProblems(status int, msg string, p request.Problems) response {
	return response{status: status, body: &ErrorBody{Message: msg, Problems: p}}
}

func (r response) proxy() events.APIGatewayProxyResponse {
	if e, isErr := r.body.(*ErrorBody); isErr {
		e.CorrelationID = r.CorrelationID
	}
	body, err := json.Marshal(r.body)
	if err != nil {
		r.status, body = http.StatusInternalServerError, []byte(`{"message":"internal error"}`)
	}
	headers := map[string]string{"Content-Type": "application/json", "X-Correlation-Id": r.CorrelationID}
	for k, v := range r.headers {
		headers[k] = v
	}
	if r.location != "" {
		headers["Location"] = r.location
	}
	return events.APIGatewayProxyResponse{StatusCode: r.status, Headers: headers, Body: string(body)}
}
