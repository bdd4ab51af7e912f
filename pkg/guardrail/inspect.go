package guardrail

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/rootwindow/rootwindow/pkg/policy"
)

// Covers reports, for each account, whether the guardrail applies to it: attached to the account
// or to an OU or the root above it.
func (g *Guardrail) Covers(ctx context.Context, accountIDs []string) (map[string]bool, error) {
	levels := newAncestry()
	var mu sync.Mutex
	out := make(map[string]bool, len(accountIDs))
	failed := g.batch(ctx, accountIDs, func(ctx context.Context, _ int, id string) error {
		direct, err := g.holdsGuardrail(ctx, id, levels)
		if err != nil {
			return err
		}
		covered := direct
		if !direct {
			above, _, err := g.above(ctx, id, levels)
			if err != nil {
				return err
			}
			covered = len(above) > 0
		}
		mu.Lock()
		out[id] = covered
		mu.Unlock()
		return nil
	})
	if len(failed) > 0 {
		return nil, &BatchError{Op: "inspect", Failed: failed}
	}
	return out, nil
}

// Inspect reports on every account; an error means the organization could not be read (after
// retries), not that an account is unfit.
func (g *Guardrail) Inspect(ctx context.Context, accountIDs []string) (map[string]Report, error) {
	mgmt, err := g.management(ctx)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	reports := make(map[string]Report, len(accountIDs))
	levels := newAncestry()
	failed := g.batch(ctx, accountIDs, func(ctx context.Context, _ int, id string) error {
		r, err := g.inspectOne(ctx, id, mgmt, levels)
		if err == nil {
			mu.Lock()
			reports[id] = r
			mu.Unlock()
		}
		return err
	})
	if len(failed) > 0 {
		return nil, &BatchError{Op: "inspect", Failed: failed}
	}
	return reports, nil
}

func (g *Guardrail) management(ctx context.Context) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.mgmt != "" {
		return g.mgmt, nil
	}
	var out *organizations.DescribeOrganizationOutput
	err := g.call(ctx, "DescribeOrganization", "", func() (err error) {
		out, err = g.api.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("describe organization: %w", err)
	}
	org, mgmt := aws.ToString(out.Organization.Id), aws.ToString(out.Organization.MasterAccountId)
	if want := g.opts.Organization; want != "" && org != want {
		return "", &WrongOrganizationError{Field: "organization", Want: want, Got: org}
	}
	if want := g.opts.Management; want != "" && mgmt != want {
		return "", &WrongOrganizationError{Field: "management account", Want: want, Got: mgmt}
	}
	g.mgmt = mgmt
	return g.mgmt, nil
}

// ancestry remembers, for one Inspect, each OU's parent and whether the guardrail is attached
// to each OU or root: accounts under one OU share those reads, each made once however many
// accounts ask at the same time.
type ancestry struct {
	mu     sync.Mutex
	parent map[string]*once[parentRead] // child → its parent
	holds  map[string]*once[bool]
}

// parentRead is a child's parent, and whether it is the root.
type parentRead struct {
	id     string
	isRoot bool
}

func newAncestry() *ancestry {
	return &ancestry{parent: map[string]*once[parentRead]{}, holds: map[string]*once[bool]{}}
}

// once is one read, made once however many callers ask for it at the same time; its error too
// is kept (it outlasted its retries, and the caller's answer fails with it).
type once[T any] struct {
	do  sync.Once
	v   T
	err error
}

// readOnce is m's read of key (mu guards m), made by read the first time it is asked for.
func readOnce[T any](mu *sync.Mutex, m map[string]*once[T], key string, read func() (T, error)) (T, error) {
	mu.Lock()
	r := m[key]
	if r == nil {
		r = &once[T]{}
		m[key] = r
	}
	mu.Unlock()
	r.do.Do(func() { r.v, r.err = read() })
	return r.v, r.err
}

func (g *Guardrail) inspectOne(ctx context.Context, id, mgmt string, levels *ancestry) (Report, error) {
	r := Report{AccountID: id, Management: id == mgmt}
	if r.Management {
		return r, nil
	}
	var acct *organizations.DescribeAccountOutput
	err := g.call(ctx, "DescribeAccount", id, func() (err error) {
		acct, err = g.api.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(id)})
		return err
	})
	var notFound *types.AccountNotFoundException
	if errors.As(err, &notFound) {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("describe account %s: %w", id, err)
	}
	r.Exists = true
	r.Email = aws.ToString(acct.Account.Email)
	r.State = string(acct.Account.State)
	if r.State == "" { // older answers carry only Status
		r.State = string(acct.Account.Status)
	}
	policies, err := g.directSCPs(ctx, id)
	if err != nil {
		return r, err
	}
	r.DirectSCPs = len(policies)
	r.Direct = policies[g.policyID]
	if r.Above, r.Parents, err = g.above(ctx, id, levels); err != nil {
		return r, err
	}
	r.Tags, err = g.tags(ctx, id)
	return r, err
}

// IsAttached asks Organizations whether the guardrail is attached directly to an account now.
func (g *Guardrail) IsAttached(ctx context.Context, accountID string) (bool, error) {
	policies, err := g.directSCPs(ctx, accountID)
	return policies[g.policyID], err
}

func (g *Guardrail) directSCPs(ctx context.Context, target string) (map[string]bool, error) {
	ids := map[string]bool{}
	in := &organizations.ListPoliciesForTargetInput{TargetId: aws.String(target), Filter: types.PolicyTypeServiceControlPolicy}
	for {
		var out *organizations.ListPoliciesForTargetOutput
		err := g.call(ctx, "ListPoliciesForTarget", target, func() (err error) {
			out, err = g.api.ListPoliciesForTarget(ctx, in)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("list policies for %s: %w", target, err)
		}
		for _, p := range out.Policies {
			ids[aws.ToString(p.Id)] = true
		}
		if out.NextToken == nil {
			return ids, nil
		}
		in.NextToken = out.NextToken
	}
}

// above walks up from an account to the root and lists the OUs and the root that have the
// guardrail attached, and every parent, nearest first.
func (g *Guardrail) above(ctx context.Context, child string, levels *ancestry) (holding, parents []string, err error) {
	for range 8 { // Organizations nests OUs at most five deep under the root
		parent, isRoot, err := g.parentOf(ctx, child, levels)
		if err != nil || parent == "" {
			return holding, parents, err
		}
		parents = append(parents, parent)
		holds, err := g.holdsGuardrail(ctx, parent, levels)
		if err != nil {
			return nil, nil, err
		}
		if holds {
			holding = append(holding, parent)
		}
		if isRoot {
			return holding, parents, nil
		}
		child = parent
	}
	return holding, parents, nil
}

func (g *Guardrail) parentOf(ctx context.Context, child string, levels *ancestry) (string, bool, error) {
	p, err := readOnce(&levels.mu, levels.parent, child, func() (parentRead, error) {
		var out *organizations.ListParentsOutput
		err := g.call(ctx, "ListParents", child, func() (err error) {
			out, err = g.api.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(child)})
			return err
		})
		if err != nil {
			return parentRead{}, fmt.Errorf("list parents of %s: %w", child, err)
		}
		if len(out.Parents) == 0 {
			return parentRead{}, nil
		}
		p := parentRead{id: aws.ToString(out.Parents[0].Id), isRoot: out.Parents[0].Type == types.ParentTypeRoot}
		if p.isRoot {
			g.knowRoot(p.id)
		}
		return p, nil
	})
	return p.id, p.isRoot, err
}

func (g *Guardrail) holdsGuardrail(ctx context.Context, target string, levels *ancestry) (bool, error) {
	return readOnce(&levels.mu, levels.holds, target, func() (bool, error) {
		policies, err := g.directSCPs(ctx, target)
		return policies[g.policyID], err
	})
}

// tagReads is one step's reads of tags (ReadTagsOnce), by target.
type tagReads struct {
	mu   sync.Mutex
	read map[string]*once[map[string]string]
}

type tagReadsKey struct{}

// ReadTagsOnce makes the calls under ctx read each target's tags at most once: a step that checks
// owners (up to the root) and the claim on the guardrail (the root's tags) reads the root once.
// The maps it hands out are shared: read them, never write.
func ReadTagsOnce(ctx context.Context) context.Context {
	return context.WithValue(ctx, tagReadsKey{}, &tagReads{read: map[string]*once[map[string]string]{}})
}

// tags reads a target's tags, once per ReadTagsOnce context.
func (g *Guardrail) tags(ctx context.Context, id string) (map[string]string, error) {
	if r, ok := ctx.Value(tagReadsKey{}).(*tagReads); ok {
		return readOnce(&r.mu, r.read, id, func() (map[string]string, error) { return g.readTags(ctx, id) })
	}
	return g.readTags(ctx, id)
}

// readTags reads a target's tags (ListTagsForResource, every page).
func (g *Guardrail) readTags(ctx context.Context, id string) (map[string]string, error) {
	tags := map[string]string{}
	in := &organizations.ListTagsForResourceInput{ResourceId: aws.String(id)}
	for {
		var out *organizations.ListTagsForResourceOutput
		err := g.call(ctx, "ListTagsForResource", id, func() (err error) {
			out, err = g.api.ListTagsForResource(ctx, in)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("list tags of %s: %w", id, err)
		}
		for _, t := range out.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		if out.NextToken == nil {
			return tags, nil
		}
		in.NextToken = out.NextToken
	}
}

// RootAllowed answers whether the SCPs on an account's path (the root, its OUs, the account), as
// Organizations holds them now, permit the account's root user at instant at, evaluated by
// pkg/policy. It reads every SCP on the path (ListParents, ListPoliciesForTarget, DescribePolicy).
func (g *Guardrail) RootAllowed(ctx context.Context, account string, at time.Time) (bool, error) {
	path := []string{account}
	for child := account; ; {
		var out *organizations.ListParentsOutput
		err := g.call(ctx, "ListParents", child, func() (err error) {
			out, err = g.api.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(child)})
			return err
		})
		if err != nil {
			return false, fmt.Errorf("list parents of %s: %w", child, err)
		}
		if len(out.Parents) == 0 || len(path) > 8 {
			break
		}
		child = aws.ToString(out.Parents[0].Id)
		path = append([]string{child}, path...)
		if out.Parents[0].Type == types.ParentTypeRoot {
			break
		}
	}
	docs := map[string]policy.Document{}
	var levels [][]policy.Document
	for _, target := range path {
		ids, err := g.directSCPs(ctx, target)
		if err != nil {
			return false, err
		}
		var level []policy.Document
		for id := range ids {
			d, ok := docs[id]
			if !ok {
				var out *organizations.DescribePolicyOutput
				err := g.call(ctx, "DescribePolicy", id, func() (err error) {
					out, err = g.api.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String(id)})
					return err
				})
				if err != nil {
					return false, fmt.Errorf("describe policy %s: %w", id, err)
				}
				if d, err = policy.Parse([]byte(aws.ToString(out.Policy.Content))); err != nil {
					return false, fmt.Errorf("policy %s: %w", id, err)
				}
				docs[id] = d
			}
			level = append(level, d)
		}
		levels = append(levels, level)
	}
	return policy.Permits(levels, policy.RootUser(account, at, false)), nil
}

// Tagged reports whether the account carries the tag key (whatever its value).
func (g *Guardrail) Tagged(ctx context.Context, accountID, key string) (bool, error) {
	tags, err := g.tags(ctx, accountID)
	if err != nil {
		return false, err
	}
	_, ok := tags[key]
	return ok, nil
}

// Ancestors lists the OUs above an account and its root, nearest first.
func (g *Guardrail) Ancestors(ctx context.Context, accountID string) ([]string, error) {
	levels := newAncestry()
	var out []string
	child := accountID
	for range 8 { // Organizations nests OUs at most five deep under the root
		parent, isRoot, err := g.parentOf(ctx, child, levels)
		if err != nil || parent == "" {
			return out, err
		}
		out = append(out, parent)
		if isRoot {
			return out, nil
		}
		child = parent
	}
	return out, nil
}

// WindowProblem says what, on the organization as Organizations holds it now, undid a detach
// window on its accounts ("" when nothing did): its SCP, which denies the root user from the
// window's end by AWS's clock, is no longer attached to an account (nothing would close the
// window but rootwindow's own restore), or the guardrail is attached to it again (the window was
// cut short).
func (g *Guardrail) WindowProblem(ctx context.Context, w Window) (string, error) {
	var noSCP, back []string
	for _, a := range w.AccountIDs {
		on, err := g.directSCPs(ctx, a)
		if err != nil {
			return "", err
		}
		if w.PolicyID == "" || !on[w.PolicyID] {
			noSCP = append(noSCP, a)
		}
		if on[g.policyID] {
			back = append(back, a)
		}
	}
	var probs []string
	if len(noSCP) > 0 {
		probs = append(probs, fmt.Sprintf("the window's SCP %s is no longer attached to %s", w.PolicyID, strings.Join(noSCP, ", ")))
	}
	if len(back) > 0 {
		probs = append(probs, fmt.Sprintf("the guardrail %s is attached to %s again", g.policyID, strings.Join(back, ", ")))
	}
	return strings.Join(probs, "; "), nil
}

// ExemptionProblem says what, in the guardrail's document as Organizations holds it now, undid
// an exempt window on accounts at instant at ("" when nothing did): the document denies their
// root user (their exemption is gone), or is no policy at all.
func (g *Guardrail) ExemptionProblem(ctx context.Context, accounts []string, at time.Time) (string, error) {
	c, err := g.Content(ctx)
	if err != nil {
		return "", err
	}
	doc, err := policy.Parse([]byte(c.Text))
	if err != nil {
		return fmt.Sprintf("the guardrail's document is not a policy: %v", err), nil
	}
	var denied []string
	for _, a := range accounts {
		if doc.Evaluate(policy.RootUser(a, at, false)) == policy.Deny {
			denied = append(denied, a)
		}
	}
	if len(denied) == 0 {
		return "", nil
	}
	return fmt.Sprintf("the guardrail's document %s no longer exempts %s", g.policyID, strings.Join(denied, ", ")), nil
}
