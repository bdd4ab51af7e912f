package fence

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// Organizations is the calls Apply makes, with the SDK's signatures.
type Organizations interface {
	DescribeOrganization(context.Context, *organizations.DescribeOrganizationInput, ...func(*organizations.Options)) (*organizations.DescribeOrganizationOutput, error)
	DescribeAccount(context.Context, *organizations.DescribeAccountInput, ...func(*organizations.Options)) (*organizations.DescribeAccountOutput, error)
	ListPolicies(context.Context, *organizations.ListPoliciesInput, ...func(*organizations.Options)) (*organizations.ListPoliciesOutput, error)
	DescribePolicy(context.Context, *organizations.DescribePolicyInput, ...func(*organizations.Options)) (*organizations.DescribePolicyOutput, error)
	CreatePolicy(context.Context, *organizations.CreatePolicyInput, ...func(*organizations.Options)) (*organizations.CreatePolicyOutput, error)
	UpdatePolicy(context.Context, *organizations.UpdatePolicyInput, ...func(*organizations.Options)) (*organizations.UpdatePolicyOutput, error)
	ListPoliciesForTarget(context.Context, *organizations.ListPoliciesForTargetInput, ...func(*organizations.Options)) (*organizations.ListPoliciesForTargetOutput, error)
	AttachPolicy(context.Context, *organizations.AttachPolicyInput, ...func(*organizations.Options)) (*organizations.AttachPolicyOutput, error)
}

// ErrNotAMember is a home the fence cannot bind: the management account (SCPs never apply to
// it) or an account not in the organization.
var ErrNotAMember = errors.New("not a member account of this organization")

// Apply makes the fence SCP for s exist with its document and be attached to the home account:
// created, or updated if its document differs, then attached; each step it takes or finds done
// is told to step. Running it again changes nothing. It runs with the management account's
// credentials (or those of a delegated administrator for SCPs other than the home).
func Apply(ctx context.Context, org Organizations, s Spec, step func(string)) error {
	doc, err := Document(s)
	if err != nil {
		return err
	}
	o, err := org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return fmt.Errorf("describe the organization: %w", err)
	}
	if o.Organization != nil && aws.ToString(o.Organization.MasterAccountId) == s.Account {
		return fmt.Errorf("%s is the management account: %w; SCPs never apply to it, so no fence binds it. Deploy rootwindow in a member account made delegated administrator for SCPs (README, Deploy)", s.Account, ErrNotAMember)
	}
	if _, err := org.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(s.Account)}); err != nil {
		var notFound *types.AccountNotFoundException
		if errors.As(err, &notFound) {
			return fmt.Errorf("%s: %w", s.Account, ErrNotAMember)
		}
		return fmt.Errorf("describe account %s: %w", s.Account, err)
	}

	name := Name(s.Account)
	id, err := find(ctx, org, name)
	if err != nil {
		return err
	}
	switch {
	case id == "":
		out, err := org.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String(name), Description: aws.String(Description),
			Content: aws.String(doc), Type: types.PolicyTypeServiceControlPolicy})
		if err != nil {
			return fmt.Errorf("create the fence SCP %s: %w", name, err)
		}
		id = aws.ToString(out.Policy.PolicySummary.Id)
		step(fmt.Sprintf("created the SCP %s (%s), %d characters", name, id, len(doc)))
	default:
		out, err := org.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String(id)})
		if err != nil {
			return fmt.Errorf("describe the fence SCP %s: %w", id, err)
		}
		if aws.ToString(out.Policy.Content) == doc {
			step(fmt.Sprintf("the SCP %s (%s) is up to date", name, id))
			break
		}
		if _, err := org.UpdatePolicy(ctx, &organizations.UpdatePolicyInput{PolicyId: aws.String(id), Content: aws.String(doc), Description: aws.String(Description)}); err != nil {
			return fmt.Errorf("update the fence SCP %s: %w", id, err)
		}
		step(fmt.Sprintf("updated the SCP %s (%s), %d characters", name, id, len(doc)))
	}

	attached, err := attachedTo(ctx, org, s.Account, id)
	if err != nil {
		return err
	}
	if attached {
		step(fmt.Sprintf("%s is attached to %s already", id, s.Account))
		return nil
	}
	_, err = org.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String(id), TargetId: aws.String(s.Account)})
	var dup *types.DuplicatePolicyAttachmentException
	switch {
	case errors.As(err, &dup):
		step(fmt.Sprintf("%s is attached to %s already", id, s.Account))
	case err != nil:
		return fmt.Errorf("attach %s to %s: %w", id, s.Account, err)
	default:
		step(fmt.Sprintf("attached %s to %s", id, s.Account))
	}
	return nil
}

// find is the ID of the SCP named name, or "".
func find(ctx context.Context, org Organizations, name string) (string, error) {
	in := &organizations.ListPoliciesInput{Filter: types.PolicyTypeServiceControlPolicy}
	for {
		out, err := org.ListPolicies(ctx, in)
		if err != nil {
			return "", fmt.Errorf("list SCPs: %w", err)
		}
		for _, p := range out.Policies {
			if aws.ToString(p.Name) == name {
				return aws.ToString(p.Id), nil
			}
		}
		if out.NextToken == nil {
			return "", nil
		}
		in.NextToken = out.NextToken
	}
}

func attachedTo(ctx context.Context, org Organizations, account, id string) (bool, error) {
	in := &organizations.ListPoliciesForTargetInput{TargetId: aws.String(account), Filter: types.PolicyTypeServiceControlPolicy}
	for {
		out, err := org.ListPoliciesForTarget(ctx, in)
		if err != nil {
			return false, fmt.Errorf("list the SCPs of %s: %w", account, err)
		}
		for _, p := range out.Policies {
			if aws.ToString(p.Id) == id {
				return true, nil
			}
		}
		if out.NextToken == nil {
			return false, nil
		}
		in.NextToken = out.NextToken
	}
}
