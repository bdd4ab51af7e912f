package guardrail

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// One guardrail, one deployment. A deployment claims the guardrail it lifts with a tag on the
// organization's root (contract.TagGuardrailClaim + the policy ID, valued with Options.Deployment):
// the root is the one resource every deployment in the organization can read and that is not the
// guardrail itself, which no role of rootwindow may tag (its tags are what the IAM backstop trusts).
// Organizations tags roots (API reference, TagResource: "Organization root"), and IAM can condition
// TagResource on the root's existing tags (aws:ResourceTag on the root resource type, Service
// Authorization Reference, AWS Organizations): the lifting role adds the claim only where the root
// does not carry it, so no deployment can take another's claim over. A claim outlives its
// deployment: an operator removes it (RUNBOOK, "Move a guardrail to another deployment").

// ClaimedError is a guardrail another deployment of rootwindow claims.
type ClaimedError struct {
	Policy, Root, Key, By string
}

func (e *ClaimedError) Error() string {
	return fmt.Sprintf("the guardrail %s is claimed by another deployment of rootwindow (%q, tag %s on the organization's root %s): one guardrail is lifted by one deployment, since two would undo each other's windows; give this deployment a guardrail of its own, or remove the claim if that deployment is gone (RUNBOOK)",
		e.Policy, e.By, e.Key, e.Root)
}

// ClaimKey is the tag on the organization's root that claims this guardrail.
func (g *Guardrail) ClaimKey() string { return contract.TagGuardrailClaim + g.policyID }

// Claimant returns the deployment that claims the guardrail ("" when none does) and the root's ID.
func (g *Guardrail) Claimant(ctx context.Context) (by, root string, err error) {
	if root, err = g.root(ctx); err != nil {
		return "", "", err
	}
	tags, err := g.tags(ctx, root)
	if err != nil {
		return "", root, err
	}
	return tags[g.ClaimKey()], root, nil
}

// CheckClaim is nil when nobody but this deployment claims the guardrail, and a *ClaimedError
// when another deployment does; it claims nothing (admission and the sweep read it).
func (g *Guardrail) CheckClaim(ctx context.Context) error {
	by, root, err := g.Claimant(ctx)
	if err != nil || by == "" || by == g.opts.Deployment {
		return err
	}
	return &ClaimedError{Policy: g.policyID, Root: root, Key: g.ClaimKey(), By: by}
}

// Claim makes sure this deployment claims the guardrail: it does already, or nobody does and it
// claims it now (the claim read back, so that of two deployments claiming at once only the one
// whose claim stands goes on). Another deployment's claim is a *ClaimedError. With no
// Options.Deployment (a tool reading the organization) there is nothing to claim for.
func (g *Guardrail) Claim(ctx context.Context) error {
	me := g.opts.Deployment
	if me == "" {
		return errors.New("claim the guardrail: no deployment to claim it for")
	}
	by, root, err := g.Claimant(ctx)
	if err != nil {
		return err
	}
	if by == "" {
		err := g.call(ctx, "TagResource", root, func() error {
			_, err := g.api.TagResource(ctx, &organizations.TagResourceInput{
				ResourceId: aws.String(root), Tags: []types.Tag{{Key: aws.String(g.ClaimKey()), Value: aws.String(me)}},
			})
			return err
		})
		if err != nil && errorCode(err) != "AccessDeniedException" {
			return fmt.Errorf("claim the guardrail %s on the root %s: %w", g.policyID, root, err)
		}
		// Denied: another deployment's claim came first (the role may add the tag only where
		// there is none), or the role is wrong; what the root says now decides.
		tags, rerr := g.readTags(ctx, root)
		if rerr != nil {
			return rerr
		}
		if by = tags[g.ClaimKey()]; by == "" {
			if err == nil { // tagged, and not to be seen yet: nobody else's claim either
				err = errors.New("the claim made is not to be read back yet")
			}
			return fmt.Errorf("claim the guardrail %s on the root %s: %w", g.policyID, root, err)
		}
		if by == me {
			g.opts.Logger.Info("guardrail claimed for this deployment", "policy", g.policyID, "root", root, "tag", g.ClaimKey())
		}
	}
	if by != me {
		return &ClaimedError{Policy: g.policyID, Root: root, Key: g.ClaimKey(), By: by}
	}
	return nil
}

// knowRoot records the organization's root ID, seen on the way up from an account or in a walk
// of the tree: the claim then needs no ListRoots, whose bucket (1 a second) every instance would
// otherwise draw on at its first admission.
func (g *Guardrail) knowRoot(id string) {
	g.mu.Lock()
	g.rootID = id
	g.mu.Unlock()
}

// root is the organization's root ID: as seen already, else read (ListRoots) once.
func (g *Guardrail) root(ctx context.Context) (string, error) {
	g.mu.Lock()
	root := g.rootID
	g.mu.Unlock()
	if root != "" {
		return root, nil
	}
	var out *organizations.ListRootsOutput
	if err := g.call(ctx, "ListRoots", "", func() (err error) {
		out, err = g.api.ListRoots(ctx, &organizations.ListRootsInput{})
		return err
	}); err != nil {
		return "", fmt.Errorf("list the organization's roots: %w", err)
	}
	if len(out.Roots) == 0 {
		return "", errors.New("the organization has no root")
	}
	root = aws.ToString(out.Roots[0].Id)
	g.knowRoot(root)
	return root, nil
}
