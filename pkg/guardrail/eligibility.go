package guardrail

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// Eligibility: whether the guardrail can be lifted from an account, by each strategy, from what
// inspecting it found.

// Report is what the organization says about one account before a window.
type Report struct {
	AccountID  string
	Exists     bool
	Management bool
	State      string
	Email      string // the account's email address, its root user's
	// Direct is whether the guardrail is attached directly to the account.
	Direct bool
	// Above lists the OUs and the root above the account where the guardrail is attached too
	// (nearest first): the account inherits it from each.
	Above []string
	// DirectSCPs counts the SCPs attached directly, the guardrail included.
	DirectSCPs int
	// Tags are the account's tags.
	Tags map[string]string
	// Parents are the OUs above the account and the root, nearest first.
	Parents []string
}

// ProblemFor explains why the guardrail cannot be lifted from this account by strategy
// (contract.StrategyDetach or contract.StrategyExempt), or returns "".
func (g *Guardrail) ProblemFor(r Report, strategy string) string {
	if strategy != contract.StrategyExempt {
		return g.Problem(r)
	}
	return g.ExemptProblem(r)
}

// ExemptProblem explains why the guardrail cannot be lifted from this account by the exempt
// strategy (its document rewritten), or returns "": it must apply to the account, attached to it
// or above it.
func (g *Guardrail) ExemptProblem(r Report) string {
	switch {
	case r.Management, !r.Exists, r.State != string(types.AccountStateActive):
		return g.Problem(r)
	case !r.Direct && len(r.Above) == 0:
		return fmt.Sprintf("does not have the guardrail %s attached, directly or above it, so there is nothing to lift", g.policyID)
	}
	return ""
}

// Problem explains why the guardrail cannot be lifted from this account by the detach strategy,
// or returns "". A lift
// swaps the guardrail attached to the account for the window's SCP, so the guardrail must be
// attached to the account and nowhere above it (else root stays blocked by the inherited copy),
// and the account needs one free slot under the per-target quota (the window's SCP goes in
// before the guardrail comes out, so that root is never left without a bound).
func (g *Guardrail) Problem(r Report) string {
	policyID := g.policyID
	switch {
	case r.Management:
		return "is the organization's management account; SCPs never apply to it, so there is nothing to lift"
	case !r.Exists:
		return "is not an account of this organization"
	case r.State != string(types.AccountStateActive):
		return fmt.Sprintf("is %s; only ACTIVE accounts can have a window", r.State)
	case r.Direct && len(r.Above) > 0:
		return fmt.Sprintf("has the guardrail %s attached directly and also inherits it from %s: lifting it from the account would leave the root user blocked by the inherited copy; the detach strategy lifts a guardrail attached to the account and nowhere above it (deploy with liftStrategy exempt or auto, which lift it wherever it is attached, or detach it from %s and attach it to each account there)",
			policyID, strings.Join(r.Above, ", "), strings.Join(r.Above, ", "))
	case len(r.Above) > 0:
		return fmt.Sprintf("inherits the guardrail %s from %s, not attached to the account itself; the detach strategy lifts a guardrail attached to the account and nowhere above it (deploy with liftStrategy exempt or auto, which lift it wherever it is attached, or attach it to each account under %s, then detach it there)",
			policyID, strings.Join(r.Above, ", "), strings.Join(r.Above, ", "))
	case !r.Direct:
		return fmt.Sprintf("does not have the guardrail %s attached, so there is nothing to lift", policyID)
	case r.DirectSCPs < 2:
		return fmt.Sprintf("has the guardrail %s as its only SCP attached directly, and Organizations requires at least one: attach another SCP (such as FullAWSAccess) directly first", policyID)
	case r.DirectSCPs >= g.opts.Quotas.PerTarget:
		return fmt.Sprintf("has %d SCPs attached directly, Organizations' quota of %d: a window needs one free slot for its own SCP, which denies the root user from the window's end (detach an SCP from the account, or set scpsPerTargetQuota if your quota is higher)",
			r.DirectSCPs, g.opts.Quotas.PerTarget)
	}
	return ""
}
