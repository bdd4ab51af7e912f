package guardrail

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// The rollout: the Organizations calls that make a set of accounts eligible for a window (the
// guardrail attached, the owner tag set), planned from a scan and applied one by one, paced. Each
// call is idempotent and the plan is recomputed from the organization each time, so an
// interrupted apply resumes by running again: what was done is no longer planned.

// Tagger is the Organizations call the rollout makes besides AttachPolicy.
type Tagger interface {
	TagResource(ctx context.Context, in *organizations.TagResourceInput, optFns ...func(*organizations.Options)) (*organizations.TagResourceOutput, error)
}

// Step is one call of a rollout.
type Step struct {
	Op        string `json:"op"` // "AttachPolicy" or "TagResource"
	AccountID string `json:"accountId"`
	PolicyID  string `json:"policyId,omitempty"`
	TagKey    string `json:"tagKey,omitempty"`
	TagValue  string `json:"tagValue,omitempty"`
}

// Command is the step as an AWS CLI command line.
func (s Step) Command() string {
	if s.Op == "TagResource" {
		return fmt.Sprintf("aws organizations tag-resource --resource-id %s --tags %s", s.AccountID, shellQuote("Key="+s.TagKey+",Value="+s.TagValue))
	}
	return fmt.Sprintf("aws organizations attach-policy --policy-id %s --target-id %s", s.PolicyID, s.AccountID)
}

// shellQuote quotes s for a POSIX shell when it holds anything but safe characters.
func shellQuote(s string) string {
	if strings.IndexFunc(s, func(r rune) bool {
		return !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("@%+=:,./-_", r)))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Selection says which accounts a rollout covers: those listed, those under the OUs listed (at
// any depth), or every account.
type Selection struct {
	Accounts []string
	OUs      []string
	All      bool
}

// Plan is a rollout's answer.
type Plan struct {
	Steps []Step `json:"steps"`
	// Ready are selected accounts that can get a window already.
	Ready []string `json:"ready"`
	// Remaining are selected accounts the steps will not make eligible, and why: what a person
	// must decide (a strategy, a slot, an owner, a guardrail managed elsewhere).
	Remaining []Eligibility `json:"remaining"`
}

// ErrSelection is a selection that names an account or OU the organization does not hold.
var ErrSelection = errors.New("not in the organization")

// PlanRollout scans the organization and plans, for each selected account, the calls that make it
// eligible under strategy: the guardrail attached directly where it applies nowhere (when a slot
// is free: one more for the window's SCP under detach), and the owner tag set to owner where it
// is missing (owner "" plans no tag). It changes nothing.
func (g *Guardrail) PlanRollout(ctx context.Context, org OrganizationReader, sel Selection, strategy, ownerTag, owner string) (Plan, error) {
	var plan Plan
	rep, err := g.Scan(ctx, org, strategy, ownerTag)
	if err != nil {
		return plan, err
	}
	chosen, err := selected(rep, sel)
	if err != nil {
		return plan, err
	}
	owners := g.Owners(ownerTag)
	for _, e := range chosen {
		switch e.Reason {
		case ReasonOK:
			plan.Ready = append(plan.Ready, e.AccountID)
			continue
		case ReasonNoOwner:
			if owner == "" {
				e.Detail += "; give --owner to tag it"
				plan.Remaining = append(plan.Remaining, e)
				continue
			}
			plan.Steps = append(plan.Steps, Step{Op: "TagResource", AccountID: e.AccountID, TagKey: ownerTag, TagValue: owner})
			continue
		case ReasonNotApplied:
		default:
			e.Detail = strings.TrimSpace(e.Detail + " " + advice(e.Reason))
			plan.Remaining = append(plan.Remaining, e)
			continue
		}
		// Not applied: attach it directly, if it fits.
		scps, err := g.directSCPs(ctx, e.AccountID)
		if err != nil {
			return plan, err
		}
		need := 1
		if strategy == contract.StrategyDetach {
			need = 2 // the guardrail, then the window's SCP beside it (auto falls back to exempt)
		}
		if len(scps)+need > g.opts.Quotas.PerTarget {
			e.Reason = ReasonSlotsFull
			e.Detail = fmt.Sprintf("has %d SCPs attached directly; the guardrail needs %d free of %d (scpsPerTargetQuota): detach one, or attach the guardrail to its OU and use liftStrategy exempt",
				len(scps), need, g.opts.Quotas.PerTarget)
			plan.Remaining = append(plan.Remaining, e)
			continue
		}
		plan.Steps = append(plan.Steps, Step{Op: "AttachPolicy", AccountID: e.AccountID, PolicyID: g.policyID})
		_, _, owned, err := owners.Of(ctx, e.AccountID, nil, reversed(strings.Split(e.Path, "/")))
		if err != nil {
			return plan, err
		}
		if owned {
			continue
		}
		if owner == "" {
			plan.Remaining = append(plan.Remaining, Eligibility{AccountID: e.AccountID, Name: e.Name, Path: e.Path, Reason: ReasonNoOwner,
				Detail: noOwner(ownerTag) + "; give --owner to tag it"})
			continue
		}
		plan.Steps = append(plan.Steps, Step{Op: "TagResource", AccountID: e.AccountID, TagKey: ownerTag, TagValue: owner})
	}
	return plan, nil
}

// selected picks the scanned accounts a selection names; a name the scan did not find is an error.
func selected(rep ScanReport, sel Selection) ([]Eligibility, error) {
	if sel.All {
		return rep.Accounts, nil
	}
	byID := map[string]Eligibility{}
	ous := map[string]bool{}
	for _, e := range rep.Accounts {
		byID[e.AccountID] = e
		for _, p := range strings.Split(e.Path, "/") {
			ous[p] = true
		}
	}
	var missing []string
	want := map[string]bool{}
	for _, id := range sel.Accounts {
		if _, ok := byID[id]; !ok {
			missing = append(missing, "account "+id)
		}
		want[id] = true
	}
	for _, ou := range sel.OUs {
		if !ous[ou] {
			missing = append(missing, "OU "+ou)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: %w", strings.Join(missing, ", "), ErrSelection)
	}
	var out []Eligibility
	for _, e := range rep.Accounts {
		path := strings.Split(e.Path, "/")
		if want[e.AccountID] || slices.ContainsFunc(sel.OUs, func(ou string) bool { return slices.Contains(path, ou) }) {
			out = append(out, e)
		}
	}
	return out, nil
}

// advice says what a person can do about a reason the rollout does not fix by itself.
func advice(reason string) string {
	switch reason {
	case ReasonInheritedToo, ReasonInheritedOnly:
		return "(use liftStrategy exempt or auto, which lift a guardrail attached anywhere)"
	case ReasonControlTower:
		return "(Control Tower reverts changes to its controls: use a guardrail of your own)"
	case ReasonSlotsFull:
		return "(detach an SCP from the account, or attach the guardrail to its OU and use liftStrategy exempt)"
	}
	return ""
}

// ApplyRollout makes the steps' calls in order, paced and retried like every other call, and
// reports each through done. It stops at the first failure and returns it: running the plan again
// resumes where it stopped. An attachment already in place counts as done.
func (g *Guardrail) ApplyRollout(ctx context.Context, tagger Tagger, steps []Step, done func(i int, s Step)) error {
	for i, s := range steps {
		var err error
		switch s.Op {
		case "AttachPolicy":
			if s.PolicyID != g.policyID {
				return fmt.Errorf("step %d attaches %s, not the guardrail %s", i+1, s.PolicyID, g.policyID)
			}
			err = g.attach(ctx, s.PolicyID, s.AccountID)
		case "TagResource":
			err = g.call(ctx, "TagResource", s.AccountID, func() error {
				_, err := tagger.TagResource(ctx, &organizations.TagResourceInput{
					ResourceId: aws.String(s.AccountID), Tags: []types.Tag{{Key: aws.String(s.TagKey), Value: aws.String(s.TagValue)}},
				})
				return err
			})
		default:
			err = fmt.Errorf("unknown operation %q", s.Op)
		}
		if err != nil {
			return fmt.Errorf("step %d of %d (%s): %w", i+1, len(steps), s.Command(), err)
		}
		done(i, s)
	}
	return nil
}
