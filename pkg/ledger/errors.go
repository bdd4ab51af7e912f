package ledger

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotFound means the ledger has no such request.
var ErrNotFound = errors.New("no such request")

// Conflict is an account already held by another request.
type Conflict struct {
	AccountID string
	RequestID string
	Until     time.Time
}

func (c Conflict) String() string {
	return fmt.Sprintf("%s already has a window: request %s holds it until %s",
		c.AccountID, c.RequestID, c.Until.UTC().Format(time.RFC3339))
}

// ConflictError is a reservation refused because accounts are held by other requests.
type ConflictError struct {
	Conflicts []Conflict
}

func (e *ConflictError) Error() string {
	parts := make([]string, len(e.Conflicts))
	for i, c := range e.Conflicts {
		parts[i] = c.String()
	}
	return strings.Join(parts, "; ")
}

// TransitionError is a status change refused because the request is not in a status it may
// move from.
type TransitionError struct {
	RequestID string
	Current   Status
	To        Status
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("request %s is %s and cannot become %s", e.RequestID, e.Current, e.To)
}

// DuplicateError is a reservation under a request ID that already names a different request.
type DuplicateError struct{ RequestID string }

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("request ID %s is already used by a different request", e.RequestID)
}

// ConfirmError is a confirmation refused: the request does not wait for one, is no longer
// SCHEDULED, or By is not its requester.
type ConfirmError struct {
	RequestID string
	Current   Record
	By        string
}

func (e *ConfirmError) Error() string {
	switch r := e.Current; {
	case r.ConfirmBy.IsZero():
		return fmt.Sprintf("request %s does not wait for a confirmation", e.RequestID)
	case r.Requester != e.By:
		return fmt.Sprintf("only request %s's requester may confirm it", e.RequestID)
	case !r.ConfirmedAt.IsZero():
		return fmt.Sprintf("request %s was already confirmed", e.RequestID)
	default:
		return fmt.Sprintf("request %s is %s: only a scheduled request can be confirmed", e.RequestID, r.Status)
	}
}

// DecisionError is an approval or denial the ledger refused, saying why.
type DecisionError struct {
	RequestID string
	Current   Record
	By        string
	At        time.Time
}

func (e *DecisionError) Error() string {
	switch r := e.Current; {
	case r.ApproveBy.IsZero():
		return fmt.Sprintf("request %s does not wait for an approval", e.RequestID)
	case e.By != "" && r.Requester == e.By:
		return fmt.Sprintf("request %s is yours: another administrator must decide it", e.RequestID)
	case r.ApprovedBy != "":
		return fmt.Sprintf("request %s was already approved by %s", e.RequestID, r.ApprovedBy)
	case r.DeniedBy != "":
		return fmt.Sprintf("request %s was already denied by %s", e.RequestID, r.DeniedBy)
	case r.Status != Scheduled:
		return fmt.Sprintf("request %s is %s: only a scheduled request can be decided", e.RequestID, r.Status)
	case !e.At.IsZero() && !e.At.Before(r.ApproveBy):
		return fmt.Sprintf("the time to decide request %s ran out at %s; nothing was lifted", e.RequestID, r.ApproveBy.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("request %s cannot be decided now", e.RequestID)
}
