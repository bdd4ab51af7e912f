package window

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/notify"
	"github.com/rootwindow/rootwindow/pkg/policy"
	"github.com/rootwindow/rootwindow/pkg/request"
)

// The safety net: whatever happens to one execution, the guardrail comes back or a person is told.
// Rescue answers an execution that ended without closing its window; Sweep, on a schedule,
// restores every window that is over, sends pending notifications and reports drift. Both only
// act through the ledger's conditional transitions and idempotent Organizations calls, so they
// are safe to run concurrently with each other and with the workflow.

const (
	// SweepGrace is how long after a window's planned end the sweeper leaves it to the workflow.
	SweepGrace = 10 * time.Minute
	// startGrace is how long after a request was recorded the sweep waits for its execution to
	// exist: the API reserves first and starts the execution a moment later.
	startGrace = 2 * time.Minute
	// recentRequests bounds the requests whose accounts the sweeper checks for drift and whose
	// pending notifications it sends.
	recentRequests = 200
)

// Metric writes one CloudWatch metric in Embedded Metric Format, one JSON line.
func (s *Service) metric(name string, value int) {
	if s.metrics == nil {
		return
	}
	line, _ := json.Marshal(map[string]any{
		"_aws": map[string]any{
			"Timestamp": s.clock().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace": contract.MetricsNamespace, "Dimensions": [][]string{{}},
				"Metrics": []any{map[string]string{"Name": name, "Unit": "Count"}},
			}},
		},
		name: value,
	})
	_, _ = fmt.Fprintf(s.metrics, "%s\n", line)
}

// Count records one occurrence of a metric (contract.Metric*).
func (s *Service) Count(name string) { s.metric(name, 1) }

// settle brings a request that should no longer hold its accounts to rest: nothing lifted stays
// lifted, the leases are released, the notifications go out. A restore that fails is recorded as
// Restore Failed (the leases stay) and returned.
func (s *Service) settle(ctx context.Context, rec ledger.Record, actor, why string) (ledger.Record, error) {
	var err error
	switch rec.Status {
	case ledger.Scheduled:
		// Nothing was lifted: withdraw the reservation.
		rec, err = s.Withdraw(ctx, rec, actor, why, ledger.Change{LastError: why})
	case ledger.Opening:
		rec, err = s.restore(ctx, rec, "rescue", ledger.Failed, actor, "window did not open: "+why, ledger.Change{LastError: why})
	case ledger.Open, ledger.Closing:
		rec, err = s.close(ctx, rec, actor, why)
	default:
		// Closed, failed, cancelled or rejected: only leases left behind by an interrupted step.
		if err = s.ledger.Release(ctx, rec.RequestID, rec.AccountIDs); err == nil {
			s.announce(ctx, rec)
		}
	}
	var rf *contract.RestoreFailed
	if errors.As(err, &rf) {
		s.metric(contract.MetricRestoreFailed, 1)
		if marked, merr := s.ledger.MarkRestoreFailed(ctx, rec.RequestID, "the guardrail could not be restored: "+rf.Msg); merr == nil {
			s.announce(ctx, marked)
		}
	}
	return rec, err
}

// Rescue restores the guardrail for a request whose execution ended (failed, timed out or was
// stopped) without closing its window, and records why. A request already at rest, or never
// recorded, needs nothing.
func (s *Service) Rescue(ctx context.Context, requestID, why string) (ledger.Record, error) {
	rec, err := s.ledger.Get(ctx, requestID)
	if errors.Is(err, ledger.ErrNotFound) {
		return rec, nil
	}
	if err != nil {
		return rec, retryLater(err)
	}
	if !rec.Status.Holds() {
		s.announce(ctx, rec)
		return rec, nil
	}
	s.log.WarnContext(ctx, "execution ended with its window not closed: the safety net restores it", "requestId", requestID, "status", rec.Status, "why", why)
	s.metric(contract.MetricRescued, 1)
	return s.settleMoving(ctx, rec, actorSafetyNet, why)
}

// settleMoving settles a request that a step still running may move meanwhile (a Lambda goes on
// after its execution is stopped): when a transition finds the request moved, it settles it again
// from where it is now.
func (s *Service) settleMoving(ctx context.Context, rec ledger.Record, actor, why string) (ledger.Record, error) {
	for attempt := 0; ; attempt++ {
		settled, err := s.settle(ctx, rec, actor, why)
		var moved *contract.InvalidState
		if !errors.As(err, &moved) || attempt == 3 {
			return settled, err
		}
		if rec, err = s.ledger.Get(ctx, rec.RequestID); err != nil {
			return rec, retryLater(err)
		}
	}
}

// SweepReport says what one sweep did.
type SweepReport struct {
	Settled []string `json:"settled,omitempty"` // requests whose window was over and is now closed
	Cleaned []string `json:"cleaned,omitempty"` // window SCPs left behind, now removed
	// CutShort are open windows whose lift was undone outside rootwindow, now closed.
	CutShort []string `json:"cutShort,omitempty"`
	Drift    []string `json:"drift,omitempty"`   // accounts without the guardrail and without an open window
	Content  string   `json:"content,omitempty"` // what is wrong with the guardrail's document
	Checked  int      `json:"checked"`           // accounts checked for drift
	Scanned  bool     `json:"scanned,omitempty"` // the whole organization was read for drift
	// Released are accounts that lost the guardrail but carry contract.TagUnprotected: no longer
	// watched, announced once.
	Released []string `json:"released,omitempty"`
	// RootPasswordsDeleted are accounts whose root password, allowed for a window now over, was
	// deleted again.
	RootPasswordsDeleted []string `json:"rootPasswordsDeleted,omitempty"`
	// Operators says why the operators may not hear of what rootwindow announces.
	Operators string `json:"operators,omitempty"`
	// Unreviewed are break-glass requests still waiting for another administrator's review.
	Unreviewed []string `json:"unreviewed,omitempty"`
	// Reported are the windows whose report this sweep made; RootScanned says it looked for
	// root activity outside windows, RootOutside the events it found (each once).
	Reported    []string `json:"reported,omitempty"`
	RootScanned bool     `json:"rootScanned,omitempty"`
	RootOutside []string `json:"rootOutside,omitempty"`
	Errors      []string `json:"errors,omitempty"`
}

// checkOperators checks that the operators' email still hears of what rootwindow announces (a
// Restore Failed above all): subscribed, confirmed, and not removable by the link at the foot of
// a forwarded message. While it is not, every sweep counts OperatorsUnreachable, whose alarm the
// CloudWatch console shows whatever else the topic reaches.
func (s *Service) checkOperators(ctx context.Context, rep *SweepReport) {
	if s.notify == nil || s.config.NotificationEmail == "" {
		return
	}
	problem, err := s.notify.OperatorsProblem(ctx, s.config.NotificationEmail)
	if err != nil {
		s.failed(ctx, rep, "check the operators' subscription", err)
		return
	}
	if problem != "" {
		rep.Operators = problem
		s.metric(contract.MetricOperatorsUnreachable, 1)
		s.log.ErrorContext(ctx, "OPERATORS UNREACHABLE: "+problem)
	}
}

// failed records a part of a sweep that failed; the sweep goes on with the rest.
func (s *Service) failed(ctx context.Context, rep *SweepReport, what string, err error) {
	s.log.ErrorContext(ctx, "sweep: "+what, "error", err.Error())
	rep.Errors = append(rep.Errors, what+": "+err.Error())
}

// Sweep restores every lease whose window is over (SweepGrace after its planned end), sends the
// notifications recent requests still owe, and reports drift: an account rootwindow knows (from
// its leases and recent requests) that lacks the guardrail while no window is open on it. It does
// all it can and returns an error if any part failed.
func (s *Service) Sweep(ctx context.Context) (SweepReport, error) {
	var rep SweepReport
	leases, err := s.ledger.AllLeases(ctx)
	if err != nil {
		return rep, retryLater(err)
	}
	lifted := s.settleOver(ctx, leases, &rep)
	s.cleanUpWindowPolicies(ctx, &rep)
	if s.exemptInUse() {
		// The guardrail's document converges on the ledger: an exemption a restore left behind
		// goes. A document someone else changed is not overwritten; checkDrift reports it.
		if err := s.writeExempt(ctx, ledger.Record{}, false, guardrail.Content{}); err != nil && !errors.Is(err, ErrDocumentChanged) {
			s.failed(ctx, &rep, "render the guardrail's document", err)
		}
	}
	known := s.flushRecent(ctx, leases, &rep)
	s.checkDrift(ctx, known, lifted, &rep)
	s.checkOperators(ctx, &rep)
	s.checkReviews(ctx, &rep)
	s.makeReports(ctx, &rep)
	s.checkRootOutside(ctx, &rep)
	s.log.InfoContext(ctx, "sweep done", "settled", len(rep.Settled), "checked", rep.Checked, "drift", len(rep.Drift), "errors", len(rep.Errors))
	if len(rep.Errors) > 0 {
		return rep, fmt.Errorf("sweep: %d part(s) failed: %s", len(rep.Errors), strings.Join(rep.Errors, "; "))
	}
	return rep, nil
}

// settleOver settles the requests behind leases whose window is over, and restores and drops
// leases whose request is gone. It returns the accounts that an open window may leave without the
// guardrail (and those whose restore failed, which Restore Failed has reported already).
func (s *Service) settleOver(ctx context.Context, leases []ledger.Lease, rep *SweepReport) map[string]bool {
	now := s.Now()
	byRequest := map[string][]ledger.Lease{}
	for _, l := range leases {
		byRequest[l.RequestID] = append(byRequest[l.RequestID], l)
	}
	lifted := map[string]bool{}
	for id, ls := range byRequest {
		rec, err := s.ledger.Get(ctx, id)
		if errors.Is(err, ledger.ErrNotFound) {
			// A lease without its request: put the guardrail back, by the strategy the
			// configuration lifts with (auto: detach; under exempt the document's render counts
			// only requests on record, so writing it holds no exemption for these), and drop it.
			accounts := accountsOf(ls)
			if err = s.strategyNamed(s.config.LiftStrategy).restore(ctx, ledger.Record{RequestID: id, Fields: request.Fields{AccountIDs: accounts}}, accounts); err != nil {
				s.failed(ctx, rep, "restore orphan leases of "+id, err)
			} else if err := s.ledger.Release(ctx, id, accounts); err != nil {
				s.failed(ctx, rep, "release orphan leases of "+id, err)
			}
			continue
		}
		if err != nil {
			s.failed(ctx, rep, "read "+id, err)
			continue
		}
		over := !rec.PlannedEnd().Add(SweepGrace).After(now)
		why := fmt.Sprintf("the window was due to end at %s: restored by the sweeper", FormatTime(rec.PlannedEnd()))
		if !over && rec.Status.Holds() {
			gone, err := s.executionGone(ctx, rec)
			if err != nil {
				s.failed(ctx, rep, "ask Step Functions about "+id, err)
			}
			if gone == "" && rec.Status == ledger.Open {
				gone = s.cutShort(ctx, rec, rep)
			}
			if gone == "" {
				if rec.Status != ledger.Scheduled {
					markAll(lifted, rec.AccountIDs)
				}
				continue
			}
			why = gone
		}
		if !rec.Status.Holds() {
			why = "leases left by an interrupted step"
		}
		if _, err := s.settleMoving(ctx, rec, actorSweeper, why); err != nil {
			s.failed(ctx, rep, "settle "+id, err)
			markAll(lifted, rec.AccountIDs) // known to be missing: Restore Failed said so already
			continue
		}
		rep.Settled = append(rep.Settled, id)
	}
	return lifted
}

// cutShort checks that an open window's lift is still in place as its strategy made it, and
// says why the window must close now when it is not: its window SCP or its exemption gone (the
// window SCP is what closes a detach window by AWS's clock), the guardrail back, or another
// deployment's render without it; or its record is out of bounds. A window the organization no longer lifts is never left
// reported OPEN: it is closed (the guardrail put back on whatever is still lifted), announced,
// and WindowCutShort alarms.
func (s *Service) cutShort(ctx context.Context, rec ledger.Record, rep *SweepReport) string {
	if why := s.unbounded(rec); why != "" {
		// No window rootwindow opened looks like this: someone wrote the record.
		s.metric(contract.MetricLedgerTampered, 1)
		s.log.ErrorContext(ctx, "LEDGER TAMPERED: an open window's record is out of bounds: closing it", "requestId", rec.RequestID, "why", why)
		rep.CutShort = append(rep.CutShort, rec.RequestID)
		return "its record cannot be a window rootwindow opened (" + why + "): closed by the sweeper"
	}
	if why, ended, err := s.executionProblem(ctx, rec); err == nil && !ended && why != "" {
		// Its running execution was not started for what the record says: someone wrote it.
		s.metric(contract.MetricLedgerTampered, 1)
		s.log.ErrorContext(ctx, "LEDGER TAMPERED: an open window's record is not its execution's: closing it", "requestId", rec.RequestID, "why", why)
		rep.CutShort = append(rep.CutShort, rec.RequestID)
		return "its record is not its execution's (" + why + "): closed by the sweeper"
	}
	problem, err := s.strategyOf(rec).cutShort(ctx, rec)
	if err != nil {
		s.failed(ctx, rep, "check the lift of "+rec.RequestID, err)
		return ""
	}
	if problem == "" {
		return ""
	}
	s.metric(contract.MetricWindowCutShort, 1)
	s.log.ErrorContext(ctx, "an open window's lift was undone outside rootwindow: closing it", "requestId", rec.RequestID, "problem", problem)
	rep.CutShort = append(rep.CutShort, rec.RequestID)
	return "the window was cut short outside rootwindow (" + problem + "): closed by the sweeper"
}

// cleanUpWindowPolicies removes the window SCPs whose request no longer holds its accounts (a
// restore that could put the guardrail back but not take the window's SCP off, or was cut short):
// the guardrail back on each account the SCP is still attached to, the SCP detached and deleted.
func (s *Service) cleanUpWindowPolicies(ctx context.Context, rep *SweepReport) {
	policies, err := s.guardrail.WindowPolicies(ctx)
	if err != nil {
		s.failed(ctx, rep, "list window SCPs", err)
		return
	}
	for id, policyID := range policies {
		rec, err := s.ledger.Get(ctx, id)
		switch {
		case err == nil && rec.Status.Holds():
			continue // its window is on, or its restore is for the workflow to make
		case err != nil && !errors.Is(err, ledger.ErrNotFound):
			s.failed(ctx, rep, "read "+id, err)
			continue
		}
		// Another deployment of rootwindow in the organization (sharing the guardrail) made it:
		// its window is that deployment's to close, whatever this ledger says of the name.
		if other, err := s.guardrail.MadeByAnother(ctx, policyID); err != nil {
			s.failed(ctx, rep, "read who made "+policyID, err)
			continue
		} else if other != "" {
			continue
		}
		s.log.WarnContext(ctx, "removing a window SCP left behind", "requestId", id, "policy", policyID)
		if err := s.guardrail.CleanUp(ctx, id, policyID); err != nil {
			s.failed(ctx, rep, "remove window SCP "+policyID, err)
			continue
		}
		rep.Cleaned = append(rep.Cleaned, policyID)
	}
	sort.Strings(rep.Cleaned)
}

// flushRecent sends the notifications recent requests still owe, and returns the accounts
// rootwindow knows: those leased now and those of recent requests that were not rejected.
func (s *Service) flushRecent(ctx context.Context, leases []ledger.Lease, rep *SweepReport) map[string]bool {
	known := map[string]bool{}
	markAll(known, accountsOf(leases))
	recent, _, err := s.ledger.List(ctx, ledger.Filter{}, recentRequests, "")
	if err != nil {
		s.failed(ctx, rep, "list recent requests", err)
	}
	for _, rec := range recent {
		if !rec.Status.Holds() && rec.Status != ledger.Scheduled {
			rec = s.forgetRootPasswords(ctx, rec, rep)
		}
		if len(notify.Pending(rec)) > 0 {
			s.announce(ctx, rec)
		}
		if rec.Status != ledger.Rejected {
			markAll(known, rec.AccountIDs)
		}
	}
	return known
}

// forgetRootPasswords deletes, once a window is over, the root passwords rootwindow allowed for it
// (prepareRootSignIn): nothing is left behind. It records each deletion with the request; one it
// cannot make is counted (RootPasswordsLeft, alarmed) at every sweep until it is made.
func (s *Service) forgetRootPasswords(ctx context.Context, rec ledger.Record, rep *SweepReport) ledger.Record {
	var left []int
	for i, si := range rec.SignIn {
		if si.Prepared && !si.Deleted {
			left = append(left, i)
		}
	}
	if len(left) == 0 {
		return rec
	}
	if s.root == nil {
		s.metric(contract.MetricRootPasswordLeft, len(left))
		s.failed(ctx, rep, "delete the root passwords allowed for "+rec.RequestID, errors.New("this function cannot assume root (centralizedRootAccess is off now?)"))
		return rec
	}
	signIn := slices.Clone(rec.SignIn)
	var deleted []string
	for _, i := range left {
		if err := s.root.DeletePassword(ctx, signIn[i].AccountID); err != nil {
			s.metric(contract.MetricRootPasswordLeft, 1)
			s.failed(ctx, rep, "delete the root password of "+signIn[i].AccountID+" allowed for "+rec.RequestID, err)
			continue
		}
		signIn[i].Deleted = true
		deleted = append(deleted, signIn[i].AccountID)
	}
	if len(deleted) == 0 {
		return rec
	}
	noted, err := s.ledger.NoteSignIn(ctx, rec, signIn, actorSweeper, "root password deleted again after the window on "+strings.Join(deleted, ", "))
	if err != nil {
		s.failed(ctx, rep, "record the root passwords deleted for "+rec.RequestID, err)
		return rec
	}
	rep.RootPasswordsDeleted = append(rep.RootPasswordsDeleted, deleted...)
	s.log.InfoContext(ctx, "root passwords allowed for the window deleted again", "requestId", rec.RequestID, "accounts", len(deleted))
	return noted
}

// checkDrift reports the protected accounts that no open window lifts and that the guardrail does
// not protect now: not attached to them or above them, or its document does not deny their root
// user. Every DriftScanMinutes it reads the whole organization (Guardrail.Coverage: by parent and
// by policy target, no call per account) and watches every account the guardrail applied to at a
// scan, until it leaves the organization or carries contract.TagUnprotected; between scans it
// checks the accounts rootwindow knows and those the last scan found drifted, one by one.
func (s *Service) checkDrift(ctx context.Context, known, lifted map[string]bool, rep *SweepReport) {
	watch := maps.Clone(known)
	prot, err := s.ledger.Protection(ctx)
	if err != nil {
		s.failed(ctx, rep, "read the protected accounts", err)
	}
	var covered map[string]bool
	scanned := false
	if s.tree != nil && err == nil && s.Now().Sub(prot.ScannedAt) >= time.Duration(s.config.DriftScanMinutes)*time.Minute {
		cov, err := s.guardrail.Coverage(ctx, s.tree)
		if err != nil {
			s.failed(ctx, rep, "scan the organization for drift", err)
		} else {
			scanned, covered = true, cov.Active
			markAll(watch, prot.Accounts)
			for a, on := range cov.Active {
				if on {
					watch[a] = true
				}
			}
			for a := range watch {
				if _, active := cov.Active[a]; !active {
					delete(watch, a) // left the organization, suspended, or the management account
				}
			}
		}
	}
	if !scanned {
		markAll(watch, prot.Drifted)
	}
	var check []string
	for a := range watch {
		if !lifted[a] {
			check = append(check, a)
		}
	}
	sort.Strings(check)
	if covered == nil && len(check) > 0 {
		// Attached to the account or anywhere above it counts.
		if covered, err = s.guardrail.Covers(ctx, check); err != nil {
			s.failed(ctx, rep, "check where the guardrail applies", err)
			check = nil
		}
	}
	// And the guardrail's document itself must deny each one's root user now (the evaluator, on
	// the document as Organizations holds it: an exemption for an account in no window is drift).
	denies := func(string) bool { return true }
	if c, err := s.guardrail.Content(ctx); err != nil {
		s.failed(ctx, rep, "read the guardrail's document", err)
	} else if doc, err := policy.Parse([]byte(c.Text)); err == nil {
		denies = func(a string) bool { return doc.Evaluate(policy.RootUser(a, s.Now(), false)) == policy.Deny }
	}
	rep.Checked, rep.Scanned = len(check), scanned
	for _, a := range check {
		if covered[a] && denies(a) {
			continue
		}
		switch released, err := s.guardrail.Tagged(ctx, a, contract.TagUnprotected); {
		case err != nil:
			s.failed(ctx, rep, "read the tags of "+a, err)
			rep.Drift = append(rep.Drift, a)
		case released:
			rep.Released = append(rep.Released, a)
			delete(watch, a)
		default:
			rep.Drift = append(rep.Drift, a)
		}
	}
	if scanned {
		p := ledger.Protection{Accounts: slices.Sorted(maps.Keys(watch)), Drifted: rep.Drift, ScannedAt: s.Now()}
		if err := s.ledger.SaveProtection(ctx, p); err != nil {
			s.failed(ctx, rep, "record the protected accounts", err)
		}
	}
	if len(rep.Released) > 0 {
		s.log.WarnContext(ctx, "drift: accounts released from protection by their "+contract.TagUnprotected+" tag", "accounts", strings.Join(rep.Released, ","))
	}
	problem, err := s.GuardrailProblem(ctx)
	if err != nil {
		s.failed(ctx, rep, "read the guardrail's document", err)
	}
	rep.Content = problem
	if len(rep.Drift) == 0 && problem == "" && len(rep.Released) == 0 {
		return
	}
	now := s.Now()
	if len(rep.Drift) > 0 {
		s.metric(contract.MetricDriftDetected, len(rep.Drift))
		s.log.ErrorContext(ctx, "DRIFT: guardrail missing from accounts with no open window", "accounts", strings.Join(rep.Drift, ","))
	}
	if problem != "" {
		s.metric(contract.MetricGuardrailChanged, 1)
		s.log.ErrorContext(ctx, "DRIFT: the guardrail's document", "problem", problem)
	}
	if s.notify == nil {
		return
	}
	// Announced once, then reminded daily while it lasts (the metric and its alarm every sweep).
	what := problem + "|" + strings.Join(rep.Drift, ",") + "|" + strings.Join(rep.Released, ",")
	due, err := s.ledger.DriftDue(ctx, what, driftReminder)
	if err != nil {
		s.failed(ctx, rep, "read the last drift notification", err)
		return
	}
	if !due {
		return
	}
	d := notify.Drift{NotificationID: "drift/" + now.Format(time.RFC3339), PolicyID: s.guardrail.PolicyID(), AccountIDs: rep.Drift, Released: rep.Released, Content: problem, DetectedAt: now}
	if err := s.notify.PublishDrift(ctx, d); err != nil {
		s.failed(ctx, rep, "notify drift", err)
		return
	}
	if err := s.ledger.MarkDriftAnnounced(ctx, what); err != nil {
		s.failed(ctx, rep, "record the drift notification", err)
	}
}

// driftReminder is how often an ongoing drift is announced again.
const driftReminder = 24 * time.Hour

// ConfirmEnded asks Step Functions whether an execution really ended as a status-change event
// says, before the sweeper acts on it: the event must name rootwindow's state machine and the
// execution of it named for the request, and that execution must have the status now. Anyone who
// can invoke the sweeper (or route an event to it) could otherwise close or withdraw any request.
func (s *Service) ConfirmEnded(ctx context.Context, stateMachineARN, executionARN, name, status string) error {
	want := s.config.StateMachineARN
	if s.executions == nil || want == "" {
		return &contract.Unavailable{Msg: "the sweeper cannot ask Step Functions (no state machine configured): a status change is not acted on unconfirmed"}
	}
	refuse := func(why string) error {
		s.log.ErrorContext(ctx, "status change not confirmed by Step Functions; ignored", "requestId", name, "execution", executionARN, "why", why)
		return &contract.InvalidState{Msg: fmt.Sprintf("status change of %s not acted on: %s", name, why)}
	}
	if stateMachineARN != want || executionARN != strings.Replace(want, ":stateMachine:", ":execution:", 1)+":"+name {
		return refuse("it is not of rootwindow's state machine, or not the execution named for the request")
	}
	got, err := s.executions.Status(ctx, executionARN)
	switch {
	case errors.Is(err, ErrNoExecution):
		return refuse("Step Functions has no such execution")
	case err != nil:
		return retryLater(err)
	case got != status:
		return refuse(fmt.Sprintf("Step Functions says the execution is %s, not %s", got, status))
	}
	return nil
}

// executionGone says why a request that holds its accounts has no execution running ("" when it
// has one): it ended without settling the request (and its rescue was lost), or it never existed
// (a record rootwindow's workflow never ran). Such a request is settled now, not at its planned
// end. A request recorded moments ago is given time for its execution to start.
func (s *Service) executionGone(ctx context.Context, rec ledger.Record) (string, error) {
	if s.executions == nil || s.config.StateMachineARN == "" || s.Now().Sub(rec.CreatedAt) < startGrace {
		return "", nil
	}
	arn := strings.Replace(s.config.StateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + rec.RequestID
	status, err := s.executions.Status(ctx, arn)
	switch {
	case errors.Is(err, ErrNoExecution):
		return "the request has no execution: settled by the sweeper", nil
	case err != nil:
		return "", err
	case status != "RUNNING":
		return fmt.Sprintf("its execution is %s: settled by the sweeper", status), nil
	}
	return "", nil
}

func markAll(set map[string]bool, accounts []string) {
	for _, a := range accounts {
		set[a] = true
	}
}

func accountsOf(ls []ledger.Lease) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.AccountID
	}
	return out
}
