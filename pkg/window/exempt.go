package window

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/request"
)

// The exempt strategy (see package guardrail) keeps the guardrail's document equal to the render
// of its base document and the ledger's open windows: lifting a window writes the render with it,
// restoring writes the render without it, and the sweep writes the render again, so that the
// document converges on the ledger. Writes take the ledger's lock on the guardrail, because
// Organizations' UpdatePolicy has no compare-and-swap, and each checks that the document is still
// the one rootwindow last wrote before replacing it.

// Lock timing for the guardrail's document: a writer holds it at most lockTTL (a Lambda's
// longest run), and waits up to lockPatience for another writer.
const (
	lockTTL      = 5 * time.Minute
	lockPatience = 60 * time.Second
)

// ErrDocumentChanged is a guardrail whose document is not the one rootwindow last wrote.
var ErrDocumentChanged = errors.New("the guardrail's document changed since rootwindow last wrote it")

// exempt lifts the guardrail wherever it is attached by rewriting its document: the root deny
// for every account, less the accounts of each open window between its start and its end (by
// aws:CurrentTime), rendered from the ledger.
type exempt struct{ s *Service }

func (exempt) name() string { return contract.StrategyExempt }

func (e exempt) problem(r guardrail.Report) string { return e.s.guardrail.ExemptProblem(r) }

// fits: the document must stay within the size quota with this window in it.
func (e exempt) fits(ctx context.Context, req request.Request) (string, error) {
	return e.s.fitsExempt(ctx, req.AccountIDs, req.StartAt, req.End())
}

// serialize holds the ledger's lock on the guardrail's document.
func (e exempt) serialize(ctx context.Context, who string, fn func(context.Context) error) error {
	return e.s.locked(ctx, who, fn)
}

// lift renders the document from its base and the open windows and writes it over checked, the
// live document read under the lock this lift holds (or, when zero, read now).
func (e exempt) lift(ctx context.Context, rec ledger.Record, restoreAt time.Time, checked guardrail.Content) (string, string, error) {
	return "", fmt.Sprintf("%d account(s) exempted in the guardrail's document, which denies their root user from %s", len(rec.AccountIDs), FormatTime(restoreAt)),
		e.s.writeExempt(ctx, ledger.Record{}, false, checked)
}

// liftFailed: a busy lock or a transient failure leaves the request OPENING for the state machine
// to retry; otherwise it fails, and the document is rendered without it (a restore failure if
// that fails too).
func (e exempt) liftFailed(ctx context.Context, rec ledger.Record, err error) error {
	s := e.s
	s.logError(ctx, "lift guardrail (exempt)", rec.RequestID, err)
	if errors.Is(err, ledger.ErrLocked) || guardrail.IsTransient(err) {
		_ = s.ledger.NoteError(ctx, rec.RequestID, err.Error())
		return &contract.Throttled{Msg: err.Error()}
	}
	failed, terr := s.ledger.Transition(ctx, rec.RequestID, ledger.Failed, ActorDetach, err.Error(), ledger.Change{LastError: err.Error()})
	if terr != nil {
		s.logError(ctx, "record failure", rec.RequestID, terr)
	}
	if werr := s.writeExempt(context.WithoutCancel(ctx), rec, true, guardrail.Content{}); werr != nil {
		s.logError(ctx, "render the guardrail without the failed window", rec.RequestID, werr)
		return &contract.RestoreFailed{Msg: err.Error() + "; rendering the guardrail without it also failed: " + werr.Error()}
	}
	if rerr := s.ledger.Release(ctx, rec.RequestID, rec.AccountIDs); rerr != nil {
		s.logError(ctx, "release leases", rec.RequestID, rerr)
	}
	if terr == nil {
		s.announce(ctx, failed)
	}
	if errors.Is(err, ErrDocumentChanged) {
		s.metric(contract.MetricGuardrailChanged, 1)
	}
	return &contract.DetachFailed{Msg: err.Error()}
}

// restore writes the document rendered without rec, whatever accounts it still holds: a restore
// exempts fewer accounts, never more, so it replaces even a document someone else changed.
func (e exempt) restore(ctx context.Context, rec ledger.Record, _ []string) error {
	return e.s.writeExempt(ctx, rec, true, guardrail.Content{})
}

func (e exempt) cutShort(ctx context.Context, rec ledger.Record) (string, error) {
	return e.s.guardrail.ExemptionProblem(ctx, rec.AccountIDs, e.s.Now())
}

// exemptions lists the windows the guardrail's document exempts now: exempt requests OPENING or
// OPEN (restoreAt fixed), except the one named, each within bounds and vouched for by its running
// execution (executionProblem): the execution decides, never a stored record alone. A window
// whose execution cannot be asked about is an error, unless failClosed (a restore: the guardrail
// comes back first), which leaves it out.
func (s *Service) exemptions(ctx context.Context, except string, failClosed bool) ([]guardrail.Exemption, error) {
	leases, err := s.ledger.AllLeases(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []guardrail.Exemption
	for _, l := range leases {
		if seen[l.RequestID] || l.RequestID == except {
			continue
		}
		seen[l.RequestID] = true
		rec, err := s.ledger.Get(ctx, l.RequestID)
		if errors.Is(err, ledger.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, exempted := s.strategyOf(rec).(exempt); exempted && (rec.Status == ledger.Opening || rec.Status == ledger.Open) && !rec.RestoreAt.IsZero() {
			if why := s.unbounded(rec); why != "" {
				// Fail closed: its accounts stay denied, and a person looks.
				s.metric(contract.MetricLedgerTampered, 1)
				s.log.ErrorContext(ctx, "LEDGER TAMPERED: an open window the guardrail's document would exempt is out of bounds; left out", "requestId", rec.RequestID, "why", why)
				continue
			}
			why, ended, err := s.executionProblem(ctx, rec)
			if ended {
				continue // its restore is due (the status-change rescue, the sweep)
			}
			if err != nil && !failClosed {
				return nil, err
			}
			if err != nil {
				s.logError(ctx, "ask Step Functions about an open window's execution; left out of the restore's render", rec.RequestID, err)
				continue
			}
			if why != "" {
				s.metric(contract.MetricLedgerTampered, 1)
				s.log.ErrorContext(ctx, "LEDGER TAMPERED: an open window the guardrail's document would exempt is not its execution's; left out", "requestId", rec.RequestID, "why", why)
				continue
			}
			out = append(out, guardrail.Exemption{AccountIDs: rec.AccountIDs, Start: rec.StartAt, End: rec.RestoreAt})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].End.Before(out[j].End) })
	return out, nil
}

// executionProblem says why a window's record is not vouched for by its execution ("" when it
// is): the execution the record names must be rootwindow's, named for the request, and started for
// these accounts and hours. ended says the execution is not running (for an open window: its
// restore is due, nothing was forged; Step Functions keeps an ended execution 90 days). A record planted in the ledger (which only
// rootwindow's roles may write) names no such execution; one that borrows a running execution
// cannot exempt accounts that execution was not started for. Where the function has no Step
// Functions client (none in production: detach, reattach and the sweeper render, and each has
// one), nothing is asked.
func (s *Service) executionProblem(ctx context.Context, rec ledger.Record) (why string, ended bool, err error) {
	if s.executions == nil {
		return "", false, nil
	}
	if rec.ExecutionARN == "" {
		return "it names no execution", false, nil
	}
	ex, err := s.executions.Describe(ctx, rec.ExecutionARN)
	switch {
	case errors.Is(err, ErrNoExecution):
		return "Step Functions has no execution " + rec.ExecutionARN, false, nil
	case err != nil:
		return "", false, err
	case ex.Name != rec.RequestID:
		return fmt.Sprintf("its execution is named %q", ex.Name), false, nil
	}
	ended = ex.Status != "RUNNING"
	if ours, err := s.isRootwindows(ctx, ex.StateMachineARN); err != nil {
		return "", ended, err
	} else if !ours {
		return "its execution is of a state machine that is not rootwindow's (" + ex.StateMachineARN + ")", ended, nil
	}
	var envelope contract.Envelope
	var started struct {
		AccountIDs []string    `json:"accountIds"`
		Hours      json.Number `json:"hours"`
	}
	if json.Unmarshal(ex.Input, &envelope) != nil || json.Unmarshal(envelope.Request, &started) != nil {
		return "its execution's input cannot be read", ended, nil
	}
	if h, err := started.Hours.Int64(); err != nil || int(h) != rec.Hours {
		return fmt.Sprintf("its execution was started for %s hours, not %d", started.Hours, rec.Hours), ended, nil
	}
	for _, a := range rec.AccountIDs {
		if !slices.Contains(started.AccountIDs, a) {
			return "its execution was not started for account " + a, ended, nil
		}
	}
	return "", ended, nil
}

// isRootwindows reports whether a state machine is rootwindow's: the configured one, or the one
// that runs as the configured role (a step's configuration cannot name the state machine that
// names it). Step Functions failing to answer is an error, not a verdict.
func (s *Service) isRootwindows(ctx context.Context, stateMachineARN string) (bool, error) {
	if s.config.StateMachineARN != "" {
		return stateMachineARN == s.config.StateMachineARN, nil
	}
	role, err := s.roleOf(ctx, stateMachineARN)
	if err != nil {
		return false, err
	}
	return role != "" && role == s.config.StateMachineRoleARN, nil
}

// unbounded says why an open window's record cannot be one rootwindow opened ("" when it can): a
// window is 1 to 4 hours from its lift, and the lift is past, so it ends at most 4 hours from
// now; its accounts are within a request's number.
func (s *Service) unbounded(rec ledger.Record) string {
	switch {
	case rec.Hours < request.MinHours || rec.Hours > request.MaxHours:
		return fmt.Sprintf("it records %d hours", rec.Hours)
	case rec.RestoreAt.After(s.Now().Add(time.Duration(request.MaxHours)*time.Hour + clockSkew)):
		return fmt.Sprintf("it ends at %s, more than %d hours from now", FormatTime(rec.RestoreAt), request.MaxHours)
	case !rec.OpenedAt.IsZero() && rec.RestoreAt.Sub(rec.OpenedAt) > time.Duration(rec.Hours)*time.Hour+clockSkew:
		return fmt.Sprintf("it opened at %s and ends at %s, more than its %d hours", FormatTime(rec.OpenedAt), FormatTime(rec.RestoreAt), rec.Hours)
	case len(rec.AccountIDs) == 0 || len(rec.AccountIDs) > request.DefaultMaxAccounts:
		return fmt.Sprintf("it names %d accounts", len(rec.AccountIDs))
	}
	return ""
}

// liveAndBase reads the guardrail's document and its base (pinning it if need be); problem says
// why no base can be pinned.
func (s *Service) liveAndBase(ctx context.Context) (live guardrail.Content, b ledger.Base, problem string, err error) {
	if live, err = s.guardrail.Content(ctx); err != nil {
		return live, b, "", err
	}
	b, problem, err = s.base(ctx, live)
	return live, b, problem, err
}

// base is the guardrail's pinned base document, pinning the live one if none is: it must then be
// a document rootwindow did not write (no Rootwindow* statement) and, when configured, have the
// configured hash.
func (s *Service) base(ctx context.Context, live guardrail.Content) (ledger.Base, string, error) {
	b, found, err := s.ledger.GuardrailBase(ctx)
	if err != nil {
		return b, "", err
	}
	pinned := s.config.GuardrailSHA256
	if !found {
		if _, err := guardrail.RenderExempt(live.Text, []guardrail.Exemption{{AccountIDs: []string{"000000000000"}, End: time.Unix(0, 0)}}); err != nil {
			return b, fmt.Sprintf("the guardrail %s cannot be pinned as the base document: %v", s.guardrail.PolicyID(), err), nil
		}
		if pinned != "" && live.SHA256 != pinned {
			return b, fmt.Sprintf("the guardrail %s's document is not the pinned one (its sha256 is %s; pinned: %s)", s.guardrail.PolicyID(), live.SHA256, pinned), nil
		}
		written, err := guardrail.DocumentSHA256(live.Text)
		if err != nil {
			return b, err.Error(), nil
		}
		b, err = s.ledger.PinBase(ctx, ledger.Base{Content: live.Text, SHA256: live.SHA256, Written: written})
		return b, "", err
	}
	// The ledger is a table: its base item is checked, not trusted. Its hash is computed again from
	// its content, and it must still be a document with a root deny to exempt accounts from.
	if sum := sha256.Sum256([]byte(b.Content)); hex.EncodeToString(sum[:]) != b.SHA256 {
		s.metric(contract.MetricLedgerTampered, 1)
		return b, fmt.Sprintf("the guardrail %s's base document in the ledger does not hash to the sha256 recorded with it: LEDGER TAMPERED; an operator restores or re-pins it", s.guardrail.PolicyID()), nil
	}
	if pinned != "" && b.SHA256 != pinned {
		s.metric(contract.MetricLedgerTampered, 1)
		return b, fmt.Sprintf("the guardrail %s's base document in the ledger (sha256 %s) is not the configured one (%s): an operator re-pins it", s.guardrail.PolicyID(), b.SHA256[:12], pinned[:12]), nil
	}
	if _, err := guardrail.RenderExempt(b.Content, []guardrail.Exemption{{AccountIDs: []string{"000000000000"}, End: time.Unix(0, 0)}}); err != nil {
		return b, fmt.Sprintf("the guardrail %s's base document in the ledger is not one rootwindow can exempt accounts from: %v", s.guardrail.PolicyID(), err), nil
	}
	return b, "", nil
}

// exemptDocumentProblem says what is wrong with the guardrail's document under the exempt (or
// auto) strategy, or "", with the document it read: not a policy Control Tower manages, the live
// document the one rootwindow last wrote, and under auto, where a request may be detached, its
// base holding nothing but the root deny and allowed statements.
func (s *Service) exemptDocumentProblem(ctx context.Context) (problem string, live guardrail.Content, err error) {
	// Under the lock: another writer's document and its record of it are written one after the
	// other, and must be read together.
	err = s.locked(ctx, "check", func(ctx context.Context) error {
		if live, err = s.guardrail.Content(ctx); err != nil {
			return err
		}
		if problem = controlTowerProblem(s.guardrail.PolicyID(), live); problem != "" {
			return nil // before its base is pinned
		}
		var b ledger.Base
		if b, problem, err = s.base(ctx, live); err != nil || problem != "" {
			return err
		}
		// An exemption leaves every other statement in force; a detach (under auto) lifts them too.
		if s.autoInUse() {
			if problem = s.extraStatementsProblem(b.Content); problem != "" {
				return nil
			}
		}
		if sha, err := guardrail.DocumentSHA256(live.Text); err != nil || sha != b.Written {
			problem = fmt.Sprintf("%s (%s): rootwindow lifts only a document it wrote; an operator puts it back or re-pins the base",
				ErrDocumentChanged.Error(), s.guardrail.PolicyID())
		}
		return nil
	})
	return problem, live, err
}

// writeExempt renders the guardrail's document from its base and the open windows (less the
// window of taken, when it is a request being restored) and writes it if the live document
// differs. A live document someone else changed (or a base the ledger cannot vouch for) is not
// replaced: a lift is refused (ErrDocumentChanged); a restore (force) takes back only its own
// window's exemption from the live document and leaves the rest, an operator's change included,
// for a person (GuardrailChanged). live is the document as read under the lock this call runs
// in, when the caller read it there (zero: read it).
func (s *Service) writeExempt(ctx context.Context, taken ledger.Record, force bool, live guardrail.Content) error {
	return s.locked(ctx, taken.RequestID, func(ctx context.Context) error { return s.writeExemptLocked(ctx, taken, force, live) })
}

// holdingLock marks a context whose call holds the ledger's lock on the guardrail's document.
type holdingLock struct{}

// locked runs fn holding the ledger's lock on the guardrail's document: taken for it, or already
// held by the call fn runs in (a step that checks the document and writes it in one section).
func (s *Service) locked(ctx context.Context, who string, fn func(context.Context) error) error {
	if ctx.Value(holdingLock{}) != nil {
		return fn(ctx)
	}
	release, err := s.ledger.Lock(ctx, "guardrail", who+"/"+randomHex(), lockTTL, lockPatience)
	if err != nil {
		return err
	}
	defer func() {
		if err := release(context.WithoutCancel(ctx)); err != nil {
			s.log.ErrorContext(ctx, "release the guardrail's lock", "error", err.Error())
		}
	}()
	return fn(context.WithValue(ctx, holdingLock{}, true))
}

func (s *Service) writeExemptLocked(ctx context.Context, taken ledger.Record, force bool, live guardrail.Content) error {
	var b ledger.Base
	var problem string
	var err error
	if live.Text == "" {
		live, b, problem, err = s.liveAndBase(ctx)
	} else {
		b, problem, err = s.base(ctx, live)
	}
	if err != nil {
		return err
	}
	if problem == "" {
		if sha, _ := guardrail.DocumentSHA256(live.Text); sha != b.Written {
			s.metric(contract.MetricGuardrailChanged, 1)
			problem = ErrDocumentChanged.Error()
		}
	}
	if problem != "" {
		if !force {
			if problem == ErrDocumentChanged.Error() {
				return ErrDocumentChanged
			}
			return errors.New(problem)
		}
		return s.takeBackOnly(ctx, live, taken, problem)
	}
	ex, err := s.exemptions(ctx, taken.RequestID, force)
	if err != nil {
		return err
	}
	doc, err := guardrail.RenderExempt(b.Content, ex)
	if err != nil {
		return err
	}
	current, _ := guardrail.Canonical(live.Text)
	if want, _ := guardrail.Canonical(doc); current == want {
		return nil // it already says this (a write from exempted back to the base writes its bytes)
	}
	if err := s.guardrail.WriteDocument(ctx, doc); err != nil {
		return err
	}
	written, _ := guardrail.DocumentSHA256(doc)
	if err := s.ledger.MarkWritten(ctx, written); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "guardrail's document rendered", "windows", len(ex))
	return nil
}

// takeBackOnly restores a window on a guardrail whose document rootwindow cannot vouch for (changed
// by someone else since rootwindow last wrote it, or rendered from a base the ledger cannot vouch
// for): it removes the window's accounts from the live document and writes that, keeping every
// other statement and exemption; it does not record the write as rootwindow's, so lifts stay
// refused until a person puts the document back or re-pins it.
func (s *Service) takeBackOnly(ctx context.Context, live guardrail.Content, taken ledger.Record, why string) error {
	if len(taken.AccountIDs) == 0 {
		return nil // nothing of a window to take back (a sweep's render)
	}
	doc, err := guardrail.WithoutAccounts(live.Text, taken.AccountIDs)
	if err != nil {
		return err
	}
	current, _ := guardrail.Canonical(live.Text)
	if want, _ := guardrail.Canonical(doc); current == want {
		return nil // none of its exemption is there
	}
	s.log.ErrorContext(ctx, "GUARDRAIL CHANGED outside rootwindow: taking back only this window's exemption, leaving the rest for a person",
		"policy", s.guardrail.PolicyID(), "requestId", taken.RequestID, "why", why)
	return s.guardrail.WriteDocument(ctx, doc)
}

// fitsExempt checks that the guardrail's document would stay within the size quota with one more
// window on accounts from start until end; "" when it fits.
func (s *Service) fitsExempt(ctx context.Context, accounts []string, start, end time.Time) (string, error) {
	_, b, problem, err := s.liveAndBase(ctx)
	if err != nil || problem != "" {
		return problem, err
	}
	ex, err := s.exemptions(ctx, "", false)
	if err != nil {
		return "", err
	}
	doc, err := guardrail.RenderExempt(b.Content, append(ex, guardrail.Exemption{AccountIDs: accounts, Start: start, End: end}))
	if err != nil {
		return err.Error(), nil
	}
	if quota := s.config.SCPSizeQuota; quota > 0 && len(doc) > quota {
		return fmt.Sprintf("the guardrail's document would be %d characters with this window, over the SCP size quota of %d, with %d window(s) open: ask again when one has ended, or for fewer accounts",
			len(doc), quota, len(ex)), nil
	}
	return "", nil
}

func randomHex() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
