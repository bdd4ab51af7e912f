package guardrail_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/policy"
)

func TestRenderExempt(t *testing.T) {
	const base = `{"Version":"2012-10-17","Statement":[{"Sid":"DenyRootUser","Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":["arn:aws:iam::*:root"]},"BoolIfExists":{"aws:AssumedRoot":"false"}}},{"Sid":"DenyLeaveOrg","Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}`
	e1 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	e2 := e1.Add(90 * time.Minute)
	s1 := e1.Add(-2 * time.Hour)
	ex := []guardrail.Exemption{{AccountIDs: []string{"111111111111"}, Start: s1, End: e1}, {AccountIDs: []string{"333333333333", "222222222222"}, Start: s1, End: e2}, {AccountIDs: []string{"444444444444"}, End: e2}}
	doc, err := guardrail.RenderExempt(base, ex)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := guardrail.RenderExempt(base, []guardrail.Exemption{ex[2], ex[0], ex[1]})
	if again != doc {
		t.Errorf("the render depends on the order of the windows:\n%s\n%s", doc, again)
	}
	if n, m := strings.Count(doc, `"Sid":"RootwindowEnd`), strings.Count(doc, `"Sid":"RootwindowStart`); n != 2 || m != 1 {
		t.Errorf("%d end and %d start statements, want one per instant (windows sharing one share a statement):\n%s", n, m, doc)
	}
	parsed, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	full, _ := policy.Parse([]byte(orgemu.FullAWSAccessContent))
	allowed := func(account string, at time.Time, assumed bool) bool {
		return policy.Permits([][]policy.Document{{full, parsed}}, policy.RootUser(account, at, assumed))
	}
	for _, tt := range []struct {
		account string
		at      time.Time
		want    bool
	}{
		{"111111111111", s1.Add(-time.Second), false}, // before its start
		{"111111111111", s1, true},
		{"444444444444", s1.Add(-time.Hour), true}, // no start bound
		{"111111111111", e1.Add(-time.Second), true},
		{"111111111111", e1, true},
		{"111111111111", e1.Add(time.Second), false},
		{"222222222222", e1.Add(time.Second), true},
		{"444444444444", e2.Add(-time.Second), true},
		{"444444444444", e2.Add(time.Second), false},
		{"555555555555", e1.Add(-time.Hour), false}, // in no window
	} {
		if got := allowed(tt.account, tt.at, false); got != tt.want {
			t.Errorf("root on %s at %s: %v, want %v", tt.account, tt.at.Format(time.RFC3339), got, tt.want)
		}
	}
	// What the base allows beside the root deny stays: a centralized root session is never denied.
	if !allowed("555555555555", e1, true) || !allowed("111111111111", e2.Add(time.Hour), true) {
		t.Error("the aws:AssumedRoot exemption was lost")
	}
	// The other statements stay as they were.
	if !strings.Contains(doc, `"Sid":"DenyLeaveOrg"`) {
		t.Errorf("a statement was dropped:\n%s", doc)
	}
	// No window: base, byte for byte.
	if none, _ := guardrail.RenderExempt(base, nil); none != base {
		t.Errorf("no window:\n%s\nwant\n%s", none, base)
	}
	if _, err := guardrail.RenderExempt(doc, ex); err == nil || !strings.Contains(err.Error(), "already holds a statement rootwindow writes") {
		t.Errorf("a rendered document taken as base: %v", err)
	}
	if _, err := guardrail.RenderExempt(`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"},"StringEquals":{"aws:PrincipalAccount":"1"}}}}`, ex); err == nil {
		t.Error("an exemption merged into a condition it cannot merge with")
	}
}

// Taking one window out of a document someone else changed keeps what they added and the other
// windows' exemptions, and leaves the window's accounts denied.
func TestWithoutAccounts(t *testing.T) {
	const base = `{"Version":"2012-10-17","Statement":[{"Sid":"DenyRootUser","Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":["arn:aws:iam::*:root"]}}}]}`
	end := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	doc, err := guardrail.RenderExempt(base, []guardrail.Exemption{
		{AccountIDs: []string{"111111111111"}, End: end}, {AccountIDs: []string{"222222222222"}, End: end.Add(time.Hour)},
	})
	if err != nil {
		t.Fatal(err)
	}
	// An operator's emergency Deny, added during the windows.
	operator := strings.Replace(doc, `"Statement":[`, `"Statement":[{"Sid":"EmergencyDenyS3","Effect":"Deny","Action":"s3:*","Resource":"*"},`, 1)
	out, err := guardrail.WithoutAccounts(operator, []string{"111111111111"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "EmergencyDenyS3") {
		t.Errorf("the operator's statement is gone:\n%s", out)
	}
	if strings.Contains(out, "111111111111") {
		t.Errorf("the window's account is still in the document:\n%s", out)
	}
	parsed, err := policy.Parse([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	full, _ := policy.Parse([]byte(orgemu.FullAWSAccessContent))
	allowed := func(account string, at time.Time) bool {
		return policy.Permits([][]policy.Document{{full, parsed}}, policy.RootUser(account, at, false))
	}
	during := end.Add(-time.Minute)
	if allowed("111111111111", during) || !allowed("222222222222", during) || allowed("333333333333", during) {
		t.Errorf("during the windows: 111… %v (taken back), 222… %v (still open), 333… %v", allowed("111111111111", during), allowed("222222222222", during), allowed("333333333333", during))
	}
	if allowed("222222222222", end.Add(time.Hour+time.Second)) {
		t.Error("the other window does not end at its end any more")
	}
	if again, _ := guardrail.WithoutAccounts(out, []string{"111111111111"}); again != out {
		t.Errorf("taking back twice changed it again:\n%s\n%s", out, again)
	}
}

// overwriter is Organizations with another writer who changes the guardrail's document right
// after each UpdatePolicy; answered says what UpdatePolicy's answer carries (the content as
// updated, as AWS documents, or nothing).
type overwriter struct {
	guardrail.OrganizationsAPI
	org      *orgemu.Server
	other    string
	answered bool
}

func (o overwriter) UpdatePolicy(ctx context.Context, in *organizations.UpdatePolicyInput, optFns ...func(*organizations.Options)) (*organizations.UpdatePolicyOutput, error) {
	out, err := o.OrganizationsAPI.UpdatePolicy(ctx, in, optFns...)
	if err != nil {
		return out, err
	}
	if o.other != "" {
		o.org.SetContent(orgemu.GuardrailID, o.other)
		if out.Policy != nil {
			out.Policy.Content = aws.String(o.other) // the write raced with the other writer's
		}
	}
	if !o.answered {
		out.Policy = nil
	}
	return out, nil
}

// WriteDocument checks the write from UpdatePolicy's answer, and reads it back only when the
// answer does not carry the content: one read fewer on a bucket of two a second, and a writer
// racing it is caught either way.
func TestWriteDocumentChecksWhatOrganizationsHolds(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"DenyRoot","Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"}}}]}`
	other := strings.Replace(doc, "DenyRoot", "Theirs", 1)
	for _, answered := range []bool{true, false} {
		for _, raced := range []bool{false, true} {
			t.Run(fmt.Sprintf("answered=%v/raced=%v", answered, raced), func(t *testing.T) {
				org := orgemu.Standard(testenv.Management, "alice@example.com", "111111111111")
				api := overwriter{OrganizationsAPI: testenv.Organizations(t, org), org: org, answered: answered}
				if raced {
					api.other = other
				}
				g := guardrail.New(api, orgemu.GuardrailID, guardrail.Options{Rates: guardrail.Unpaced})
				before := org.CountCalls("DescribePolicy", "")
				err := g.WriteDocument(context.Background(), doc)
				switch {
				case raced && (err == nil || !strings.Contains(err.Error(), "someone else is changing it")):
					t.Errorf("a write another writer replaced at once: %v, want it caught", err)
				case !raced && err != nil:
					t.Errorf("WriteDocument: %v", err)
				}
				wantReads := 0
				if !answered {
					wantReads = 1
				}
				if got := org.CountCalls("DescribePolicy", "") - before; got != wantReads {
					t.Errorf("read the document back %d times, want %d", got, wantReads)
				}
			})
		}
	}
}
