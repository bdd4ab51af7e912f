// Package ledger is rootwindow's record in DynamoDB: one item per request (who, why, which
// accounts, the window, its status and every transition) and one lease item per account held by
// a scheduled or open window. Leases are taken with conditional writes, so two requests can never
// hold one account, and status transitions are conditional, so nothing moves a request backwards.
package ledger

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/request"
)

// Status is where a request is in its life.
type Status string

// Statuses: SCHEDULED → OPENING → OPEN → CLOSING → CLOSED, or REJECTED, CANCELLED, FAILED.
const (
	Scheduled Status = "SCHEDULED"
	Opening   Status = "OPENING"
	Open      Status = "OPEN"
	Closing   Status = "CLOSING"
	Closed    Status = "CLOSED"
	Rejected  Status = "REJECTED"
	Cancelled Status = "CANCELLED"
	Failed    Status = "FAILED"
)

// allowedFrom lists, for each status, the statuses a request may move to it from.
var allowedFrom = map[Status][]Status{
	Opening:   {Scheduled},
	Open:      {Opening},
	Closing:   {Open},
	Closed:    {Closing},
	Cancelled: {Scheduled},
	Rejected:  {Scheduled},
	Failed:    {Scheduled, Opening},
}

// Known reports whether s is one of the statuses above.
func (s Status) Known() bool {
	_, ok := allowedFrom[s]
	return ok || s == Scheduled
}

// Holds reports whether a request in this status holds its accounts' leases.
func (s Status) Holds() bool {
	switch s {
	case Scheduled, Opening, Open, Closing:
		return true
	}
	return false
}

// Transition is one entry of a request's history.
type Transition struct {
	Status Status    `json:"status"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Note   string    `json:"note,omitempty"`
}

// Record is one request as the ledger keeps it.
type Record struct {
	RequestID string `json:"requestId"`
	// Fields are what the requester asked for (package request owns them).
	request.Fields
	Origin    contract.Origin `json:"origin"`
	Status    Status          `json:"status"`
	CreatedAt time.Time       `json:"createdAt"`
	OpenedAt  time.Time       `json:"openedAt,omitzero"`
	RestoreAt time.Time       `json:"restoreAt,omitzero"`
	ClosedAt  time.Time       `json:"closedAt,omitzero"`
	Problems  []string        `json:"problems,omitempty"`
	LastError string          `json:"lastError,omitempty"`
	// ConfirmBy, when set, is when the time for the requester to confirm the request runs out
	// (requests through EventBridge, when configured); ConfirmedBy and ConfirmedAt say who
	// confirmed it (always the requester) and when. Nothing is lifted before.
	ConfirmBy   time.Time `json:"confirmBy,omitzero"`
	ConfirmedBy string    `json:"confirmedBy,omitempty"`
	ConfirmedAt time.Time `json:"confirmedAt,omitzero"`
	// ApproveBy, when set, is when the time for a second administrator to approve the request
	// runs out (configuration: approval); ApprovedBy/At or DeniedBy/At record the decision, and
	// Decision the approver's words. ApprovalToken is the task token the execution waits on,
	// never shown outside the ledger.
	ApproveBy     time.Time `json:"approveBy,omitzero"`
	ApprovedBy    string    `json:"approvedBy,omitempty"`
	ApprovedAt    time.Time `json:"approvedAt,omitzero"`
	DeniedBy      string    `json:"deniedBy,omitempty"`
	DeniedAt      time.Time `json:"deniedAt,omitzero"`
	Decision      string    `json:"decision,omitempty"`
	ApprovalToken string    `json:"-"`
	// ReviewedBy, ReviewedAt and ReviewNote are another administrator's review of a break-glass
	// request (request.Fields.BreakGlass), which BreakGlassUnreviewed waits for.
	ReviewedBy string    `json:"reviewedBy,omitempty"`
	ReviewedAt time.Time `json:"reviewedAt,omitzero"`
	ReviewNote string    `json:"reviewNote,omitempty"`
	// RequesterUserID is the requester's IAM Identity Center user ID, where the requester is an
	// Identity Center user's session and identityStoreId is set (the identity store's answer
	// for the session's user name at booking): the four-eyes rule compares it with the
	// approver's, so a renamed user is still the one person. Never shown outside the ledger.
	RequesterUserID string `json:"-"`
	// ExecutionARN is the request's Step Functions execution (notifications link to it).
	ExecutionARN string `json:"executionArn,omitempty"`
	// SignIn says, per account, what signing in as its root user takes (centralized root access
	// configured), and whether rootwindow allowed password recovery for the window.
	SignIn []contract.SignIn `json:"signIn,omitempty"`
	// Report is what the window's root users did during it, made once CloudTrail has delivered
	// it (see package window); nil until then.
	Report *contract.WindowReport `json:"report,omitempty"`
	// Strategy is how the guardrail is lifted for this request (contract.StrategyDetach or
	// contract.StrategyExempt), decided at booking; "" is detach.
	Strategy string `json:"strategy,omitempty"`
	// WindowPolicyID is the window's own SCP, which denies the root user from restoreAt (see
	// package guardrail), once the lift has created it.
	WindowPolicyID string `json:"windowPolicyId,omitempty"`
	// RestoreFailedAt is when the workflow gave up restoring the guardrail; the lease stays.
	RestoreFailedAt time.Time    `json:"restoreFailedAt,omitzero"`
	History         []Transition `json:"history"`
	// Notified lists the notifications already delivered (see package notify): the record is
	// its own outbox, so a notification that failed to go out is sent by the next step.
	Notified []string `json:"-"`
}

// PlannedEnd is when the window is due to end: restoreAt once open, else start + hours.
func (r Record) PlannedEnd() time.Time {
	if !r.RestoreAt.IsZero() {
		return r.RestoreAt
	}
	return r.StartAt.Add(time.Duration(r.Hours) * time.Hour)
}

// Lifted is when the guardrail came off for the request (its move to OPENING) and when it was
// back (its move to CLOSED or FAILED after that; zero while it is not); ok is false for a request
// that never began lifting.
func (r Record) Lifted() (from, to time.Time, ok bool) {
	for _, h := range r.History {
		switch {
		case h.Status == Opening && !ok:
			from, ok = h.At, true
		case ok && (h.Status == Closed || h.Status == Failed):
			return from, h.At, true
		}
	}
	return from, time.Time{}, ok
}

// AwaitsConfirmation reports whether the request must be confirmed by its requester and is not.
func (r Record) AwaitsConfirmation() bool {
	return !r.ConfirmBy.IsZero() && r.ConfirmedAt.IsZero()
}

// AwaitsApproval reports whether the request needs a second administrator's decision and has none.
func (r Record) AwaitsApproval() bool {
	return !r.ApproveBy.IsZero() && r.ApprovedAt.IsZero() && r.DeniedAt.IsZero()
}

// SameRequest reports whether o asks for the same window as r: the same requester, accounts,
// hours and reason, and the same start unless o's is zero (not given). A request ID, an
// execution name or an Idempotency-Key names one request; a second use must be the same request.
func (r Record) SameRequest(o Record) bool {
	return r.Requester == o.Requester && slices.Equal(r.AccountIDs, o.AccountIDs) && r.Hours == o.Hours &&
		r.Reason == o.Reason && r.Task == o.Task && r.WhyNotAssumeRoot == o.WhyNotAssumeRoot && (o.StartAt.IsZero() || r.StartAt.Equal(o.StartAt))
}

// Lease is one account held by one request.
type Lease struct {
	AccountID string    `json:"accountId"`
	RequestID string    `json:"requestId"`
	Until     time.Time `json:"until"`
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// ValidRequestID checks a request ID, which is also the Step Functions execution name.
func ValidRequestID(id string) error {
	if !requestIDPattern.MatchString(id) {
		shown := id
		if r := []rune(shown); len(r) > 64 {
			shown = string(r[:64]) + "…" // no input makes a long answer
		}
		return fmt.Errorf("request ID %q must be 1 to 80 letters, digits, '-' or '_'", shown)
	}
	return nil
}
