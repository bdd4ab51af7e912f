package guardrail

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// The preflight: which accounts of the organization could get a window, by which strategy, and if
// not why. It reads what the answer needs, by parent and by policy target rather than account by
// account where Organizations allows it: the OU tree (ListOrganizationalUnitsForParent), the
// accounts under each parent (ListAccountsForParent), where the guardrail is attached
// (ListTargetsForPolicy, once), its document (DescribePolicy, once); where the detach strategy
// would use them, the direct SCPs of every target by policy (ListPolicies, then each SCP's
// targets), or account by account (ListPoliciesForTarget) where the SCPs are not clearly fewer
// than the accounts; and whether each account has an owner: its OUs' (and the root's) tags
// first, read once each, then the account's own only where none of them has the owner tag
// (ListTagsForResource). Every call goes through its operation's pacer and the retries.

// OrganizationReader adds the tree's listings to the calls Guardrail makes.
type OrganizationReader interface {
	ListRoots(ctx context.Context, in *organizations.ListRootsInput, optFns ...func(*organizations.Options)) (*organizations.ListRootsOutput, error)
	ListOrganizationalUnitsForParent(ctx context.Context, in *organizations.ListOrganizationalUnitsForParentInput, optFns ...func(*organizations.Options)) (*organizations.ListOrganizationalUnitsForParentOutput, error)
	ListAccountsForParent(ctx context.Context, in *organizations.ListAccountsForParentInput, optFns ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error)
}

// Eligibility is one account's answer.
type Eligibility struct {
	AccountID string `json:"accountId"`
	Name      string `json:"name"`
	Path      string `json:"path"`     // root/ou/... above the account
	Strategy  string `json:"strategy"` // how a window would be lifted; "" when none can be
	Reason    string `json:"reason"`   // a ScanReason
	Detail    string `json:"detail,omitempty"`
}

// Reasons an account can or cannot get a window, counted in a scan's report.
const (
	ReasonOK                  = "ok"
	ReasonManagement          = "management account"
	ReasonNotActive           = "not active"
	ReasonNotApplied          = "guardrail not applied"
	ReasonInheritedToo        = "guardrail also inherited"
	ReasonInheritedOnly       = "guardrail only inherited"
	ReasonSlotsFull           = "SCP slots full"
	ReasonOnlySCP             = "guardrail is the only SCP"
	ReasonNoOwner             = "owner tag missing"
	ReasonControlTower        = "Control Tower manages the guardrail"
	ReasonGuardrailUnreadable = "guardrail cannot be read"
)

// ScanReport is a scan's answer.
type ScanReport struct {
	Accounts []Eligibility  `json:"accounts"`
	Counts   map[string]int `json:"counts"` // accounts by reason
	OUs      int            `json:"ous"`
}

// Scan reads the organization and answers for every account, under strategy (contract.Strategy*),
// with owners in the ownerTag tag.
func (g *Guardrail) Scan(ctx context.Context, org OrganizationReader, strategy, ownerTag string) (ScanReport, error) {
	rep := ScanReport{Counts: map[string]int{}}
	mgmt, err := g.management(ctx)
	if err != nil {
		return rep, err
	}
	owners := g.Owners(ownerTag)
	// While the policies' targets are still being read, the OUs' owner tags, which most accounts'
	// ownership comes down to (Owned asks them first), are read in the meantime.
	var prefetch func(tree)
	if ownerTag != "" {
		prefetch = func(t tree) {
			parents := make([]string, 0, len(t.parentOf)+1)
			for ou := range t.parentOf {
				parents = append(parents, ou)
			}
			sort.Strings(parents)
			// Each OU's tags are read once (tagsOf): an account under it finds them read, or a
			// read that failed after its retries, as it would have met it itself.
			g.batch(ctx, parents, func(ctx context.Context, _ int, ou string) error {
				_, err := owners.tagsOf(ctx, ou)
				return err
			})
		}
	}
	// The slots of the accounts detach would use, read by policy where that is fewer calls.
	t, holders, counts, err := g.walkAndTargets(ctx, org, strategy != contract.StrategyExempt, prefetch)
	if err != nil {
		return rep, err
	}
	accounts, parentOf := t.accounts, t.parentOf
	rep.OUs = t.ous

	var guardrailProblem string
	if c, err := g.Content(ctx); err != nil {
		guardrailProblem = ReasonGuardrailUnreadable
	} else if strings.HasPrefix(c.Name, ControlTowerPrefix) {
		guardrailProblem = ReasonControlTower
	}

	results := make([]Eligibility, len(accounts))
	var mu sync.Mutex
	ids := make([]string, len(accounts))
	for i, a := range accounts {
		ids[i] = a.id
	}
	var checked atomic.Int64
	failed := g.batch(ctx, ids, func(ctx context.Context, i int, id string) error {
		defer func() { g.progress(PhaseAccounts, int(checked.Add(1)), len(ids)) }()
		a := accounts[i]
		r := Report{AccountID: id, Exists: true, Management: id == mgmt, State: string(a.state), Direct: holders[id]}
		var path []string
		for p := a.parent; p != ""; p = parentOf[p] {
			path = append([]string{p}, path...)
			if holders[p] {
				r.Above = append(r.Above, p)
			}
		}
		e := Eligibility{AccountID: id, Name: a.name, Path: strings.Join(path, "/")}
		if guardrailProblem != "" {
			e.Reason = guardrailProblem
		} else {
			if r.Direct && !r.Management && a.state == types.AccountStateActive && strategy != contract.StrategyExempt {
				if counts != nil {
					r.DirectSCPs = counts[id]
				} else {
					scps, err := g.directSCPs(ctx, id)
					if err != nil {
						return err
					}
					r.DirectSCPs = len(scps)
				}
			}
			e.Strategy = strategy
			if strategy == contract.StrategyAuto {
				e.Strategy = contract.StrategyDetach
				if g.Problem(r) != "" {
					e.Strategy = contract.StrategyExempt
				}
			}
			e.Detail = g.ProblemFor(r, e.Strategy)
			e.Reason = reasonOf(r, e.Detail, g.opts.Quotas)
			if e.Reason == ReasonOK && ownerTag != "" {
				owned, err := owners.Owned(ctx, id, reversed(path))
				if err != nil {
					return err
				}
				if !owned {
					e.Reason, e.Detail = ReasonNoOwner, noOwner(ownerTag)
				}
			}
			if e.Reason != ReasonOK {
				e.Strategy = ""
			}
		}
		mu.Lock()
		results[i] = e
		mu.Unlock()
		return nil
	})
	if len(failed) > 0 {
		return rep, &BatchError{Op: "inspect", Failed: failed}
	}
	sort.Slice(results, func(i, j int) bool { return results[i].AccountID < results[j].AccountID })
	for _, e := range results {
		rep.Counts[e.Reason]++
	}
	rep.Accounts = results
	return rep, nil
}

// tree is the organization as one walk read it.
type tree struct {
	parentOf map[string]string // OU -> its parent
	accounts []acct
	ous      int
}

type acct struct {
	id, name, parent string
	state            types.AccountState
}

// walkAndTargets reads the tree (walk) and where the guardrail is attached (targets), and with
// slots the direct SCPs of every target by policy where that is fewer calls (directSCPCounts;
// nil counts where not): the tree on one side, the policies' targets on the other, side by side
// when more than one call may be in flight, since they draw on different operations' throttles
// (at 10,000 accounts each is minutes of calls). Side by side, afterWalk (if any) runs once the
// tree is read, while the policies' side may still be reading.
func (g *Guardrail) walkAndTargets(ctx context.Context, org OrganizationReader, slots bool, afterWalk func(tree)) (t tree, holders map[string]bool, counts map[string]int, err error) {
	policies := func() (err error) {
		if holders, err = g.targets(ctx); err != nil || !slots {
			return err
		}
		counts, err = g.directSCPCounts(ctx, holders)
		return err
	}
	if g.opts.Concurrency < 2 {
		if t, err = g.walk(ctx, org); err == nil {
			err = policies()
		}
		return t, holders, counts, err
	}
	var perr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		perr = policies()
	}()
	t, err = g.walk(ctx, org)
	if err == nil && afterWalk != nil {
		afterWalk(t)
	}
	<-done
	if err == nil {
		err = perr
	}
	return t, holders, counts, err
}

// walk reads the OU tree breadth first from the root, and each parent's accounts.
func (g *Guardrail) walk(ctx context.Context, org OrganizationReader) (tree, error) {
	t := tree{parentOf: map[string]string{}}
	var roots *organizations.ListRootsOutput
	if err := g.call(ctx, "ListRoots", "", func() (err error) { roots, err = org.ListRoots(ctx, &organizations.ListRootsInput{}); return err }); err != nil {
		return t, fmt.Errorf("list roots: %w", err)
	}
	if len(roots.Roots) == 0 {
		return t, fmt.Errorf("the organization has no root")
	}
	queue := []string{aws.ToString(roots.Roots[0].Id)}
	g.knowRoot(queue[0])
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		ous, err := g.listOUs(ctx, org, parent)
		if err != nil {
			return t, err
		}
		for _, ou := range ous {
			t.parentOf[ou] = parent
			queue = append(queue, ou)
		}
		t.ous += len(ous)
		known := len(t.parentOf) + 1 // parents known: the root and every OU found so far
		in := &organizations.ListAccountsForParentInput{ParentId: aws.String(parent)}
		for {
			var out *organizations.ListAccountsForParentOutput
			if err := g.call(ctx, "ListAccountsForParent", parent, func() (err error) { out, err = org.ListAccountsForParent(ctx, in); return err }); err != nil {
				return t, fmt.Errorf("list accounts of %s: %w", parent, err)
			}
			for _, a := range out.Accounts {
				state := a.State
				if state == "" {
					state = types.AccountState(a.Status)
				}
				t.accounts = append(t.accounts, acct{id: aws.ToString(a.Id), name: aws.ToString(a.Name), parent: parent, state: state})
			}
			if out.NextToken == nil {
				break
			}
			in.NextToken = out.NextToken
		}
		g.progress(PhaseTree, known-len(queue), known)
	}
	return t, nil
}

// Coverage is where the guardrail applies across the whole organization, as one walk read it.
type Coverage struct {
	// Active are the organization's active member accounts (the management account, which SCPs
	// never bind, excluded), each with whether the guardrail is attached to it or above it.
	Active map[string]bool
	// Members are all its accounts, whatever their state.
	Members map[string]bool
}

// Coverage reads where the guardrail applies for every account of the organization, by parent
// and by policy target only: the OU tree, the accounts under each parent and the guardrail's
// targets; no call per account. The drift scan's whole budget.
func (g *Guardrail) Coverage(ctx context.Context, org OrganizationReader) (Coverage, error) {
	c := Coverage{Active: map[string]bool{}, Members: map[string]bool{}}
	mgmt, err := g.management(ctx)
	if err != nil {
		return c, err
	}
	t, holders, _, err := g.walkAndTargets(ctx, org, false, nil)
	if err != nil {
		return c, err
	}
	for _, a := range t.accounts {
		c.Members[a.id] = true
		if a.id == mgmt || a.state != types.AccountStateActive {
			continue
		}
		covered := holders[a.id]
		for p := a.parent; p != "" && !covered; p = t.parentOf[p] {
			covered = holders[p]
		}
		c.Active[a.id] = covered
	}
	return c, nil
}

// reasonOf names the reason behind a problem of ProblemFor.
func reasonOf(r Report, problem string, q Quotas) string {
	switch {
	case problem == "":
		return ReasonOK
	case r.Management:
		return ReasonManagement
	case r.State != string(types.AccountStateActive):
		return ReasonNotActive
	case r.Direct && len(r.Above) > 0:
		return ReasonInheritedToo
	case len(r.Above) > 0:
		return ReasonInheritedOnly
	case !r.Direct:
		return ReasonNotApplied
	case r.DirectSCPs >= q.PerTarget:
		return ReasonSlotsFull
	}
	return ReasonOnlySCP
}

func (g *Guardrail) listOUs(ctx context.Context, tree OrganizationReader, parent string) ([]string, error) {
	var ids []string
	in := &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent)}
	for {
		var out *organizations.ListOrganizationalUnitsForParentOutput
		if err := g.call(ctx, "ListOrganizationalUnitsForParent", parent, func() (err error) {
			out, err = tree.ListOrganizationalUnitsForParent(ctx, in)
			return err
		}); err != nil {
			return nil, fmt.Errorf("list OUs of %s: %w", parent, err)
		}
		for _, ou := range out.OrganizationalUnits {
			ids = append(ids, aws.ToString(ou.Id))
		}
		if out.NextToken == nil {
			return ids, nil
		}
		in.NextToken = out.NextToken
	}
}

// targets lists where the guardrail is attached: accounts, OUs and the root.
func (g *Guardrail) targets(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	err := g.targetsOf(ctx, g.policyID, func(t string) { out[t] = true })
	if err != nil {
		return nil, fmt.Errorf("list the guardrail's targets: %w", err)
	}
	return out, nil
}

// targetsOf calls each with every target policy is attached to (ListTargetsForPolicy, every page).
func (g *Guardrail) targetsOf(ctx context.Context, policy string, each func(target string)) error {
	in := &organizations.ListTargetsForPolicyInput{PolicyId: aws.String(policy)}
	for {
		var page *organizations.ListTargetsForPolicyOutput
		if err := g.call(ctx, "ListTargetsForPolicy", policy, func() (err error) { page, err = g.api.ListTargetsForPolicy(ctx, in); return err }); err != nil {
			return err
		}
		for _, t := range page.Targets {
			each(aws.ToString(t.TargetId))
		}
		if page.NextToken == nil {
			return nil
		}
		in.NextToken = page.NextToken
	}
}

// directSCPCounts counts the SCPs attached directly to each target of the organization, read by
// policy: ListPolicies, then each SCP's targets (the guardrail's are holders, read already). It
// answers (nil, nil) when that would take more calls than reading the direct SCPs of the
// guardrail's targets one by one (ListPoliciesForTarget for each of holders), which is then the
// cheaper way.
func (g *Guardrail) directSCPCounts(ctx context.Context, holders map[string]bool) (map[string]int, error) {
	scps, err := g.scps(ctx)
	if err != nil {
		return nil, err
	}
	// Each SCP costs a call, and a call a page of 20 targets; most accounts hold two or three
	// SCPs directly. Read by policy only where the SCPs are clearly fewer than the accounts.
	if len(scps)*2 >= len(holders) {
		return nil, nil
	}
	counts := map[string]int{}
	for _, p := range scps {
		if aws.ToString(p.Id) == g.policyID {
			for t := range holders {
				counts[t]++
			}
			continue
		}
		if err := g.targetsOf(ctx, aws.ToString(p.Id), func(t string) { counts[t]++ }); err != nil {
			return nil, fmt.Errorf("list the targets of %s: %w", aws.ToString(p.Id), err)
		}
	}
	return counts, nil
}

// noOwner says why nobody owns an account for rootwindow.
func noOwner(ownerTag string) string {
	return fmt.Sprintf("has no %q tag, nor has any OU above it, so nobody owns it for rootwindow", ownerTag)
}

// reversed is a path (root first) as parents, nearest first.
func reversed(path []string) []string {
	out := make([]string, len(path))
	for i, p := range path {
		out[len(path)-1-i] = p
	}
	return out
}
