package window

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// Ready to sign in as root (centralized root access configured): at booking, what signing in
// takes on each account (its root email address, whether the root user has a password, MFA
// devices), through sts:AssumeRoot with the audit task policy; at the lift, with
// prepareRootSignIn, password recovery allowed where the root user has no password, and the way
// to delete it again once the window is over. Nothing here ever stops a window: an answer that
// cannot be had is "unknown", saying why.

// auditSignIn answers, per account, what signing in as its root user takes; nil when not
// configured. The email addresses are those the booking's inspection read (reports); the audits
// run as many at a time as the guardrail makes calls (4 in AWS), each a few calls to STS and IAM,
// so that 50 accounts are answered within the API's time.
func (s *Service) auditSignIn(ctx context.Context, accounts []string, reports map[string]guardrail.Report) []contract.SignIn {
	if s.root == nil || !s.config.CentralizedRoot {
		return nil
	}
	out := make([]contract.SignIn, len(accounts))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(s.guardrail.Concurrency(), len(accounts)) {
		wg.Go(func() {
			for i := range next {
				out[i] = s.root.Audit(ctx, accounts[i], reports[accounts[i]].Email)
			}
		})
	}
	for i := range accounts {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// prepareSignIn allows password recovery for the window on the accounts whose root user has no
// password (prepareRootSignIn); it returns the updated sign-in answers (nil when nothing changed)
// and a note for the record's history.
func (s *Service) prepareSignIn(ctx context.Context, rec ledger.Record) ([]contract.SignIn, string) {
	if s.root == nil || !s.config.CentralizedRoot || !s.config.PrepareRootSignIn || len(rec.SignIn) == 0 {
		return nil, ""
	}
	out := slices.Clone(rec.SignIn)
	var done, failed []string
	for i, si := range out {
		if si.RootPassword != contract.PasswordAbsent || si.Prepared {
			continue
		}
		changed, err := s.root.AllowPasswordRecovery(ctx, si.AccountID)
		if err != nil {
			s.logError(ctx, "allow password recovery", rec.RequestID, err)
			failed = append(failed, si.AccountID)
			out[i].Detail = "password recovery could not be allowed; signing in needs it (operators have the detail)"
			continue
		}
		out[i].Prepared = true
		out[i].Detail = "rootwindow deletes the root password again within five minutes of the window's end (the sweep); should it fail (alarm RootPasswordsLeft): " + s.root.DeleteCommand(si.AccountID)
		if changed {
			done = append(done, si.AccountID)
		}
	}
	if len(done) == 0 && len(failed) == 0 {
		return nil, ""
	}
	var note string
	if len(done) > 0 {
		note += "; password recovery allowed for the window on " + strings.Join(done, ", ")
	}
	if len(failed) > 0 {
		note += "; password recovery could not be allowed on " + strings.Join(failed, ", ")
	}
	return out, note
}
