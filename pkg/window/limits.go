package window

import (
	"context"
	"time"

	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/request"
)

// maxDailyPages bounds how far back the per-day count reads the listing (pages of 100 requests).
const maxDailyPages = 20

// checkLimits holds a request to the deployment's limits: the cooldown of each account, the
// requester's concurrent and daily windows, and the accounts held organization-wide. Each problem
// names its limit and when it frees. The counts are read before the reservation, so requests
// admitted at the same instant may together pass a cap by their number.
func (s *Service) checkLimits(ctx context.Context, req request.Request) (request.Problems, error) {
	var probs request.Problems
	cfg := s.config
	if cfg.CooldownMinutes > 0 {
		ended, err := s.ledger.Ended(ctx, req.AccountIDs)
		if err != nil {
			return nil, err
		}
		cooldown := time.Duration(cfg.CooldownMinutes) * time.Minute
		for _, id := range req.AccountIDs {
			if at, ok := ended[id]; ok && req.StartAt.Before(at.Add(cooldown)) {
				probs.AddKind(request.Limited, req.Field(id), "%s had a window until %s: the next may start from %s (cooldownMinutes is %d)",
					id, FormatTime(at), FormatTime(at.Add(cooldown)), cfg.CooldownMinutes)
			}
		}
	}
	if cfg.MaxAccountsAtOnce > 0 || cfg.MaxConcurrentPerRequester > 0 {
		leases, err := s.ledger.AllLeases(ctx)
		if err != nil {
			return nil, err
		}
		if max := cfg.MaxAccountsAtOnce; max > 0 && len(leases)+len(req.AccountIDs) > max {
			probs.AddKind(request.Limited, "accountIds", "%d accounts are in windows now and this request adds %d: at most %d at once in the organization (maxAccountsLiftedAtOnce)",
				len(leases), len(req.AccountIDs), max)
		}
		if max := cfg.MaxConcurrentPerRequester; max > 0 {
			if n := s.windowsHeldBy(ctx, req.Requester, leases); n >= max {
				probs.AddKind(request.Limited, "requester", "%q has %d windows scheduled or open: at most %d at once (maxConcurrentWindowsPerRequester); end or cancel one first",
					req.Requester, n, max)
			}
		}
	}
	if max := cfg.MaxDailyPerRequester; max > 0 {
		n, oldest, err := s.windowsAcceptedToday(ctx, req.Requester)
		if err != nil {
			return nil, err
		}
		if n >= max {
			probs.AddKind(request.Limited, "requester", "%q had %d windows accepted in the last 24 hours: at most %d (maxWindowsPerRequesterPerDay); the next is possible from %s",
				req.Requester, n, max, FormatTime(oldest.Add(24*time.Hour)))
		}
	}
	return probs, nil
}

// windowsHeldBy counts the requests of requester that hold leases now: of the same person
// (authz.SamePerson: one Identity Center user under two permission sets, every session of a role
// whose session name the caller chooses), so that a cap cannot be dodged by signing in again.
func (s *Service) windowsHeldBy(ctx context.Context, requester string, leases []ledger.Lease) int {
	seen := map[string]bool{}
	n := 0
	for _, l := range leases {
		if seen[l.RequestID] {
			continue
		}
		seen[l.RequestID] = true
		rec, err := s.ledger.Get(ctx, l.RequestID)
		if err != nil {
			continue // a lease without its request is the sweeper's to clear, not the requester's
		}
		if rec.Status.Holds() && s.config.Authz().SamePerson(rec.Requester, requester) {
			n++
		}
	}
	return n
}

// windowsAcceptedToday counts the requests of requester (the same person, as windowsHeldBy)
// accepted (not rejected) in the last 24 hours, and says when the oldest of them was made.
func (s *Service) windowsAcceptedToday(ctx context.Context, requester string) (int, time.Time, error) {
	since := s.Now().Add(-24 * time.Hour)
	n, oldest, token := 0, time.Time{}, ""
	for range maxDailyPages {
		recs, next, err := s.ledger.List(ctx, ledger.Filter{}, 100, token)
		if err != nil {
			return 0, time.Time{}, err
		}
		for _, rec := range recs {
			if rec.CreatedAt.Before(since) {
				return n, oldest, nil
			}
			if rec.Status != ledger.Rejected && s.config.Authz().SamePerson(rec.Requester, requester) {
				n, oldest = n+1, rec.CreatedAt
			}
		}
		if next == "" {
			break
		}
		token = next
	}
	return n, oldest, nil
}
