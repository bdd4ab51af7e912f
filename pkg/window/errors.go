package window

import (
	"errors"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// retryLater turns an infrastructure error into the named error the state machine retries: a
// throttle, or a lock another writer holds, as Throttled.
func retryLater(err error) error {
	if guardrail.IsTransient(err) || errors.Is(err, ledger.ErrLocked) {
		return &contract.Throttled{Msg: err.Error()}
	}
	return &contract.Unavailable{Msg: err.Error()}
}

// NotRequesterError is an action only a request's requester may take, tried by someone else.
type NotRequesterError struct{ Msg string }

func (e *NotRequesterError) Error() string { return e.Msg }
