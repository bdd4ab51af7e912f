package contract

import "strings"

// The errors a task returns to Step Functions. aws-lambda-go reports a returned error's type name
// as the errorType, which is what Retry and Catch match, so these types' names are part of the
// state machine's contract (see ErrorNames) and must be returned unwrapped.

// RequestRejected: the request is invalid, unauthorized or conflicts with another window. Its
// message lists every problem, one "field: message" per line. Never retried.
type RequestRejected struct{ Problems []string }

func (e *RequestRejected) Error() string {
	return "request rejected:\n" + strings.Join(e.Problems, "\n")
}

// Throttled: Organizations kept throttling or failing transiently; retry later.
type Throttled struct{ Msg string }

func (e *Throttled) Error() string { return e.Msg }

// Unavailable: a dependency (the ledger) failed; retry later.
type Unavailable struct{ Msg string }

func (e *Unavailable) Error() string { return e.Msg }

// DetachFailed: lifting the guardrail failed for a reason retrying will not fix; whatever was
// lifted has been put back.
type DetachFailed struct{ Msg string }

func (e *DetachFailed) Error() string { return e.Msg }

// RestoreFailed: the guardrail may be missing from an account. The one failure that matters
// most; the state machine retries it for hours and then raises the alarm.
type RestoreFailed struct{ Msg string }

func (e *RestoreFailed) Error() string { return e.Msg }

// InvalidState: the request is not in a status this step can act on (a person ended or
// cancelled it, say).
type InvalidState struct {
	Msg string
	Err error
}

func (e *InvalidState) Error() string { return e.Msg }

func (e *InvalidState) Unwrap() error { return e.Err }

// RequesterUnknown: who started the execution is not in CloudTrail's event history yet; retry
// later. When retries run out, the request is refused (nothing was reserved).
type RequesterUnknown struct{ Msg string }

func (e *RequesterUnknown) Error() string { return e.Msg }

// AwaitingConfirmation: the request waits for its named requester to confirm it through the
// authenticated API (eventConfirmationMinutes); retry later. Nothing is lifted before; when the
// time to confirm runs out, the request is refused and its reservation released.
type AwaitingConfirmation struct{ Msg string }

func (e *AwaitingConfirmation) Error() string { return e.Msg }

// NotBound: a step was invoked for an execution it cannot bind itself to (not a running execution
// of rootwindow's state machine named for the request, with that input): nothing was done.
type NotBound struct{ Msg string }

func (e *NotBound) Error() string { return "not acted on: " + e.Msg }

// Error names as Step Functions sees them.
const (
	ErrRequestRejected  = "RequestRejected"
	ErrThrottled        = "Throttled"
	ErrUnavailable      = "Unavailable"
	ErrDetachFailed     = "DetachFailed"
	ErrRestoreFailed    = "RestoreFailed"
	ErrInvalidState     = "InvalidState"
	ErrRequesterUnknown = "RequesterUnknown"
	ErrAwaitingConfirm  = "AwaitingConfirmation"
	ErrNotBound         = "NotBound"
	// ErrApprovalDenied is the error an approver's denial sends to the waiting execution
	// (SendTaskFailure); ErrTimeout is Step Functions' own when nobody decides in time.
	ErrApprovalDenied = "ApprovalDenied"
	ErrTimeout        = "States.Timeout"
	// ErrEndedEarly is the error an early end stops the window's execution with (StopExecution).
	ErrEndedEarly = "rootwindow.EndedEarly"
)

// ErrorNames maps each error type to the name Step Functions matches; a test keeps it honest.
var ErrorNames = map[string]error{
	ErrRequestRejected:  &RequestRejected{},
	ErrThrottled:        &Throttled{},
	ErrUnavailable:      &Unavailable{},
	ErrDetachFailed:     &DetachFailed{},
	ErrRestoreFailed:    &RestoreFailed{},
	ErrInvalidState:     &InvalidState{},
	ErrRequesterUnknown: &RequesterUnknown{},
	ErrAwaitingConfirm:  &AwaitingConfirmation{},
	ErrNotBound:         &NotBound{},
}
