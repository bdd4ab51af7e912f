package harness_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/infra/stack"
	"github.com/rootwindow/rootwindow/internal/harness"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// How a row must end, once the safety net (and, for a failed restore, the sweeper) has run.
const (
	endClosed   = "CLOSED"   // the window opened and closed
	endFailed   = "FAILED"   // the window did not open; whatever was lifted is back
	endRejected = "REJECTED" // the request was refused
	endNone     = "none"     // nothing was recorded (validation never completed)
)

type faultRow struct {
	name      string
	faults    []orgemu.Fault
	setup     func() // more faults: latency, Lambda timeouts
	abortAt   string
	startIn   time.Duration
	execution string // the execution's status
	// restoreFailed: the restore failed for good, so Restore Failed must be announced with the
	// lease kept, and the sweeper must then restore the guardrail.
	restoreFailed bool
	end           string
	// invoked: the least number of invocations of a task, to show the fault took effect (the
	// state machine retried it).
	invoked map[string]int
	// by: who made the request's last transition, when it must be the safety net or the sweeper.
	by string
	// gone: rootwindow is gone mid-window (no safety net, no sweeper, no restore): AWS itself must
	// block the root user from the window's end. The safety net then cleans up for the next row.
	gone bool
	// strategy, when set, is the lift strategy the handlers run with (the detach strategy else).
	strategy string
}

const safetyNet = "rootwindow:safety-net"

var (
	transient = []string{"TooManyRequestsException", "ConcurrentModificationException", "PolicyChangesInProgressException", "ServiceException"}
	phases    = map[string]string{"validate": "ListPoliciesForTarget", "detach": "DetachPolicy", "reattach": "AttachPolicy"}
	// policyOf: the lift's and the restore's faults hit the guardrail's own calls.
	policyOf = map[string]string{"detach": orgemu.GuardrailID, "reattach": orgemu.GuardrailID}
)

func matrix() []faultRow {
	var rows []faultRow
	for _, phase := range []string{"validate", "detach", "reattach"} {
		op := phases[phase]
		for _, code := range transient {
			// A few in a row: the Lambda's own retries absorb them.
			rows = append(rows, faultRow{name: phase + " " + code + " ×3", faults: []orgemu.Fault{{Op: op, Policy: policyOf[phase], Code: code, Times: 3}},
				execution: "SUCCEEDED", end: endClosed})
		}
		// More than one invocation retries (a throttled call goes up to 12 times with the
		// harness's backoff): the state machine retries the task.
		rows = append(rows, faultRow{name: phase + " TooManyRequestsException ×15 on one account", faults: []orgemu.Fault{{Op: op, Target: "111111111111", Policy: policyOf[phase], Code: "TooManyRequestsException", Times: 15}},
			execution: "SUCCEEDED", end: endClosed, invoked: map[string]int{phase: 2}})
	}
	return append(rows,
		faultRow{name: "validate AccessDeniedException always", faults: []orgemu.Fault{{Op: "ListPoliciesForTarget", Code: "AccessDeniedException"}},
			execution: "FAILED", end: endNone},
		faultRow{name: "validate AccountNotFoundException", faults: []orgemu.Fault{{Op: "DescribeAccount", Target: "222222222222", Code: "AccountNotFoundException"}},
			execution: "FAILED", end: endRejected},
		faultRow{name: "validate throttled always", faults: []orgemu.Fault{{Op: "ListPoliciesForTarget", Code: "TooManyRequestsException"}},
			execution: "FAILED", end: endNone},
		faultRow{name: "detach AccessDeniedException on one account", faults: []orgemu.Fault{{Op: "DetachPolicy", Target: "222222222222", Policy: orgemu.GuardrailID, Code: "AccessDeniedException"}},
			execution: "FAILED", end: endFailed},
		faultRow{name: "detach TargetNotFoundException", faults: []orgemu.Fault{{Op: "DetachPolicy", Target: "222222222222", Policy: orgemu.GuardrailID, Code: "TargetNotFoundException"}},
			execution: "FAILED", end: endFailed},
		faultRow{name: "detach throttled always", faults: []orgemu.Fault{{Op: "DetachPolicy", Policy: orgemu.GuardrailID, Code: "TooManyRequestsException"}},
			execution: "FAILED", end: endFailed},
		faultRow{name: "reattach AccessDeniedException longer than every retry", faults: []orgemu.Fault{{Op: "AttachPolicy", Target: "222222222222", Policy: orgemu.GuardrailID, Code: "AccessDeniedException"}},
			execution: "FAILED", restoreFailed: true, end: endClosed, by: "rootwindow:sweeper"},
		faultRow{name: "reattach PolicyNotFoundException longer than every retry", faults: []orgemu.Fault{{Op: "AttachPolicy", Policy: orgemu.GuardrailID, Code: "PolicyNotFoundException"}},
			execution: "FAILED", restoreFailed: true, end: endClosed, by: "rootwindow:sweeper"},
		faultRow{name: "detach Lambda times out mid-batch", setup: func() {
			// The Lambda dies with its DetachPolicy calls in flight; Organizations applies them after.
			h.Org.SetLatency(150 * time.Millisecond)
			h.SetInvokeTimeout(contract.TaskDetach, 100*time.Millisecond, 0)
		}, execution: "FAILED", end: endFailed},
		faultRow{name: "reattach Lambda times out mid-batch once", setup: func() {
			h.Org.SetLatency(150 * time.Millisecond)
			h.SetInvokeTimeout(contract.TaskReattach, 100*time.Millisecond, 1)
		}, execution: "SUCCEEDED", end: endClosed, invoked: map[string]int{contract.TaskReattach: 2}},
		faultRow{name: "aborted at " + stack.StateValidate, abortAt: stack.StateValidate, execution: "ABORTED", end: endFailed, by: safetyNet},
		faultRow{name: "aborted at " + stack.StateWaitStart, abortAt: stack.StateWaitStart, startIn: 2 * time.Hour, execution: "ABORTED", end: endFailed, by: safetyNet},
		faultRow{name: "aborted at " + stack.StateDetach, abortAt: stack.StateDetach, execution: "ABORTED", end: endClosed, by: safetyNet},
		faultRow{name: "aborted at " + stack.StateHold, abortAt: stack.StateHold, execution: "ABORTED", end: endClosed, by: safetyNet},
		faultRow{name: "aborted at " + stack.StateReattach, abortAt: stack.StateReattach, execution: "ABORTED", end: endClosed},
		faultRow{name: "rootwindow gone mid-window", abortAt: stack.StateHold, gone: true, execution: "ABORTED", end: endClosed, by: safetyNet},
		// The exempt strategy: the guardrail's document rewritten, attachments untouched.
		faultRow{name: "exempt UpdatePolicy throttled ×3", strategy: contract.StrategyExempt, faults: []orgemu.Fault{{Op: "UpdatePolicy", Code: "TooManyRequestsException", Times: 3}},
			execution: "SUCCEEDED", end: endClosed},
		faultRow{name: "exempt UpdatePolicy ConcurrentModificationException ×15", strategy: contract.StrategyExempt, faults: []orgemu.Fault{{Op: "UpdatePolicy", Code: "ConcurrentModificationException", Times: 15}},
			execution: "SUCCEEDED", end: endClosed, invoked: map[string]int{contract.TaskDetach: 2}},
		faultRow{name: "exempt UpdatePolicy AccessDeniedException on the lift", strategy: contract.StrategyExempt, faults: []orgemu.Fault{{Op: "UpdatePolicy", Code: "AccessDeniedException", Times: 1}},
			execution: "FAILED", end: endFailed},
		faultRow{name: "exempt aborted at " + stack.StateHold, strategy: contract.StrategyExempt, abortAt: stack.StateHold, execution: "ABORTED", end: endClosed, by: safetyNet},
		faultRow{name: "exempt rootwindow gone mid-window", strategy: contract.StrategyExempt, abortAt: stack.StateHold, gone: true, execution: "ABORTED", end: endClosed, by: safetyNet},
	)
}

// TestFaultMatrix runs each fault through the synthesized state machine, delivers the execution's
// status change to the safety net as the stack's rule would (twice, as EventBridge may), and, when
// the restore failed for good, lets the sweeper run after the window's end. Every row must end with
// the guardrail on every account, the organization otherwise as it was, no lease left, and the
// ledger saying what happened.
func TestFaultMatrix(t *testing.T) {
	accounts := []string{"111111111111", "222222222222", "333333333333"}
	for i, row := range matrix() {
		t.Run(row.name, func(t *testing.T) {
			s := begin(t)
			defer func() {
				h.Org.Reset()
				h.SetInvokeTimeout(contract.TaskDetach, 0, 0)
				h.SetInvokeTimeout(contract.TaskReattach, 0, 0)
			}()
			if row.strategy != "" {
				if err := h.Configure(s.ctx, map[string]string{contract.EnvLiftStrategy: row.strategy}); err != nil {
					t.Fatal(err)
				}
				defer func() { _ = h.Configure(s.ctx, nil) }()
			}
			for _, f := range row.faults {
				h.Org.Inject(f)
			}
			if row.setup != nil {
				row.setup()
			}
			extra := map[string]any{}
			if row.startIn > 0 {
				extra["startAt"] = h.Clock.Now().Add(row.startIn).Truncate(time.Second).Format(time.RFC3339)
			}
			id := fmt.Sprintf("matrix-%02d", i)
			res, err := h.RunWith(s.ctx, id, request(accounts, 1, extra), harness.RunOptions{AbortAt: row.abortAt})
			if err != nil {
				t.Fatal(err)
			}
			h.Idle() // a stopped execution's Lambda runs to its end
			t.Logf("execution %s %s, states %v", res.Status, res.Error, res.Entered())
			if res.Status != row.execution {
				t.Fatalf("execution %s (%s: %s), want %s", res.Status, res.Error, oneLine(res.Cause), row.execution)
			}
			for task, n := range row.invoked {
				if res.Invocations[task] < n {
					t.Errorf("%s invoked %d times, want at least %d: the fault did not bite", task, res.Invocations[task], n)
				}
			}

			if row.gone {
				rootBlockedFromTheEnd(t, s.record(id), accounts, true)
			}

			// The status change, delivered twice; a late RUNNING one is not delivered at all.
			for range 2 {
				if _, err := h.ExecutionEnded(s.ctx, id, res); err != nil && !row.restoreFailed {
					t.Errorf("safety net: %v", err)
				}
			}
			if delivered, _ := h.ExecutionEnded(s.ctx, id, harness.Result{Status: "RUNNING"}); delivered {
				t.Error("a RUNNING status change reached the safety net")
			}
			h.Org.Reset()
			h.SetInvokeTimeout(contract.TaskDetach, 0, 0)
			h.SetInvokeTimeout(contract.TaskReattach, 0, 0)

			if row.restoreFailed {
				rec := s.record(id)
				if rec.RestoreFailedAt.IsZero() || !rec.Status.Holds() {
					t.Errorf("after the failed restore: %s, restoreFailedAt %v", rec.Status, rec.RestoreFailedAt)
				}
				if leases, _ := h.Ledger().Leases(s.ctx, accounts); len(leases) == 0 {
					t.Error("the failed restore released its leases")
				}
				if !strings.Contains(strings.Join(published(t), ","), "Restore Failed") {
					t.Error("Restore Failed was not announced")
				}
				if missing, _ := h.Missing(s.ctx, accounts); len(missing) == 0 {
					t.Error("the guardrail was back without the sweeper: the row proves nothing")
				}
				// Until the sweeper comes, AWS blocks the root user from the window's end.
				rootBlockedFromTheEnd(t, rec, accounts, false)
				h.Clock.Advance(2*time.Hour + window.SweepGrace)
				if err := h.Sweep(s.ctx); err != nil {
					t.Fatalf("sweep: %v", err)
				}
			}

			rec, err := h.Ledger().Get(s.ctx, id)
			switch {
			case row.end == endNone:
				if err == nil {
					t.Errorf("recorded as %s, want nothing", rec.Status)
				}
			case err != nil:
				t.Fatalf("ledger: %v", err)
			case string(rec.Status) != row.end:
				t.Errorf("ledger %s, want %s (history %+v)", rec.Status, row.end, rec.History)
			}
			if row.by != "" && err == nil && rec.History[len(rec.History)-1].Actor != row.by {
				t.Errorf("last transition by %s, want %s", rec.History[len(rec.History)-1].Actor, row.by)
			}
			if leases, _ := h.Ledger().Leases(s.ctx, accounts); len(leases) != 0 {
				t.Errorf("leases left: %v", leases)
			}
			if row.strategy == contract.StrategyExempt {
				// The document is back byte for byte (s.unchanged compares it too).
				if got := h.Org.Content(orgemu.GuardrailID); got != orgemu.GuardrailContent {
					t.Errorf("the guardrail's document is not its base:\n%s", got)
				}
			}
			s.unchanged()
		})
	}
}

// rootBlockedFromTheEnd asks the evaluator, over the organization as it is now, whether the root
// user of each account is blocked one second after the window's end (and, when open is set,
// allowed one second before it).
func rootBlockedFromTheEnd(t *testing.T, rec ledger.Record, accounts []string, open bool) {
	t.Helper()
	if rec.RestoreAt.IsZero() {
		t.Fatalf("the window has no end: %+v", rec)
	}
	for _, a := range accounts {
		if open && !h.Org.RootAllowed(a, rec.RestoreAt.Add(-time.Second), false) {
			t.Errorf("%s: root blocked inside the window", a)
		}
		if h.Org.RootAllowed(a, rec.RestoreAt.Add(time.Second), false) {
			t.Errorf("%s: root allowed one second after the window's end", a)
		}
	}
}

func oneLine(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.ReplaceAll(s, "\n", "; ")
}

// The sweeper and a person ending the window early race for a window whose execution was stopped
// and whose end has passed; both go through the ledger's conditional transitions.
func TestSweeperRacesAnEarlyEnd(t *testing.T) {
	s := begin(t)
	accounts := []string{"111111111111", "222222222222"}
	res, err := h.RunWith(s.ctx, "race-1", request(accounts, 1, nil), harness.RunOptions{AbortAt: stack.StateHold})
	if err != nil || res.Status != "ABORTED" {
		t.Fatalf("%s %s %s: %v", res.Status, res.Error, res.Cause, err)
	}
	h.Idle()
	h.Clock.Advance(time.Hour + window.SweepGrace)
	errs := make(chan error, 2)
	go func() { errs <- h.Sweep(s.ctx) }()
	go func() {
		_, err := h.Steps().End(s.ctx, "race-1", harness.Requester)
		errs <- err
	}()
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	rec := s.record("race-1")
	closed := 0
	for _, tr := range rec.History {
		if tr.Status == ledger.Closed {
			closed++
		}
	}
	if rec.Status != ledger.Closed || closed != 1 {
		t.Errorf("%s, closed %d times", rec.Status, closed)
	}
	if leases, _ := h.Ledger().Leases(s.ctx, accounts); len(leases) != 0 {
		t.Errorf("leases left: %v", leases)
	}
	s.unchanged()
}
