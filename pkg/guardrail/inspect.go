package guardrail

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// Report is what the organization says about one account before a window.
type Report struct {
	AccountID  string
	Exists     bool
	Management bool
	State      string
	// Direct is whether the guardrail is attached directly to the account.
	Direct bool
	// InheritedFrom is the root or OU the guardrail comes from when it is not attached directly.
	InheritedFrom string
	// DirectSCPs counts the SCPs attached directly, the guardrail included.
	DirectSCPs int
	// Tags are the account's tags.
	Tags map[string]string
}

// Problem explains why the guardrail cannot be lifted from this account, or returns "".
func (r Report) Problem(policyID string) string {
	switch {
	case r.Management:
		return "is the organization's management account; SCPs never apply to it, so there is nothing to lift"
	case !r.Exists:
		return "is not an account of this organization"
	case r.State != string(types.AccountStateActive):
		return fmt.Sprintf("is %s; only ACTIVE accounts can have a window", r.State)
	case !r.Direct && r.InheritedFrom != "":
		return fmt.Sprintf("the guardrail %s is inherited from %s, not attached directly to the account; rootwindow lifts only direct attachments (attach it to the account itself to make it liftable)", policyID, r.InheritedFrom)
	case !r.Direct:
		return fmt.Sprintf("the guardrail %s is not attached to the account, so there is nothing to lift", policyID)
	case r.DirectSCPs < 2:
		return fmt.Sprintf("the guardrail %s is the only SCP attached directly to the account, and Organizations requires at least one: attach another SCP (such as FullAWSAccess) directly first", policyID)
	}
	return ""
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
	failed := g.batch(ctx, accountIDs, func(ctx context.Context, _ int, id string) error {
		r, err := g.inspectOne(ctx, id, mgmt)
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

func (g *Guardrail) inspectOne(ctx context.Context, id, mgmt string) (Report, error) {
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
	if !r.Direct {
		if r.InheritedFrom, err = g.inheritedFrom(ctx, id); err != nil {
			return r, err
		}
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

// inheritedFrom walks up from an account to the root and names the first parent with the
// guardrail attached, or "".
func (g *Guardrail) inheritedFrom(ctx context.Context, child string) (string, error) {
	for range 8 { // Organizations nests OUs at most five deep under the root
		var out *organizations.ListParentsOutput
		err := g.call(ctx, "ListParents", child, func() (err error) {
			out, err = g.api.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(child)})
			return err
		})
		if err != nil {
			return "", fmt.Errorf("list parents of %s: %w", child, err)
		}
		if len(out.Parents) == 0 {
			return "", nil
		}
		parent := out.Parents[0]
		policies, err := g.directSCPs(ctx, aws.ToString(parent.Id))
		if err != nil {
			return "", err
		}
		if policies[g.policyID] {
			return aws.ToString(parent.Id), nil
		}
		if parent.Type == types.ParentTypeRoot {
			return "", nil
		}
		child = aws.ToString(parent.Id)
	}
	return "", nil
}

func (g *Guardrail) tags(ctx context.Context, id string) (map[string]string, error) {
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
