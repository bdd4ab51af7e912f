package guardrail

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"
)

// TransientError is a call that kept failing with throttling or another error worth retrying
// later, after this package's own retries were spent.
type TransientError struct {
	Op       string
	Target   string
	Attempts int
	Err      error
}

func (e *TransientError) Error() string {
	return fmt.Sprintf("%s %s: still failing after %d attempts: %s", e.Op, e.Target, e.Attempts, errorCode(e.Err))
}

func (e *TransientError) Unwrap() error { return e.Err }

// BatchError reports the accounts a batch operation could not complete.
type BatchError struct {
	Op     string           // "detach" or "reattach"
	Failed map[string]error // account ID → why
	// Compensation is set on a failed detach: the result of putting the guardrail back on every
	// account the detach touched; nil means everything was put back.
	Compensation *BatchError
	compensated  bool
}

func (e *BatchError) Error() string {
	ids := make([]string, 0, len(e.Failed))
	for id := range e.Failed {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf("%s (%s)", id, errorCode(e.Failed[id]))
	}
	msg := fmt.Sprintf("%s guardrail failed on %d account(s): %s", e.Op, len(ids), strings.Join(parts, ", "))
	switch {
	case e.Compensation != nil:
		msg += "; putting the guardrail back also failed: " + e.Compensation.Error()
	case e.compensated:
		msg += "; the guardrail was put back on every account this attempt touched"
	}
	return msg
}

// Unwrap exposes each account's error to errors.Is and errors.As.
func (e *BatchError) Unwrap() []error {
	errs := make([]error, 0, len(e.Failed))
	for _, err := range e.Failed {
		errs = append(errs, err)
	}
	return errs
}

// Transient reports whether every failure was transient, so the whole operation is worth retrying.
func (e *BatchError) Transient() bool {
	for _, err := range e.Failed {
		if !IsTransient(err) {
			return false
		}
	}
	return len(e.Failed) > 0
}

// RestoreFailed reports whether the guardrail may be missing from an account after this error.
func (e *BatchError) RestoreFailed() bool {
	return e.Op == "reattach" || e.Compensation != nil
}

// IsTransient reports whether err is worth retrying later.
func IsTransient(err error) bool {
	var b *BatchError
	if errors.As(err, &b) { // before TransientError: a batch is transient only if all of it is
		return b.Transient()
	}
	var t *TransientError
	return errors.As(err, &t)
}

// retryable classifies one Organizations call error.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var (
		tooMany  *types.TooManyRequestsException
		conflict *types.ConcurrentModificationException
		changing *types.PolicyChangesInProgressException
		service  *types.ServiceException
	)
	switch {
	case errors.As(err, &tooMany), errors.As(err, &conflict), errors.As(err, &changing), errors.As(err, &service):
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorFault() == smithy.FaultServer
	}
	// Not an API answer (connection reset, timeout): the call is idempotent, so try again.
	return true
}

// errorCode names an error briefly and safely: the AWS error code where there is one.
func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// WrongOrganizationError is Organizations answering for another organization (or management
// account) than the configuration names: rootwindow acts on none of it.
type WrongOrganizationError struct{ Field, Want, Got string }

func (e *WrongOrganizationError) Error() string {
	return fmt.Sprintf("Organizations answers for %s %s, but rootwindow is configured for %s: nothing done (check organizationId and managementAccountId)", e.Field, e.Got, e.Want)
}
