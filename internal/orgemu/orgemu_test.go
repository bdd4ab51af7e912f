package orgemu_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
)

// The emulator is the ground truth of most suites: these tests hold it to Organizations' own
// behaviour, through the real SDK client, so that what the SDK makes of each answer (modeled
// error types, pages) is what it would make of AWS's.

const member = "111111111111"

func client(t *testing.T, org *orgemu.Server) *organizations.Client {
	t.Helper()
	cfg := testenv.AWSConfig()
	cfg.RetryMaxAttempts = 1 // the emulator's answers as they are, not the SDK's retries of them
	url := org.Start()
	t.Cleanup(org.Close)
	return organizations.NewFromConfig(cfg, func(o *organizations.Options) { o.BaseEndpoint = aws.String(url) })
}

func TestAttachAndDetachAnswerAsOrganizationsDoes(t *testing.T) {
	org := orgemu.Standard(testenv.Management, "alice@example.com", member)
	c := client(t, org)
	ctx := context.Background()
	detach := func() error {
		_, err := c.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: aws.String(orgemu.GuardrailID), TargetId: aws.String(member)})
		return err
	}
	attach := func(policy string) error {
		_, err := c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String(policy), TargetId: aws.String(member)})
		return err
	}
	if err := detach(); err != nil {
		t.Fatal(err)
	}
	if org.IsAttached(member, orgemu.GuardrailID) {
		t.Fatal("still attached after DetachPolicy")
	}
	var notAttached *types.PolicyNotAttachedException
	if err := detach(); !errors.As(err, &notAttached) {
		t.Errorf("second detach: %v, want PolicyNotAttachedException", err)
	}
	if err := attach(orgemu.GuardrailID); err != nil {
		t.Fatal(err)
	}
	var duplicate *types.DuplicatePolicyAttachmentException
	if err := attach(orgemu.GuardrailID); !errors.As(err, &duplicate) {
		t.Errorf("second attach: %v, want DuplicatePolicyAttachmentException", err)
	}
	var notFound *types.PolicyNotFoundException
	if err := attach("p-nosuchpolicy"); !errors.As(err, &notFound) {
		t.Errorf("unknown policy: %v, want PolicyNotFoundException", err)
	}
	var noTarget *types.TargetNotFoundException
	if _, err := c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String(orgemu.GuardrailID), TargetId: aws.String("222222222222")}); !errors.As(err, &noTarget) {
		t.Errorf("unknown target: %v, want TargetNotFoundException", err)
	}
}

func TestAttachmentQuotas(t *testing.T) {
	org := orgemu.New(testenv.Management)
	org.AddAccount(orgemu.Account{ID: member}, orgemu.FullAWSAccessID)
	c := client(t, org)
	ctx := context.Background()
	var violation *types.ConstraintViolationException
	_, err := c.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: aws.String(orgemu.FullAWSAccessID), TargetId: aws.String(member)})
	if !errors.As(err, &violation) || violation.Reason != types.ConstraintViolationExceptionReasonMinPolicyTypeAttachmentLimitExceeded {
		t.Errorf("detaching the last SCP: %v", err)
	}
	for i := range orgemu.MaxSCPs - 1 {
		id := "p-extra0000" + string(rune('a'+i))
		org.AddPolicy(id, id)
		if _, err := c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String(id), TargetId: aws.String(member)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String(orgemu.GuardrailID), TargetId: aws.String(member)})
	if !errors.As(err, &violation) || violation.Reason != types.ConstraintViolationExceptionReasonMaxPolicyTypeAttachmentLimitExceeded {
		t.Errorf("a sixth SCP: %v", err)
	}
}

func TestPagesAndParents(t *testing.T) {
	org := orgemu.New(testenv.Management)
	org.AddOU("ou-ex01-sandbox1", org.Root())
	org.AddAccount(orgemu.Account{ID: member, Parent: "ou-ex01-sandbox1", Tags: map[string]string{"a": "1", "b": "2", "c": "3"}}, orgemu.FullAWSAccessID)
	org.SetPageSize(2)
	c := client(t, org)
	ctx := context.Background()
	var keys []string
	p := organizations.NewListTagsForResourcePaginator(c, &organizations.ListTagsForResourceInput{ResourceId: aws.String(member)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, tag := range out.Tags {
			keys = append(keys, *tag.Key)
		}
	}
	if pages != 2 || len(keys) != 3 {
		t.Errorf("%d pages, tags %v", pages, keys)
	}
	parents, err := c.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(member)})
	if err != nil || len(parents.Parents) != 1 || *parents.Parents[0].Id != "ou-ex01-sandbox1" || parents.Parents[0].Type != types.ParentTypeOrganizationalUnit {
		t.Errorf("account's parent: %+v, %v", parents, err)
	}
	parents, err = c.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String("ou-ex01-sandbox1")})
	if err != nil || *parents.Parents[0].Id != org.Root() || parents.Parents[0].Type != types.ParentTypeRoot {
		t.Errorf("OU's parent: %+v, %v", parents, err)
	}
}

func TestFaultsAndThrottling(t *testing.T) {
	org := orgemu.Standard(testenv.Management, "alice@example.com", member)
	org.Inject(orgemu.Fault{Op: "DescribeAccount", Code: "ConcurrentModificationException", Skip: 1, Times: 2})
	c := client(t, org)
	ctx := context.Background()
	describe := func() error {
		_, err := c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(member)})
		return err
	}
	var conflict *types.ConcurrentModificationException
	got := []bool{describe() == nil, errors.As(describe(), &conflict), errors.As(describe(), &conflict), describe() == nil}
	if got[0] != true || got[1] != true || got[2] != true || got[3] != true {
		t.Errorf("skip 1 then fail 2: %v", got)
	}
	org.SetRateLimit(1, 1)
	_ = describe()
	var tooMany *types.TooManyRequestsException
	if err := describe(); !errors.As(err, &tooMany) {
		t.Errorf("over the rate: %v, want TooManyRequestsException", err)
	}
	org.Reset()
	var access *types.AccessDeniedException
	org.Inject(orgemu.Fault{Code: "AccessDeniedException"})
	if err := describe(); !errors.As(err, &access) {
		t.Errorf("injected AccessDenied: %v", err)
	}
	var api smithy.APIError
	org.Reset()
	if _, err := c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("12345")}); !errors.As(err, &api) || api.ErrorCode() != "InvalidInputException" {
		t.Errorf("malformed account ID: %v", err)
	}
	if n := org.CountCalls("DescribeAccount", "InvalidInputException"); n != 1 {
		t.Errorf("%d failed calls recorded, want 1", n)
	}
}

func TestPoliciesAnswerAsOrganizationsDoes(t *testing.T) {
	org := orgemu.Standard(testenv.Management, "alice@example.com", member)
	org.SetQuotas(orgemu.MaxSCPs, 200)
	c := client(t, org)
	ctx := context.Background()
	const doc = `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}`
	create := func(name, content string) (*organizations.CreatePolicyOutput, error) {
		return c.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String(name), Content: aws.String(content),
			Description: aws.String("test"), Type: types.PolicyTypeServiceControlPolicy,
			Tags: []types.Tag{{Key: aws.String("rootwindow:request"), Value: aws.String("req-1")}}})
	}
	out, err := create("window-1", doc)
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Policy.PolicySummary.Id)
	var dup *types.DuplicatePolicyException
	if _, err := create("window-1", doc); !errors.As(err, &dup) {
		t.Errorf("same name again: %v", err)
	}
	var malformed *types.MalformedPolicyDocumentException
	if _, err := create("window-2", `{"Statement":{"Effect":"Perhaps"}}`); !errors.As(err, &malformed) {
		t.Errorf("malformed: %v", err)
	}
	var limit *types.ConstraintViolationException
	big := `{"Version":"2012-10-17","Statement":{"Sid":"` + strings.Repeat("A", 200) + `","Effect":"Deny","Action":"*","Resource":"*"}}`
	if _, err := create("window-3", big); !errors.As(err, &limit) || limit.Reason != types.ConstraintViolationExceptionReasonPolicyContentLimitExceeded {
		t.Errorf("too big: %v", err)
	}
	if _, err := c.UpdatePolicy(ctx, &organizations.UpdatePolicyInput{PolicyId: aws.String(id), Content: aws.String(big)}); !errors.As(err, &limit) {
		t.Errorf("update too big: %v", err)
	}
	if _, err := c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String(id), TargetId: aws.String(member)}); err != nil {
		t.Fatal(err)
	}
	var inUse *types.PolicyInUseException
	if _, err := c.DeletePolicy(ctx, &organizations.DeletePolicyInput{PolicyId: aws.String(id)}); !errors.As(err, &inUse) {
		t.Errorf("delete while attached: %v", err)
	}
	targets, err := c.ListTargetsForPolicy(ctx, &organizations.ListTargetsForPolicyInput{PolicyId: aws.String(id)})
	if err != nil || len(targets.Targets) != 1 || aws.ToString(targets.Targets[0].TargetId) != member || targets.Targets[0].Type != types.TargetTypeAccount {
		t.Errorf("targets %+v %v", targets, err)
	}
	tags, err := c.ListTagsForResource(ctx, &organizations.ListTagsForResourceInput{ResourceId: aws.String(id)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "req-1" {
		t.Errorf("tags %+v %v", tags, err)
	}
	if _, err := c.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: aws.String(id), TargetId: aws.String(member)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeletePolicy(ctx, &organizations.DeletePolicyInput{PolicyId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	var notFound *types.PolicyNotFoundException
	if _, err := c.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String(id)}); !errors.As(err, &notFound) {
		t.Errorf("deleted policy: %v", err)
	}
}

func TestRootAllowedFollowsInheritance(t *testing.T) {
	org := orgemu.New(testenv.Management)
	org.AddOU("ou-ab12-workloads", org.Root(), orgemu.FullAWSAccessID)
	org.AddAccount(orgemu.Account{ID: member, Parent: "ou-ab12-workloads"}, orgemu.FullAWSAccessID)
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	if !org.RootAllowed(member, at, false) {
		t.Fatal("no guardrail anywhere, yet root is blocked")
	}
	for _, target := range []string{org.Root(), "ou-ab12-workloads", member} {
		org.Attach(target, orgemu.GuardrailID)
		if org.RootAllowed(member, at, false) {
			t.Errorf("guardrail at %s, yet root is allowed", target)
		}
		org.Detach(target, orgemu.GuardrailID)
	}
	if !org.RootAllowed(testenv.Management, at, false) {
		t.Error("SCPs never apply to the management account")
	}
}

// TagResource refuses a tag Organizations refuses: a value with a comma (or any character outside
// letters, digits, spaces and _.:/=+-@), a key that is empty or too long; and changes nothing.
func TestTagResourceRefusesWhatOrganizationsRefuses(t *testing.T) {
	org := orgemu.Standard("999999999999", "alice@example.com", "111111111111")
	c := client(t, org)
	tag := func(key, value string) error {
		_, err := c.TagResource(context.Background(), &organizations.TagResourceInput{
			ResourceId: aws.String("111111111111"), Tags: []types.Tag{{Key: aws.String(key), Value: aws.String(value)}}})
		return err
	}
	for _, tt := range [][2]string{{"owner", "alice@example.com, bob@example.com"}, {"owner", "alice\u202e"}, {"", "x"}, {strings.Repeat("k", 129), "x"}, {"owner", strings.Repeat("v", 257)}} {
		var invalid *types.InvalidInputException
		if err := tag(tt[0], tt[1]); !errors.As(err, &invalid) {
			t.Errorf("tag %q=%q: %v", tt[0], tt[1], err)
		}
	}
	if err := tag("owner", "alice@example.com bob@example.com"); err != nil {
		t.Fatal(err)
	}
	out, err := c.ListTagsForResource(context.Background(), &organizations.ListTagsForResourceInput{ResourceId: aws.String("111111111111")})
	if err != nil || len(out.Tags) != 1 || aws.ToString(out.Tags[0].Value) != "alice@example.com bob@example.com" {
		t.Errorf("tags %+v %v", out, err)
	}
}
