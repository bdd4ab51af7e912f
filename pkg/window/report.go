package window

import (
	"context"
	"errors"
	"slices"
	"sort"
	"time"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/notify"
)

// What root did: a report of each window once it is over, and root activity on protected accounts
// outside any window, both read by the sweep from where the organization's management events are
// kept (RootActivity: CloudTrail Lake, or an organization trail's log group).
//
// CloudTrail delivers an event about 5 minutes after the call on average, and does not guarantee
// it (AWS CloudTrail User Guide, "CloudTrail concepts"; ../DESIGN.md, "Facts about the
// environment"). So a window's report is made ReportDelay after the window ended, three times that
// average, and says that events delivered later are not in it (its query, run again, finds them);
// and each look for root activity outside windows reads RootLookback further back than the last
// look, keeping each event by its ID so that a late one is still found, and announced once.
const (
	ReportDelay  = 15 * time.Minute
	RootLookback = 2 * time.Hour
)

// reportsPerSweep bounds the reports one sweep makes: one query each, one at a time, well inside
// the sweeper's 300 seconds and Lake's 10 queries at once; the rest wait for the next sweep.
const reportsPerSweep = 5

// reportDue notes that rec's window ended, so that the sweep reports on it; a failure is logged
// (the guardrail is back whatever becomes of the report).
func (s *Service) reportDue(ctx context.Context, id string) {
	if err := s.ledger.ReportDue(ctx, id); err != nil {
		s.logError(ctx, "note that the window's report is due", id, err)
	}
}

// makeReports makes the reports due: what the root users of each ended window's accounts did
// from the lift to the guardrail's return, or "no report source" where no event data store is
// configured. A report is recorded once, with the request, and announced (Window Report) through
// the record's outbox.
func (s *Service) makeReports(ctx context.Context, rep *SweepReport) {
	ids, err := s.ledger.ReportsDue(ctx)
	if err != nil {
		s.failed(ctx, rep, "read the windows whose report is due", err)
		return
	}
	queried := 0
	for _, id := range ids {
		rec, err := s.ledger.Get(ctx, id)
		switch {
		case errors.Is(err, ledger.ErrNotFound):
			s.reportDone(ctx, rep, id)
			continue
		case err != nil:
			s.failed(ctx, rep, "read "+id, err)
			continue
		}
		from, to, lifted := rec.Lifted()
		if rec.Report != nil || !lifted {
			s.reportDone(ctx, rep, id) // made already, or nothing was lifted: nothing to report
			continue
		}
		if to.IsZero() {
			continue // still lifted: its end brings it back here
		}
		r := contract.WindowReport{From: from, To: to}
		if s.roots == nil {
			r.Problem = contract.NoReportSource
		} else {
			if s.Now().Before(to.Add(ReportDelay)) || queried == reportsPerSweep {
				continue
			}
			queried++
			q, err := s.roots.RootEvents(ctx, rec.AccountIDs, from, to)
			if err != nil {
				s.failed(ctx, rep, "read what root did in the window of "+id, err)
				continue
			}
			r.Source, r.QueryID, r.Query = s.roots.Source(), q.ID, q.Statement
			r.Summarize(q.Events)
		}
		r.MadeAt = s.Now()
		rec, err = s.ledger.SetReport(ctx, id, r)
		if err != nil && !errors.Is(err, ledger.ErrReported) {
			s.failed(ctx, rep, "record the report of "+id, err)
			continue
		}
		s.log.InfoContext(ctx, "window report made", "requestId", id, "rootEvents", r.Events, "signIns", r.SignIns, "problem", r.Problem)
		s.announce(ctx, rec)
		rep.Reported = append(rep.Reported, id)
		s.reportDone(ctx, rep, id)
	}
}

func (s *Service) reportDone(ctx context.Context, rep *SweepReport, id string) {
	if err := s.ledger.ReportDone(ctx, id); err != nil {
		s.failed(ctx, rep, "take "+id+" off the reports due", err)
	}
}

// checkRootOutside looks, every RootScanMinutes, for root activity on protected accounts (those
// the last drift scan found the guardrail protecting; every account before the first scan) at a
// time no window of the account was lifted: the check that the guardrail actually held. Each
// event found is announced (Root Outside Window, one notification per account), then kept in the
// ledger and counted in RootOutsideWindow, once.
func (s *Service) checkRootOutside(ctx context.Context, rep *SweepReport) {
	if s.roots == nil {
		return
	}
	now := s.Now()
	every := time.Duration(s.config.RootScanMinutes) * time.Minute
	last, err := s.ledger.RootScannedAt(ctx)
	if err != nil {
		s.failed(ctx, rep, "read when root activity was last scanned", err)
		return
	}
	if !last.IsZero() && now.Sub(last) < every {
		return
	}
	from := now.Add(-every)
	if !last.IsZero() && last.Before(from) {
		from = last // a scan was missed (the sweeper failed): catch up, a day at most
		if day := now.Add(-24 * time.Hour); from.Before(day) {
			from = day
		}
	}
	from = from.Add(-RootLookback)
	q, err := s.roots.RootEvents(ctx, nil, from, now)
	if err != nil {
		s.failed(ctx, rep, "read root activity from "+s.roots.Source(), err)
		return
	}
	rep.RootScanned = true
	if len(q.Events) > 0 {
		outside, err := s.outsideWindows(ctx, q.Events, from, now)
		if err != nil {
			s.failed(ctx, rep, "read the windows of the accounts root acted on", err)
			return
		}
		outside = s.notOwnRootSessions(ctx, outside)
		ids := make([]string, len(outside))
		for i, e := range outside {
			ids[i] = e.EventID
		}
		kept, err := s.ledger.RootOutsideKept(ctx, ids)
		if err != nil {
			s.failed(ctx, rep, "read the root activity kept", err)
			return
		}
		byAccount := map[string][]contract.RootEvent{}
		for _, e := range outside {
			if !kept[e.EventID] {
				byAccount[e.AccountID] = append(byAccount[e.AccountID], e)
			}
		}
		accounts := make([]string, 0, len(byAccount))
		for a := range byAccount {
			accounts = append(accounts, a)
		}
		sort.Strings(accounts)
		// Announced, then kept: an announcement that fails leaves its events for the next look
		// (at least once; the notification's ID is the same), never kept unannounced.
		for _, a := range accounts {
			events := byAccount[a]
			s.log.ErrorContext(ctx, "ROOT USED OUTSIDE ANY WINDOW", "account", a, "events", len(events), "first", FormatTime(events[0].Time), "event", events[0].Name)
			if s.notify != nil {
				ro := notify.RootOutside{NotificationID: "root-outside/" + a + "/" + events[0].EventID, AccountID: a, Events: events,
					Query: q.Statement, Source: s.roots.Source(), DetectedAt: now}
				if err := s.notify.PublishRootOutside(ctx, ro); err != nil {
					s.failed(ctx, rep, "announce root activity outside windows on "+a, err)
					continue
				}
			}
			for _, e := range events {
				first, err := s.ledger.KeepRootOutside(ctx, e)
				if err != nil {
					s.failed(ctx, rep, "keep root activity outside windows", err)
					continue
				}
				if first {
					rep.RootOutside = append(rep.RootOutside, e.EventID)
				}
			}
		}
		if n := len(rep.RootOutside); n > 0 {
			s.metric(contract.MetricRootOutsideWindow, n)
		}
	}
	if err := s.ledger.MarkRootScanned(ctx); err != nil {
		s.failed(ctx, rep, "record the root activity scan", err)
	}
}

// outsideWindows are the events, on protected accounts, at a time no window of their account
// was lifted (from its move to OPENING to its end, give or take clockSkew). Every window that
// could have been lifted from from to to was created within the booking horizon and a window's
// longest hours before from.
func (s *Service) outsideWindows(ctx context.Context, events []contract.RootEvent, from, to time.Time) ([]contract.RootEvent, error) {
	prot, err := s.ledger.Protection(ctx)
	if err != nil {
		return nil, err
	}
	horizon := time.Duration(s.config.BookingHorizonDays)*24*time.Hour + 5*time.Hour
	recs, err := s.ledger.CreatedBetween(ctx, from.Add(-horizon), to)
	if err != nil {
		return nil, err
	}
	protected := map[string]bool{}
	for _, a := range prot.Accounts {
		protected[a] = true
	}
	vouched := map[string]bool{} // request ID → its execution vouches for its record
	var out []contract.RootEvent
	for _, e := range events {
		if !prot.ScannedAt.IsZero() && !protected[e.AccountID] {
			continue // not an account the guardrail protects: its root is not rootwindow's to watch
		}
		inside := false
		for _, rec := range recs {
			lifted, until, ok := rec.Lifted()
			if !ok || !slices.Contains(rec.AccountIDs, e.AccountID) {
				continue
			}
			if until.IsZero() {
				until = to
			}
			if e.Time.Before(lifted.Add(-clockSkew)) || e.Time.After(until.Add(clockSkew)) {
				continue
			}
			ok, known := vouched[rec.RequestID]
			if !known {
				if ok, err = s.vouchedFor(ctx, rec); err != nil {
					return nil, err
				}
				vouched[rec.RequestID] = ok
			}
			if ok {
				inside = true
				break
			}
		}
		if !inside {
			out = append(out, e)
		}
	}
	return out, nil
}

// rootSessionSpan is the longest a root session of centralized root access lasts (AssumeRoot's
// DurationSeconds: at most 900): its events come at most this long after the call that opened it.
const rootSessionSpan = 15 * time.Minute

// notOwnRootSessions leaves out of events those made with the credentials of an AssumeRoot
// session that one of rootwindow's own roles opened (a booking's root sign-in audit, password
// recovery allowed at a lift or deleted after a window): rootwindow's own work, not root activity
// to raise. Which sessions those are comes from CloudTrail's record of the AssumeRoot calls
// (RootSessions), which nobody can write, not from the ledger. An event without an access key (a
// sign-in with the root user's password) is always kept, and every event is when CloudTrail
// cannot be asked: raised rather than missed (logged).
func (s *Service) notOwnRootSessions(ctx context.Context, events []contract.RootEvent) []contract.RootEvent {
	if s.sessions == nil || len(s.config.RootSessionRoleARNs) == 0 {
		return events
	}
	var from, to time.Time
	for _, e := range events {
		if e.AccessKeyID == "" {
			continue
		}
		if from.IsZero() || e.Time.Before(from) {
			from = e.Time
		}
		if e.Time.After(to) {
			to = e.Time
		}
	}
	if from.IsZero() {
		return events
	}
	own, err := s.sessions.RootSessionsOpenedBy(ctx, s.config.RootSessionRoleARNs, from.Add(-rootSessionSpan-clockSkew), to.Add(clockSkew))
	if err != nil {
		s.log.ErrorContext(ctx, "cannot tell rootwindow's own root sessions from CloudTrail: every root event outside windows is raised", "error", err)
		return events
	}
	var kept []contract.RootEvent
	for _, e := range events {
		if e.AccessKeyID == "" || !own[e.AccessKeyID] {
			kept = append(kept, e)
		}
	}
	if n := len(events) - len(kept); n > 0 {
		s.log.InfoContext(ctx, "root activity of rootwindow's own root sessions (sts:AssumeRoot by its roles) not raised", "events", n)
	}
	return kept
}

// vouchedFor reports whether rec's execution vouches for it (executionProblem: rootwindow's,
// named for the request, started for those accounts and hours; running or ended alike): a record
// alone, planted or changed in the ledger, hides no root activity. One that is not is counted in
// LedgerTampered.
func (s *Service) vouchedFor(ctx context.Context, rec ledger.Record) (bool, error) {
	why, _, err := s.executionProblem(ctx, rec)
	if err != nil {
		return false, err
	}
	if why != "" {
		s.metric(contract.MetricLedgerTampered, 1)
		s.log.ErrorContext(ctx, "LEDGER TAMPERED: a window's record its execution does not vouch for; root activity in it counts as outside any window", "requestId", rec.RequestID, "why", why)
		return false, nil
	}
	return true, nil
}
