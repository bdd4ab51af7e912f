package api

import (
	"strings"
	"time"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/request"
)

// Request is how the API shows a request (GET /requests/{id}, a listing's entries, the answer to
// end and cancel). It is a public contract of its own, pinned by events/api-responses/request.json,
// apart from the ledger's record: a field added to the ledger does not appear here unless it is
// added on purpose.
type Request struct {
	RequestID string `json:"requestId"`
	// What the requester asked for, every field of it (package request owns them).
	request.Fields
	Origin    contract.Origin `json:"origin"`
	Status    string          `json:"status"`
	CreatedAt time.Time       `json:"createdAt"`
	OpenedAt  time.Time       `json:"openedAt,omitzero"`
	RestoreAt time.Time       `json:"restoreAt,omitzero"`
	ClosedAt  time.Time       `json:"closedAt,omitzero"`
	Problems  []string        `json:"problems,omitempty"`
	// LastError says, in a classified message, what last went wrong; the error's own text (AWS
	// error messages, ARNs, internal detail) stays in the ledger and the logs for operators.
	LastError       string    `json:"lastError,omitempty"`
	RestoreFailedAt time.Time `json:"restoreFailedAt,omitzero"`
	// ConfirmBy is set on a request an integration asserted, which its requester must confirm
	// (POST /requests/{id}/confirm) by then; ConfirmedBy and ConfirmedAt once they have.
	ConfirmBy   time.Time `json:"confirmBy,omitzero"`
	ConfirmedBy string    `json:"confirmedBy,omitempty"`
	ConfirmedAt time.Time `json:"confirmedAt,omitzero"`
	// ApproveBy is set on a request that waits for a second administrator's approval
	// (POST /requests/{id}/approve or /deny) until then; ApprovedBy/At or DeniedBy/At once decided,
	// and Decision, the approver's words.
	ApproveBy  time.Time `json:"approveBy,omitzero"`
	ApprovedBy string    `json:"approvedBy,omitempty"`
	ApprovedAt time.Time `json:"approvedAt,omitzero"`
	DeniedBy   string    `json:"deniedBy,omitempty"`
	DeniedAt   time.Time `json:"deniedAt,omitzero"`
	Decision   string    `json:"decision,omitempty"`
	// ReviewedBy/At and ReviewNote: another administrator's review of a break-glass request
	// (POST /requests/{id}/review), which its alarm waits for.
	ReviewedBy string    `json:"reviewedBy,omitempty"`
	ReviewedAt time.Time `json:"reviewedAt,omitzero"`
	ReviewNote string    `json:"reviewNote,omitempty"`
	// SignIn says, per account, what signing in as its root user takes (centralized root access).
	SignIn []contract.SignIn `json:"signIn,omitempty"`
	// Report is what the window's root users did during it (CloudTrail Lake), made some minutes
	// after the window ended (rootwindow report <id>).
	Report  *contract.WindowReport `json:"report,omitempty"`
	History []Step                 `json:"history"`
}

// Step is one entry of a request's history.
type Step struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Note   string    `json:"note,omitempty"`
}

// View is how the API shows rec.
func View(rec ledger.Record) Request {
	v := Request{
		RequestID: rec.RequestID, Fields: rec.Fields, Origin: rec.Origin, Status: string(rec.Status),
		CreatedAt: rec.CreatedAt, OpenedAt: rec.OpenedAt, RestoreAt: rec.RestoreAt, ClosedAt: rec.ClosedAt,
		Problems: rec.Problems, LastError: PublicError(rec.LastError), RestoreFailedAt: rec.RestoreFailedAt,
		ConfirmBy: rec.ConfirmBy, ConfirmedBy: rec.ConfirmedBy, ConfirmedAt: rec.ConfirmedAt,
		ApproveBy: rec.ApproveBy, ApprovedBy: rec.ApprovedBy, ApprovedAt: rec.ApprovedAt, DeniedBy: rec.DeniedBy, DeniedAt: rec.DeniedAt,
		Decision: rec.Decision, ReviewedBy: rec.ReviewedBy, ReviewedAt: rec.ReviewedAt, ReviewNote: rec.ReviewNote, SignIn: rec.SignIn, Report: rec.Report,
		History: make([]Step, len(rec.History)),
	}
	for i, h := range rec.History {
		v.History[i] = Step{Status: string(h.Status), At: h.At, Actor: h.Actor, Note: h.Note}
	}
	return v
}

// publicErrors classify an error's text, first match wins, into what a caller may be told.
var publicErrors = []struct{ marker, message string }{
	{"withdrawn at the lift", "withdrawn at the lift: the booking's checks no longer pass (see problems, or ask an operator)"},
	{"not confirmed by the requester", "not confirmed by the requester in time: nothing was lifted"},
	{"not approved by", "not approved by a second administrator in time: nothing was lifted"},
	{"needs a second administrator's approval", "the ledger's record disagreed with the workflow: nothing was lifted; operators are alerted"},
	{"LEDGER TAMPERED", "the ledger's record disagreed with the workflow: nothing was lifted; operators are alerted"},
	{"disagrees with what its execution decided", "the ledger's record disagreed with the workflow: nothing was lifted; operators are alerted"},
	{"changed since", "the guardrail's document changed outside rootwindow: nothing was lifted; operators are alerted"},
	{"AccessDenied", "AWS Organizations refused rootwindow's call (access denied); operators have the detail"},
	{"ConstraintViolation", "AWS Organizations refused a change that would break one of its quotas; operators have the detail"},
	{"TooManyRequests", "AWS Organizations was busy (throttled); rootwindow retries"},
	{"Throttl", "AWS Organizations was busy (throttled); rootwindow retries"},
	{"ConcurrentModification", "AWS Organizations was busy with another change; rootwindow retries"},
	{"restore failed", "putting the guardrail back failed; rootwindow keeps trying and operators are alerted"},
	{"start execution", "the workflow could not be started; nothing was reserved"},
	{"denied by", "denied by an administrator (see deniedBy, decision and the history): nothing was lifted"},
}

// PublicError is the classified message for an error's text ("" for none).
func PublicError(text string) string {
	if text == "" {
		return ""
	}
	for _, c := range publicErrors {
		if strings.Contains(text, c.marker) {
			return c.message
		}
	}
	return "an internal error; operators have the detail in the ledger"
}
