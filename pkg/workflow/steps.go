// Package workflow is the state machine's task handlers: each takes its step's typed input (see
// package contract), acts through the window service, and answers with its step's output or a
// named error for Step Functions to Retry or Catch. The execution envelope of the console and
// EventBridge doors is read here.
package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"encoding/json"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/identity"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// Steps are the task handlers over one window service.
type Steps struct {
	*window.Service
}

// New returns the task handlers over svc.
func New(svc *window.Service) *Steps { return &Steps{Service: svc} }

// Detach lifts the guardrail from the request's accounts and starts the window. A request
// cancelled before its start returns Opened=false. Running it again after it succeeded returns
// the same window.
func (s *Steps) Detach(ctx context.Context, in contract.DetachInput) (contract.Opened, error) {
	if _, err := s.Bind(ctx, in.ExecutionARN, in.RequestID, nil); err != nil {
		return contract.Opened{}, err
	}
	rec, err := s.Open(ctx, in.RequestID, window.Decision{
		AccountIDs: in.AccountIDs, Hours: in.Hours, ConfirmedBy: in.ConfirmedBy, NeedsApproval: in.NeedsApproval, ApprovedBy: in.ApprovedBy,
	})
	if err != nil {
		return contract.Opened{}, err
	}
	if rec.Status == ledger.Cancelled {
		return contract.Opened{RequestID: in.RequestID, Status: string(rec.Status)}, nil
	}
	return contract.Opened{
		RequestID: rec.RequestID, Opened: true, Status: string(rec.Status),
		OpenedAt: window.FormatTime(rec.OpenedAt), RestoreAt: window.FormatTime(rec.RestoreAt),
	}, nil
}

// Reattach puts the guardrail back on the request's accounts and closes the request: CLOSED when
// a window ends (or compensation finds it open), FAILED when compensating a window that never
// opened. Running it again is a no-op. In ModeAlarm it restores nothing: the state machine has
// given up, so it records that and raises the Restore Failed alarm, keeping the leases.
func (s *Steps) Reattach(ctx context.Context, in contract.ReattachInput) (contract.Restored, error) {
	var rec ledger.Record
	var err error
	switch in.Mode {
	case contract.ModeClose, contract.ModeCompensate:
		rec, err = s.Restore(ctx, in.RequestID, in.Mode == contract.ModeCompensate, in.Cause, in.AccountIDs)
		if errors.Is(err, ledger.ErrNotFound) && in.Mode == contract.ModeCompensate {
			// Validation failed before recording anything: nothing was reserved or lifted.
			return contract.Restored{RequestID: in.RequestID, Status: "NONE"}, nil
		}
	case contract.ModeAlarm:
		rec, err = s.Alarm(ctx, in.RequestID, in.Cause)
	default:
		return contract.Restored{}, &contract.InvalidState{Msg: fmt.Sprintf("reattach mode must be %q, %q or %q, got %q", contract.ModeClose, contract.ModeCompensate, contract.ModeAlarm, in.Mode)}
	}
	if err != nil {
		return contract.Restored{}, err
	}
	return restored(rec), nil
}

func restored(rec ledger.Record) contract.Restored {
	return contract.Restored{RequestID: rec.RequestID, Status: string(rec.Status), ClosedAt: window.FormatTime(rec.ClosedAt)}
}

// statusChange is the part of a Step Functions status-change event the safety net reads.
type statusChange struct {
	ExecutionArn    string  `json:"executionArn"`
	Name            string  `json:"name"`
	Status          string  `json:"status"`
	StateMachineArn string  `json:"stateMachineArn"`
	Error           *string `json:"error"`
}

// apiCall is the part of CloudTrail's event for an Organizations call that the safety net reads.
type apiCall struct {
	EventSource  string                `json:"eventSource"`
	EventName    string                `json:"eventName"`
	UserIdentity identity.UserIdentity `json:"userIdentity"`
}

// expectedFailure tells an execution that failed as designed (a rejected request, a denial, nobody
// approving in time) from one that should alarm the operators.
func expectedFailure(name *string, rec ledger.Record) bool {
	switch {
	case name == nil:
		return false
	case *name == contract.ErrRequestRejected, *name == contract.ErrApprovalDenied:
		return true
	}
	return *name == contract.ErrTimeout && !rec.ApproveBy.IsZero() && rec.ApprovedAt.IsZero() && rec.OpenedAt.IsZero()
}

// endings the safety net acts on.
var endings = []string{"FAILED", "TIMED_OUT", "ABORTED"}

// SafetyNet is the sweeper function's handler: an execution's status change (rescue) or the
// schedule (sweep).
func (s *Steps) SafetyNet(ctx context.Context, ev events.CloudWatchEvent) (any, error) {
	switch ev.DetailType {
	case contract.DetailTypeStatusChange:
		var sc statusChange
		if err := json.Unmarshal(ev.Detail, &sc); err != nil || sc.Name == "" {
			return nil, fmt.Errorf("status-change event %s: no execution name in its detail", ev.ID)
		}
		if !slices.Contains(endings, sc.Status) {
			return nil, nil
		}
		if err := s.ConfirmEnded(ctx, sc.StateMachineArn, sc.ExecutionArn, sc.Name, sc.Status); err != nil {
			return nil, err // a forged or stale event: refused, and the invocation's failure alarms
		}
		why := "execution " + sc.Status
		if sc.Error != nil && *sc.Error != "" {
			why += " (" + *sc.Error + ")"
		}
		rec, err := s.Rescue(ctx, sc.Name, why)
		switch {
		case sc.Status == "FAILED" && !expectedFailure(sc.Error, rec):
			s.Count(contract.MetricUnexpectedFailure)
		case sc.Status == "ABORTED" && window.EndedBy(rec) == "":
			// Stopped by someone, not by an early end through rootwindow (which records who).
			s.Count(contract.MetricUnexpectedStop)
		}
		return restored(rec), err
	case contract.DetailTypeSchedule:
		return s.Sweep(ctx)
	case contract.DetailTypeAPICall:
		// Someone changed the guardrail or its attachments: check now rather than at the next
		// sweep. rootwindow's own lifts and restores are not news. Or someone changed one of
		// rootwindow's own resources: alarmed, unless it was the deployment.
		var call apiCall
		if err := json.Unmarshal(ev.Detail, &call); err != nil {
			return nil, fmt.Errorf("API call event %s: %w", ev.ID, err)
		}
		by := call.UserIdentity.Starter()
		if call.EventSource != "organizations.amazonaws.com" {
			// One of rootwindow's own resources changed (the rules match only those): a deployment,
			// or someone who could make rootwindow lift.
			if by.RoleARN != "" && by.RoleARN == s.Settings().DeploymentRoleARN {
				return nil, nil
			}
			s.Count(contract.MetricResourcesChanged)
			s.Logger().ErrorContext(ctx, "ROOTWINDOW CHANGED outside its deployment", "call", call.EventName, "service", call.EventSource, "by", call.UserIdentity.ARN)
			return nil, nil
		}
		if by.RoleARN != "" && slices.Contains(s.Settings().OwnRoleARNs, by.RoleARN) {
			return nil, nil
		}
		s.Logger().WarnContext(ctx, "the guardrail was changed outside rootwindow: checking it now", "call", call.EventName, "by", call.UserIdentity.ARN)
		return s.Sweep(ctx)
	}
	return nil, fmt.Errorf("event %s: detail-type %q is not a status change, the schedule or an API call", ev.ID, ev.DetailType)
}
