package guardrail_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/smithy-go"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
)

const claimKey = contract.TagGuardrailClaim + orgemu.GuardrailID

// One guardrail, one deployment: the first deployment to claim the guardrail holds it, with a tag
// on the organization's root; claiming again changes nothing, and another deployment's claim, or
// its check, is refused naming the deployment that holds it.
func TestOneDeploymentClaimsTheGuardrail(t *testing.T) {
	ctx := context.Background()
	org := orgemu.Standard(mgmt, "alice@example.com", members...)
	api := testenv.Organizations(t, org)
	deployment := func(name string) *guardrail.Guardrail {
		return guardrail.New(api, orgemu.GuardrailID, guardrail.Options{Deployment: name, Rates: guardrail.Unpaced, Backoff: fast})
	}
	ours, theirs := deployment("ledger-ours"), deployment("ledger-theirs")

	if err := ours.CheckClaim(ctx); err != nil {
		t.Fatalf("nobody claims it: %v", err)
	}
	if org.CountCalls("TagResource", "") != 0 {
		t.Fatal("a check claimed the guardrail")
	}
	if err := ours.Claim(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rootTags(t, api, org.Root())[claimKey]; got != "ledger-ours" {
		t.Fatalf("claim on the root = %q", got)
	}
	if err := ours.Claim(ctx); err != nil || org.CountCalls("TagResource", "") != 1 {
		t.Errorf("claiming again: %v, %d TagResource calls, want 1", err, org.CountCalls("TagResource", ""))
	}
	for name, fn := range map[string]func(context.Context) error{"Claim": theirs.Claim, "CheckClaim": theirs.CheckClaim} {
		var claimed *guardrail.ClaimedError
		if err := fn(ctx); !errors.As(err, &claimed) || claimed.By != "ledger-ours" || claimed.Root != org.Root() || claimed.Key != claimKey {
			t.Errorf("%s by another deployment: %v, want it claimed by ledger-ours", name, err)
		}
	}
	if got := rootTags(t, api, org.Root())[claimKey]; got != "ledger-ours" || org.CountCalls("TagResource", "") != 1 {
		t.Errorf("another deployment changed the claim: %q", got)
	}
	if err := deployment("").Claim(ctx); err == nil {
		t.Error("a claim for no deployment was made")
	}
}

// Two deployments claiming at once: the second's TagResource comes after the first's, and IAM
// denies it (the role may add the claim only where the root has none); the root's answer decides,
// and the second refuses. A denial with no claim there is an error, not a claim.
func TestAClaimLostToAnotherDeploymentIsRefused(t *testing.T) {
	ctx := context.Background()
	org := orgemu.Standard(mgmt, "alice@example.com", members...)
	api := &racingClaim{OrganizationsAPI: testenv.Organizations(t, org), org: org, other: "ledger-theirs"}
	g := guardrail.New(api, orgemu.GuardrailID, guardrail.Options{Deployment: "ledger-ours", Rates: guardrail.Unpaced, Backoff: fast})
	var claimed *guardrail.ClaimedError
	if err := g.Claim(ctx); !errors.As(err, &claimed) || claimed.By != "ledger-theirs" {
		t.Fatalf("claim lost to another deployment: %v", err)
	}
	api.other = ""
	org.SetTag(org.Root(), claimKey, "")
	if err := g.Claim(ctx); err == nil || errors.As(err, &claimed) {
		t.Errorf("claim denied with none there: %v, want an error", err)
	}
	// A claim made that the root does not show yet is nobody else's: an error, not a claim of
	// "another deployment" named "".
	unseen := guardrail.New(&unseenClaim{testenv.Organizations(t, org)}, orgemu.GuardrailID, guardrail.Options{Deployment: "ledger-ours", Rates: guardrail.Unpaced, Backoff: fast})
	if err := unseen.Claim(ctx); err == nil || errors.As(err, &claimed) {
		t.Errorf("a claim not read back yet: %v, want an error", err)
	}
}

// unseenClaim is Organizations whose TagResource succeeds before a read shows the tag.
type unseenClaim struct{ guardrail.OrganizationsAPI }

func (unseenClaim) TagResource(context.Context, *organizations.TagResourceInput, ...func(*organizations.Options)) (*organizations.TagResourceOutput, error) {
	return &organizations.TagResourceOutput{}, nil
}

// racingClaim is Organizations where another deployment's claim lands just before ours, whose
// TagResource IAM then denies (the condition that the root carries no claim yet).
type racingClaim struct {
	guardrail.OrganizationsAPI
	org   *orgemu.Server
	other string
}

func (r *racingClaim) TagResource(ctx context.Context, in *organizations.TagResourceInput, optFns ...func(*organizations.Options)) (*organizations.TagResourceOutput, error) {
	if r.other != "" {
		r.org.SetTag(aws.ToString(in.ResourceId), claimKey, r.other)
	}
	return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform organizations:TagResource"}
}

func rootTags(t *testing.T, api *organizations.Client, root string) map[string]string {
	t.Helper()
	out, err := api.ListTagsForResource(context.Background(), &organizations.ListTagsForResourceInput{ResourceId: aws.String(root)})
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{}
	for _, tag := range out.Tags {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return tags
}
