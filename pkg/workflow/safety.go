package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/notify"
)

// The safety net: whatever happens to one execution, the guardrail comes back or a person is told.
// Rescue answers an execution that ended without closing its window; Sweep, on a schedule,
// restores every window that is over, sends pending notifications and reports drift. Both only
// act through the ledger's conditional transitions and idempotent Organizations calls, so they
// are safe to run concurrently with each other and with the workflow.

const (
	actorSafetyNet = "rootwindow:safety-net"
	actorSweeper   = "rootwindow:sweeper"
	// SweepGrace is how long after a window's planned end the sweeper leaves it to the workflow.
	SweepGrace = 10 * time.Minute
	// recentRequests bounds the requests whose accounts the sweeper checks for drift and whose
	// pending notifications it sends.
	recentRequests = 200
	// MetricsNamespace is where the safety net's CloudWatch metrics go.
	MetricsNamespace = "rootwindow"
)

// Metric names, in CloudWatch Embedded Metric Format on the function's log.
const (
	MetricRestoreFailed     = "RestoreFailed"
	MetricDriftDetected     = "DriftDetected"
	MetricUnexpectedFailure = "ExecutionsFailedUnexpectedly"
	MetricRescued           = "WindowsRescued"
)

// metric writes one CloudWatch metric in Embedded Metric Format, one JSON line.
func (s *Steps) metric(name string, value int) {
	if s.Metrics == nil {
		return
	}
	line, _ := json.Marshal(map[string]any{
		"_aws": map[string]any{
			"Timestamp": s.Clock().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace": MetricsNamespace, "Dimensions": [][]string{{}},
				"Metrics": []any{map[string]string{"Name": name, "Unit": "Count"}},
			}},
		},
		name: value,
	})
	_, _ = fmt.Fprintf(s.Metrics, "%s\n", line)
}

// settle brings a request that should no longer hold its accounts to rest: nothing lifted stays
// lifted, the leases are released, the notifications go out. A restore that fails is recorded as
// Restore Failed (the leases stay) and returned.
func (s *Steps) settle(ctx context.Context, rec ledger.Record, actor, why string) (ledger.Record, error) {
	var err error
	switch rec.Status {
	case ledger.Scheduled:
		// Nothing was lifted: withdraw the reservation.
		rec, err = s.Ledger.Transition(ctx, rec.RequestID, ledger.Failed, actor, why, ledger.Change{LastError: why})
		if err == nil {
			if err = s.Ledger.Release(ctx, rec.RequestID, rec.AccountIDs); err == nil {
				s.Announce(ctx, rec)
			}
		}
	case ledger.Opening:
		rec, err = s.restore(ctx, rec, "rescue", ledger.Failed, actor, "window did not open: "+why, ledger.Change{LastError: why})
	case ledger.Open, ledger.Closing:
		rec, err = s.close(ctx, rec, actor, why)
	default:
		// Closed, failed, cancelled or rejected: only leases left behind by an interrupted step.
		if err = s.Ledger.Release(ctx, rec.RequestID, rec.AccountIDs); err == nil {
			s.Announce(ctx, rec)
		}
	}
	var rf *RestoreFailed
	if errors.As(err, &rf) {
		s.metric(MetricRestoreFailed, 1)
		if marked, merr := s.Ledger.MarkRestoreFailed(ctx, rec.RequestID, "the guardrail could not be restored: "+rf.Msg); merr == nil {
			s.Announce(ctx, marked)
		}
	}
	return rec, err
}

// Rescue restores the guardrail for a request whose execution ended (failed, timed out or was
// stopped) without closing its window, and records why. A request already at rest, or never
// recorded, needs nothing.
func (s *Steps) Rescue(ctx context.Context, requestID, why string) (ledger.Record, error) {
	rec, err := s.Ledger.Get(ctx, requestID)
	if errors.Is(err, ledger.ErrNotFound) {
		return rec, nil
	}
	if err != nil {
		return rec, retryLater(err)
	}
	if !rec.Status.Holds() {
		s.Announce(ctx, rec)
		return rec, nil
	}
	s.Log.WarnContext(ctx, "execution ended with its window not closed: the safety net restores it", "requestId", requestID, "status", rec.Status, "why", why)
	s.metric(MetricRescued, 1)
	return s.settleMoving(ctx, rec, actorSafetyNet, why)
}

// settleMoving settles a request that a step still running may move meanwhile (a Lambda goes on
// after its execution is stopped): when a transition finds the request moved, it settles it again
// from where it is now.
func (s *Steps) settleMoving(ctx context.Context, rec ledger.Record, actor, why string) (ledger.Record, error) {
	for attempt := 0; ; attempt++ {
		settled, err := s.settle(ctx, rec, actor, why)
		var moved *InvalidState
		if !errors.As(err, &moved) || attempt == 3 {
			return settled, err
		}
		if rec, err = s.Ledger.Get(ctx, rec.RequestID); err != nil {
			return rec, retryLater(err)
		}
	}
}

// SweepReport says what one sweep did.
type SweepReport struct {
	Settled []string `json:"settled,omitempty"` // requests whose window was over and is now closed
	Drift   []string `json:"drift,omitempty"`   // accounts without the guardrail and without an open window
	Checked int      `json:"checked"`           // accounts checked for drift
	Errors  []string `json:"errors,omitempty"`
}

// Sweep restores every lease whose window is over (SweepGrace after its planned end), sends the
// notifications recent requests still owe, and reports drift: an account rootwindow knows (from
// its leases and recent requests) that lacks the guardrail while no window is open on it. It does
// all it can and returns an error if any part failed.
func (s *Steps) Sweep(ctx context.Context) (SweepReport, error) {
	var rep SweepReport
	fail := func(what string, err error) {
		s.Log.ErrorContext(ctx, "sweep: "+what, "error", err.Error())
		rep.Errors = append(rep.Errors, what+": "+err.Error())
	}
	now := s.now()
	leases, err := s.Ledger.AllLeases(ctx)
	if err != nil {
		return rep, retryLater(err)
	}
	byRequest := map[string][]ledger.Lease{}
	for _, l := range leases {
		byRequest[l.RequestID] = append(byRequest[l.RequestID], l)
	}
	lifted := map[string]bool{} // accounts that an open window may leave without the guardrail
	for id, ls := range byRequest {
		rec, err := s.Ledger.Get(ctx, id)
		if errors.Is(err, ledger.ErrNotFound) {
			// A lease without its request: put the guardrail back and drop it.
			accounts := accountsOf(ls)
			if err := s.Guardrail.Reattach(ctx, accounts); err != nil {
				fail("restore orphan leases of "+id, err)
			} else if err := s.Ledger.Release(ctx, id, accounts); err != nil {
				fail("release orphan leases of "+id, err)
			}
			continue
		}
		if err != nil {
			fail("read "+id, err)
			continue
		}
		over := !rec.PlannedEnd().Add(SweepGrace).After(now)
		if !over && rec.Status.Holds() {
			if rec.Status != ledger.Scheduled {
				for _, a := range rec.AccountIDs {
					lifted[a] = true
				}
			}
			continue
		}
		why := fmt.Sprintf("the window was due to end at %s: restored by the sweeper", formatTime(rec.PlannedEnd()))
		if !rec.Status.Holds() {
			why = "leases left by an interrupted step"
		}
		if _, err := s.settleMoving(ctx, rec, actorSweeper, why); err != nil {
			fail("settle "+id, err)
			for _, a := range rec.AccountIDs {
				lifted[a] = true // known to be missing: Restore Failed said so already
			}
			continue
		}
		rep.Settled = append(rep.Settled, id)
	}

	recent, _, err := s.Ledger.List(ctx, ledger.Filter{}, recentRequests, "")
	if err != nil {
		fail("list recent requests", err)
	}
	known := map[string]bool{}
	for _, l := range leases {
		known[l.AccountID] = true
	}
	for _, rec := range recent {
		if len(notify.Pending(rec)) > 0 {
			s.Announce(ctx, rec)
		}
		if rec.Status != ledger.Rejected {
			for _, a := range rec.AccountIDs {
				known[a] = true
			}
		}
	}
	var check []string
	for a := range known {
		if !lifted[a] {
			check = append(check, a)
		}
	}
	sort.Strings(check)
	for _, a := range check {
		attached, err := s.Guardrail.IsAttached(ctx, a)
		if err != nil {
			fail("check "+a, err)
			continue
		}
		rep.Checked++
		if !attached {
			rep.Drift = append(rep.Drift, a)
		}
	}
	if len(rep.Drift) > 0 {
		s.metric(MetricDriftDetected, len(rep.Drift))
		s.Log.ErrorContext(ctx, "DRIFT: guardrail missing from accounts with no open window", "accounts", strings.Join(rep.Drift, ","))
		if s.Notify != nil {
			d := notify.Drift{NotificationID: "drift/" + now.Format(time.RFC3339), PolicyID: s.Guardrail.PolicyID(), AccountIDs: rep.Drift, DetectedAt: now}
			if err := s.Notify.PublishDrift(ctx, d); err != nil {
				fail("notify drift", err)
			}
		}
	}
	s.Log.InfoContext(ctx, "sweep done", "settled", len(rep.Settled), "checked", rep.Checked, "drift", len(rep.Drift), "errors", len(rep.Errors))
	if len(rep.Errors) > 0 {
		return rep, fmt.Errorf("sweep: %d part(s) failed: %s", len(rep.Errors), strings.Join(rep.Errors, "; "))
	}
	return rep, nil
}

func accountsOf(ls []ledger.Lease) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.AccountID
	}
	return out
}

// EventBridge events the safety net handles.
const (
	DetailTypeStatusChange = "Step Functions Execution Status Change"
	DetailTypeSchedule     = "Scheduled Event"
)

// statusChange is the part of a Step Functions status-change event the safety net reads.
type statusChange struct {
	Name            string  `json:"name"`
	Status          string  `json:"status"`
	StateMachineArn string  `json:"stateMachineArn"`
	Error           *string `json:"error"`
}

// endings the safety net acts on.
var endings = []string{"FAILED", "TIMED_OUT", "ABORTED"}

// SafetyNet is the sweeper function's handler: an execution's status change (rescue) or the
// schedule (sweep).
func (s *Steps) SafetyNet(ctx context.Context, ev events.CloudWatchEvent) (any, error) {
	switch ev.DetailType {
	case DetailTypeStatusChange:
		var sc statusChange
		if err := json.Unmarshal(ev.Detail, &sc); err != nil || sc.Name == "" {
			return nil, fmt.Errorf("status-change event %s: no execution name in its detail", ev.ID)
		}
		if !slices.Contains(endings, sc.Status) {
			return nil, nil
		}
		if sc.Status == "FAILED" && (sc.Error == nil || *sc.Error != ErrRequestRejected) {
			s.metric(MetricUnexpectedFailure, 1)
		}
		why := "execution " + sc.Status
		if sc.Error != nil && *sc.Error != "" {
			why += " (" + *sc.Error + ")"
		}
		rec, err := s.Rescue(ctx, sc.Name, why)
		return restored(rec), err
	case DetailTypeSchedule:
		return s.Sweep(ctx)
	}
	return nil, fmt.Errorf("event %s: detail-type %q is neither a status change nor the schedule", ev.ID, ev.DetailType)
}
