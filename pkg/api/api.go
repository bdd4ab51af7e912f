// Package api is rootwindow's REST API behind API Gateway with IAM (SigV4) authorization: ask for
// a window, read one or list them, end one early, cancel one before it starts. It validates with
// the same code as the workflow, answers in HTTP's terms (400 with every field error, 403, 404,
// 409, 422, 202), and never shows internal error text: a 5xx carries a correlation ID, and the
// detail goes to the log.
package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/request"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// StepFunctionsAPI is the Step Functions call the API makes.
type StepFunctionsAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// Handler serves the API's methods.
type Handler struct {
	windows      *window.Service
	sfn          StepFunctionsAPI
	stateMachine string
	log          *slog.Logger
}

// New returns the API over the window service, starting executions of stateMachineARN.
func New(windows *window.Service, sfnClient StepFunctionsAPI, stateMachineARN string) *Handler {
	return &Handler{windows: windows, sfn: sfnClient, stateMachine: stateMachineARN, log: windows.Logger()}
}

// Limits of the API's own inputs.
const (
	maxIdempotencyKey = 128
	defaultPageSize   = 25
	maxPageSize       = 100
	headerIdemKey     = "idempotency-key"
)

var idempotencyKeyPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// call is one API call being answered.
type call struct {
	events.APIGatewayProxyRequest
	caller string
	id     string // the correlation ID: API Gateway's request ID
}

// Handle answers one API Gateway (REST, proxy integration) call.
func (h *Handler) Handle(ctx context.Context, r events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	c := call{APIGatewayProxyRequest: r, caller: r.RequestContext.Identity.UserArn, id: r.RequestContext.RequestID}
	var res response
	switch {
	case c.caller == "":
		res = fail(http.StatusForbidden, "this API needs IAM (SigV4) authentication")
	default:
		res = h.route(ctx, c)
	}
	res.CorrelationID = c.id
	h.log.InfoContext(ctx, "api call", "method", r.HTTPMethod, "resource", r.Resource, "caller", c.caller,
		"status", res.status, "requestId", res.requestID, "correlationId", c.id)
	return res.proxy(), nil
}

func (h *Handler) route(ctx context.Context, c call) response {
	switch c.HTTPMethod + " " + c.Resource {
	case "POST /requests":
		return h.submit(ctx, c)
	case "GET /requests":
		return h.list(ctx, c)
	case "GET /requests/{id}":
		return h.get(ctx, c)
	case "POST /requests/{id}/end":
		return h.bodiless(ctx, c, h.windows.End)
	case "POST /requests/{id}/cancel":
		return h.bodiless(ctx, c, h.windows.Cancel)
	case "POST /requests/{id}/confirm":
		return h.bodiless(ctx, c, h.windows.Confirm)
	case "POST /subscriptions":
		return h.subscribe(ctx, c)
	case "POST /requests/{id}/approve":
		return h.decide(ctx, c, true)
	case "POST /requests/{id}/deny":
		return h.decide(ctx, c, false)
	case "POST /requests/{id}/review":
		return h.review(ctx, c)
	}
	return fail(http.StatusNotFound, fmt.Sprintf("no such method: %s %s", c.HTTPMethod, c.Resource))
}

// Accepted is the answer to an accepted request.
type Accepted struct {
	RequestID  string    `json:"requestId"`
	Status     string    `json:"status"`
	StatusURL  string    `json:"statusUrl"`
	AccountIDs []string  `json:"accountIds"`
	Hours      int       `json:"hours"`
	StartAt    time.Time `json:"startAt"`
	// BreakGlass: an emergency window, no approval; another administrator reviews it afterwards.
	BreakGlass bool `json:"breakGlass,omitempty"`
}

func (h *Handler) submit(ctx context.Context, c call) response {
	body, err := c.body()
	if err != nil {
		return fail(http.StatusBadRequest, err.Error())
	}
	if len(body) > request.MaxBodyBytes {
		return fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is %d bytes; at most %d are accepted", len(body), request.MaxBodyBytes))
	}
	key, several := c.headerValues(headerIdemKey)
	if several {
		return invalid(request.Problems{{Field: "Idempotency-Key", Message: "was sent more than once with different values; send it once"}})
	}
	if key != "" && !idempotencyKeyPattern.MatchString(key) {
		return invalid(request.Problems{{Field: "Idempotency-Key", Message: fmt.Sprintf("must be 1 to %d letters, digits, '.', '_', ':' or '-'", maxIdempotencyKey)}})
	}
	id := newRequestID(c.caller, key)
	if key != "" {
		// A retry under a key already used is answered as the first attempt was, however much
		// later: its body is read as of then (a start that was "now" is not "in the past").
		existing, err := h.windows.Get(ctx, id)
		switch {
		case err == nil:
			policy := h.windows.Settings().RequestPolicy(existing.CreatedAt)
			policy.AuthenticatedCaller = c.caller
			req, err := request.Parse(body, policy)
			if err != nil {
				req = request.Request{} // not the same request, whatever it is
			}
			return h.replay(ctx, c, existing, req)
		case !errors.Is(err, ledger.ErrNotFound):
			return h.internal(ctx, c, "read ledger", err)
		}
	}
	policy := h.windows.Settings().RequestPolicy(h.windows.Now())
	policy.AuthenticatedCaller = c.caller
	req, err := request.Parse(body, policy)
	var probs *request.Problems
	if errors.As(err, &probs) {
		return invalid(*probs)
	}
	executionARN := strings.Replace(h.stateMachine, ":stateMachine:", ":execution:", 1) + ":" + id
	admitCtx, cancel := admissionContext(ctx)
	defer cancel()
	rec, found, err := h.windows.Admit(admitCtx, id, executionARN, req, contract.Origin{Channel: contract.ChannelAPI, Caller: c.caller}, nil, window.ActorAPI)
	if err != nil {
		return h.internal(ctx, c, "admit", err)
	}
	if len(found) > 0 {
		return rejected(found)
	}
	return h.launch(ctx, c, rec, h.accepted(c, rec))
}

// answerReserve is what an admission leaves of the api function's time (its deadline, which
// Lambda puts on the context) for what follows it: starting the execution, or withdrawing the
// reservation when that fails, and answering. The function's timeout is API Gateway's
// integration timeout (29 seconds, "Amazon API Gateway quotas"), so an admission that ran on to
// the end would be a 504 while its work carried on, or stopped half-done; cut short here it is a
// 503 (try again) with nothing reserved. 50 accounts are admitted in about 10 s at Organizations'
// documented throttles (BENCHMARKS.md §7).
const answerReserve = 5 * time.Second

// admissionContext is ctx with its deadline (if any) brought answerReserve closer.
func admissionContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, d.Add(-answerReserve))
	}
	return ctx, func() {}
}

// startFailedAnswer is a failed start's answer, the same on every retry under its key.
const startFailedAnswer = "the workflow could not be started; nothing was reserved. Try again with a new Idempotency-Key"

// launch starts rec's execution and answers res; if it cannot, nothing is left half-done (the
// service withdraws the reservation) and the answer says so.
func (h *Handler) launch(ctx context.Context, c call, rec ledger.Record, res response) response {
	if err := h.windows.Launch(ctx, rec, window.ActorAPI, func(ctx context.Context) error { return h.start(ctx, rec) }); err != nil {
		h.log.ErrorContext(ctx, "start execution", "requestId", rec.RequestID, "error", err.Error(), "correlationId", c.id)
		return fail(http.StatusServiceUnavailable, startFailedAnswer)
	}
	return res
}

// replay answers a retry under an Idempotency-Key already used: the same request gets the same
// answer (and its execution is started if the first attempt stopped short); a different one is
// refused.
func (h *Handler) replay(ctx context.Context, c call, rec ledger.Record, req request.Request) response {
	if !window.SameAsked(rec, req) {
		return fail(http.StatusUnprocessableEntity, "this Idempotency-Key was used for a different request ("+rec.RequestID+"); use a new key for a new request")
	}
	switch {
	case window.NeverStarted(rec):
		// The first attempt's answer: the workflow never started and nothing was reserved.
		return fail(http.StatusServiceUnavailable, startFailedAnswer)
	case rec.Status == ledger.Rejected:
		// The first attempt lost a race for an account and was told so.
		var probs request.Problems
		for _, p := range rec.Problems {
			field, msg, _ := strings.Cut(p, ": ")
			probs.AddKind(request.Conflict, field, "%s", msg)
		}
		return rejected(probs)
	}
	res := h.accepted(c, rec)
	res.headers = map[string]string{"Idempotent-Replayed": "true"}
	if rec.Status == ledger.Scheduled {
		// The first attempt stopped between the reservation and the start.
		return h.launch(ctx, c, rec, res)
	}
	return res
}

func (h *Handler) accepted(c call, rec ledger.Record) response {
	url := "/requests/" + rec.RequestID
	if d := c.RequestContext.DomainName; d != "" {
		url = "https://" + d + "/" + c.RequestContext.Stage + url
	}
	res := ok(http.StatusAccepted, Accepted{
		RequestID: rec.RequestID, Status: string(rec.Status), StatusURL: url,
		AccountIDs: rec.AccountIDs, Hours: rec.Hours, StartAt: rec.StartAt, BreakGlass: rec.BreakGlass,
	})
	res.requestID = rec.RequestID
	res.location = url
	return res
}

// start starts the request's execution, named by its ID. Its input is built from the record
// alone, so a repeat is the same StartExecution, which Step Functions treats as a no-op.
func (h *Handler) start(ctx context.Context, rec ledger.Record) error {
	input, err := ExecutionInput(rec)
	if err != nil {
		return err
	}
	_, err = h.sfn.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(h.stateMachine), Name: aws.String(rec.RequestID), Input: aws.String(string(input)),
	})
	var exists *sfntypes.ExecutionAlreadyExists
	if errors.As(err, &exists) {
		return nil // started by an earlier attempt
	}
	return err
}

// ExecutionInput is the envelope the API starts an execution with: the request as recorded, every
// field the requester asked with (Validate asks the execution for the same).
func ExecutionInput(rec ledger.Record) ([]byte, error) {
	req, err := json.Marshal(rec.Fields)
	if err != nil {
		return nil, err
	}
	origin := rec.Origin
	return json.Marshal(contract.Envelope{Request: req, Origin: &origin})
}

// newRequestID names a request: from the caller and their Idempotency-Key, so that a retry names
// the same request, or at random.
func newRequestID(caller, key string) string {
	if key != "" {
		sum := sha256.Sum256([]byte(caller + "\n" + key))
		return contract.APIRequestPrefix + hex.EncodeToString(sum[:16])
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return contract.APIRequestPrefix + hex.EncodeToString(b[:])
}

func (h *Handler) get(ctx context.Context, c call) response {
	rec, res, ok := h.load(ctx, c)
	if !ok {
		return res
	}
	res = okRecord(rec, c.caller, h.windows.Settings().Authz())
	return res
}

// load reads the request named in the path, for a caller allowed to see it: its requester or an
// administrator.
func (h *Handler) load(ctx context.Context, c call) (ledger.Record, response, bool) {
	id := c.PathParameters["id"]
	if err := ledger.ValidRequestID(id); err != nil {
		return ledger.Record{}, invalid(request.Problems{{Field: "id", Message: err.Error()}}), false
	}
	rec, err := h.windows.Get(ctx, id)
	if err != nil && !errors.Is(err, ledger.ErrNotFound) {
		return rec, h.internal(ctx, c, "read ledger", err), false
	}
	// A request that does not exist and one the caller may not see answer alike: the answer
	// must not tell who asked for what.
	az := h.windows.Settings().Authz()
	if err != nil || (c.caller != rec.Requester && !az.IsAdmin(c.caller) && !(az.IsApprover(c.caller) && !rec.ApproveBy.IsZero())) {
		return rec, fail(http.StatusNotFound, "no request "+id+" that you may see (only its requester, administrators, and approvers of a request awaiting approval may)"), false
	}
	return rec, response{}, true
}

// decide approves or denies the request in the path, as a second administrator (never its
// requester: the window service refuses them), with an optional {"reason": "..."} body.
func (h *Handler) decide(ctx context.Context, c call, approve bool) response {
	return h.withText(ctx, c, func(body []byte) (string, error) { return request.ParseDecision(body, window.MaxDecisionWords) },
		func(ctx context.Context, id, caller, words string) (ledger.Record, error) {
			return h.windows.Decide(ctx, id, caller, approve, words)
		})
}

// review records another administrator's review of a break-glass request, with its
// {"note": "..."} body (required).
func (h *Handler) review(ctx context.Context, c call) response {
	return h.withText(ctx, c, func(body []byte) (string, error) { return request.ParseReview(body, window.MaxDecisionWords) }, h.windows.Review)
}

// withText acts on a call whose body is one line of text (read by parse: a bad body is 400 naming
// the field), as act does.
func (h *Handler) withText(ctx context.Context, c call, parse func([]byte) (string, error),
	do func(ctx context.Context, id, caller, text string) (ledger.Record, error)) response {
	body, err := c.body()
	if err != nil {
		return fail(http.StatusBadRequest, err.Error())
	}
	text, err := parse(body)
	var probs *request.Problems
	if errors.As(err, &probs) {
		return invalid(*probs)
	}
	return h.act(ctx, c, func(ctx context.Context, id, caller string) (ledger.Record, error) {
		return do(ctx, id, caller, text)
	})
}

// bodiless acts on a call that takes no body (end, cancel, confirm): none, or {}. Anything else is
// refused naming its keys, so that {"confirm": false} is not taken for a confirmation.
func (h *Handler) bodiless(ctx context.Context, c call, do func(context.Context, string, string) (ledger.Record, error)) response {
	body, err := c.body()
	if err != nil {
		return fail(http.StatusBadRequest, err.Error())
	}
	if len(bytes.TrimSpace(body)) > 0 {
		members, repeated, err := request.ObjectMembers(body)
		var probs request.Problems
		if err != nil {
			probs.Add("body", "%s: this call takes no body (send none, or {})", err)
		}
		for _, k := range slices.Sorted(maps.Keys(members)) {
			probs.Add(k, "is not a key here: this call takes no body (send none, or {})")
		}
		for _, k := range repeated {
			probs.Add(k, "appears more than once")
		}
		if len(probs) > 0 {
			return invalid(probs)
		}
	}
	return h.act(ctx, c, do)
}

// act ends, cancels, confirms or decides the request in the path (a confirmation only by its requester:
// the window service refuses anyone else).
func (h *Handler) act(ctx context.Context, c call, do func(context.Context, string, string) (ledger.Record, error)) response {
	rec, res, ok := h.load(ctx, c)
	if !ok {
		return res
	}
	rec, err := do(ctx, rec.RequestID, c.caller)
	var invalidState *contract.InvalidState
	var notRequester *window.NotRequesterError
	var unavailable *contract.Unavailable
	var throttled *contract.Throttled
	switch {
	case err == nil && rec.Status == ledger.Closing:
		// Ended early: the safety net puts the guardrail back as the execution stops.
		res = okRecord(rec, c.caller, h.windows.Settings().Authz())
		res.status = http.StatusAccepted
		return res
	case err == nil:
		return okRecord(rec, c.caller, h.windows.Settings().Authz())
	case errors.As(err, &notRequester):
		res = fail(http.StatusForbidden, notRequester.Msg)
	case errors.As(err, &invalidState):
		res = fail(http.StatusConflict, invalidState.Msg)
	case rec.Status == ledger.Closing && (errors.As(err, &unavailable) || errors.As(err, &throttled)):
		h.log.ErrorContext(ctx, "stop the execution of a window ended early", "requestId", rec.RequestID, "error", err.Error(), "correlationId", c.id)
		res = fail(http.StatusServiceUnavailable, "the window is closing, but its execution could not be stopped yet: ask again (the workflow restores the guardrail at the planned end in any case)")
	default:
		res = h.internal(ctx, c, "act on a request", err)
	}
	res.requestID = rec.RequestID
	return res
}

// Page is one page of a listing.
type Page struct {
	Requests  []Request `json:"requests"`
	NextToken string    `json:"nextToken,omitempty"`
}

func (h *Handler) list(ctx context.Context, c call) response {
	if !h.windows.Settings().Authz().IsAdmin(c.caller) {
		return fail(http.StatusForbidden, "only administrators may list requests")
	}
	q := c.QueryStringParameters
	var probs request.Problems
	var f ledger.Filter
	limit := defaultPageSize
	for k, v := range q {
		switch k {
		case "accountId":
			if len(v) != 12 || strings.Trim(v, "0123456789") != "" {
				probs.Add(k, "%s is not a 12-digit account ID", request.Quote(v))
			}
			f.AccountID = v
		case "status":
			if !ledger.Status(v).Known() {
				probs.Add(k, "%s is not a status (SCHEDULED, OPENING, OPEN, CLOSING, CLOSED, REJECTED, CANCELLED, FAILED)", request.Quote(v))
			}
			f.Status = ledger.Status(v)
		case "limit":
			if _, err := fmt.Sscanf(v, "%d", &limit); err != nil || limit < 1 || limit > maxPageSize || fmt.Sprint(limit) != v {
				probs.Add(k, "must be a whole number from 1 to %d, got %s", maxPageSize, request.Quote(v))
			}
		case "nextToken":
		default:
			probs.Add(request.Name(k), "is not a parameter (expected accountId, status, limit, nextToken)")
		}
	}
	if len(probs) > 0 {
		return invalid(probs)
	}
	recs, next, err := h.windows.List(ctx, f, limit, q["nextToken"])
	if errors.Is(err, ledger.ErrBadPageToken) {
		return invalid(request.Problems{{Field: "nextToken", Message: err.Error()}})
	}
	if err != nil {
		return h.internal(ctx, c, "list", err)
	}
	page := Page{Requests: make([]Request, len(recs)), NextToken: next}
	for i, rec := range recs {
		page.Requests[i] = View(rec)
	}
	return ok(http.StatusOK, page)
}

// internal answers a failure of ours or of a dependency: 503 when trying again may help, 500
// otherwise; the detail goes to the log only.
func (h *Handler) internal(ctx context.Context, c call, doing string, err error) response {
	h.log.ErrorContext(ctx, doing, "error", err.Error(), "correlationId", c.id)
	var throttled *contract.Throttled
	var unavailable *contract.Unavailable
	if errors.As(err, &throttled) || errors.As(err, &unavailable) {
		return fail(http.StatusServiceUnavailable, "a service rootwindow depends on is busy or unavailable; try again shortly")
	}
	return fail(http.StatusInternalServerError, "internal error; operators can find the detail by the correlation ID")
}

// headerValues is a header's value whatever the case of its name, and whether it came with more
// than one distinct value (repeated, or under names differing in case: API Gateway keeps the last
// of repeated headers in Headers and all of them in MultiValueHeaders).
func (c call) headerValues(name string) (string, bool) {
	var values []string
	for k, v := range c.Headers {
		if strings.EqualFold(k, name) {
			values = append(values, v)
		}
	}
	for k, vs := range c.MultiValueHeaders {
		if strings.EqualFold(k, name) {
			values = append(values, vs...)
		}
	}
	sort.Strings(values)
	values = slices.Compact(values)
	if len(values) == 0 {
		return "", false
	}
	return values[0], len(values) > 1
}

func (c call) body() ([]byte, error) {
	if !c.IsBase64Encoded {
		return []byte(c.Body), nil
	}
	b, err := base64.StdEncoding.DecodeString(c.Body)
	if err != nil {
		return nil, errors.New("the body is marked base64 but is not")
	}
	return b, nil
}
