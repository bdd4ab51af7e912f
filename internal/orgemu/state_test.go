package orgemu_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
)

// What a scenario leaves behind (a detached guardrail, a policy it made, a changed document, tags)
// is gone once the organization is restored, and what it saved is not changed by what follows;
// a policy created after the restore still gets an ID never used before.
func TestRestorePutsTheOrganizationBack(t *testing.T) {
	org := orgemu.Standard(testenv.Management, "alice@example.com", member)
	c := client(t, org)
	ctx := context.Background()
	saved := org.Save()
	before := org.Snapshot()

	org.Detach(member, orgemu.GuardrailID)
	org.SetContent(orgemu.GuardrailID, `{"Version":"2012-10-17","Statement":[]}`)
	org.SetTag(member, "owner", "mallory@example.com")
	org.SetTag(org.Root(), "rootwindow:claim:"+orgemu.GuardrailID, "someone")
	org.AddOU("ou-ex01-later", org.Root())
	out, err := c.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("left-behind"), Description: aws.String("x"),
		Content: aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}`), Type: types.PolicyTypeServiceControlPolicy})
	if err != nil {
		t.Fatal(err)
	}
	first := aws.ToString(out.Policy.PolicySummary.Id)

	org.Restore(saved)
	if after := org.Snapshot(); !reflect.DeepEqual(after, before) {
		t.Errorf("restored:\n%v\nwant\n%v", after, before)
	}
	tags, err := c.ListTagsForResource(ctx, &organizations.ListTagsForResourceInput{ResourceId: aws.String(member)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "alice@example.com" {
		t.Errorf("the member's tags: %v, %v", tags, err)
	}
	if root, _ := c.ListTagsForResource(ctx, &organizations.ListTagsForResourceInput{ResourceId: aws.String(org.Root())}); len(root.Tags) != 0 {
		t.Errorf("the root's tags: %v", root.Tags)
	}
	org.SetTag(member, "owner", "eve@example.com") // after the restore: the saved state is its own copy
	org.Restore(saved)
	if tags, _ := c.ListTagsForResource(ctx, &organizations.ListTagsForResourceInput{ResourceId: aws.String(member)}); aws.ToString(tags.Tags[0].Value) != "alice@example.com" {
		t.Errorf("a change after a restore reached the saved state: %v", tags.Tags)
	}
	again, err := c.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("left-behind"), Description: aws.String("x"),
		Content: aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}`), Type: types.PolicyTypeServiceControlPolicy})
	if err != nil || aws.ToString(again.Policy.PolicySummary.Id) == first {
		t.Errorf("a policy created after the restore: %v, %v (the first was %s)", again, err, first)
	}
}
