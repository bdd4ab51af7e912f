package orgemu_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/pkg/contract"
)

// Organizations' throttles as AWS documents them (Organizations User Guide, "Quotas and service
// limits", "Throttling limits"), written out here rather than read from pkg/contract, so that a
// wrong number there fails this test. A rate the table gives without a burst bursts one second's
// worth; an operation the table leaves out is taken at the documented reads' rate.
var documented = []struct {
	op    string
	rate  float64
	burst int
}{
	{"AttachPolicy", 2, 3}, {"DetachPolicy", 2, 3}, {"CreatePolicy", 2, 3}, {"DeletePolicy", 2, 3}, {"UpdatePolicy", 2, 3},
	{"ListParents", 5, 8}, {"ListPoliciesForTarget", 5, 8}, {"ListTargetsForPolicy", 5, 8},
	{"DescribePolicy", 2, 2}, {"ListRoots", 1, 1},
	{"DescribeAccount", 5, 8}, {"ListTagsForResource", 5, 8}, // not published: assumed
}

// call makes one call of op through the real client; whatever Organizations answers (a
// duplicate attachment, a policy in use) is not a throttle, and only a throttle matters here.
func call(ctx context.Context, c *organizations.Client, op string) error {
	var err error
	guard, target := aws.String(orgemu.GuardrailID), aws.String(member)
	switch op {
	case "AttachPolicy":
		_, err = c.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: guard, TargetId: target})
	case "DetachPolicy":
		_, err = c.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: guard, TargetId: target})
	case "CreatePolicy":
		_, err = c.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("p" + time.Now().Format("150405.000000000")),
			Content: aws.String(orgemu.FullAWSAccessContent), Description: aws.String("x"), Type: types.PolicyTypeServiceControlPolicy})
	case "DeletePolicy":
		_, err = c.DeletePolicy(ctx, &organizations.DeletePolicyInput{PolicyId: guard})
	case "UpdatePolicy":
		_, err = c.UpdatePolicy(ctx, &organizations.UpdatePolicyInput{PolicyId: guard, Description: aws.String("x")})
	case "ListParents":
		_, err = c.ListParents(ctx, &organizations.ListParentsInput{ChildId: target})
	case "ListPoliciesForTarget":
		_, err = c.ListPoliciesForTarget(ctx, &organizations.ListPoliciesForTargetInput{TargetId: target, Filter: types.PolicyTypeServiceControlPolicy})
	case "ListTargetsForPolicy":
		_, err = c.ListTargetsForPolicy(ctx, &organizations.ListTargetsForPolicyInput{PolicyId: guard})
	case "DescribePolicy":
		_, err = c.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: guard})
	case "ListRoots":
		_, err = c.ListRoots(ctx, &organizations.ListRootsInput{})
	case "DescribeAccount":
		_, err = c.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: target})
	case "ListTagsForResource":
		_, err = c.ListTagsForResource(ctx, &organizations.ListTagsForResourceInput{ResourceId: target})
	}
	var tooMany *types.TooManyRequestsException
	if errors.As(err, &tooMany) {
		return err
	}
	return nil
}

// frozen is a clock that moves only when told.
type frozen struct {
	mu sync.Mutex
	t  time.Time
}

func (f *frozen) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *frozen) add(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

func TestEachOperationThrottlesAtItsDocumentedRate(t *testing.T) {
	org := orgemu.Standard("999999999999", "alice@example.com", member)
	clock := &frozen{t: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
	org.SetClock(clock.now, func(*http.Request, time.Duration) {})
	org.Throttle(contract.OrganizationsRate)
	c := client(t, org)
	ctx := context.Background()
	for _, d := range documented {
		org.Throttle(contract.OrganizationsRate) // every bucket full again
		// A full bucket: burst calls at one instant, and the next is refused.
		for i := range d.burst {
			if err := call(ctx, c, d.op); err != nil {
				t.Fatalf("%s: call %d of a burst of %d refused: %v", d.op, i+1, d.burst, err)
			}
		}
		if err := call(ctx, c, d.op); err == nil {
			t.Errorf("%s: call %d at one instant answered; the burst is %d", d.op, d.burst+1, d.burst)
		}
		// Its own bucket only: every other operation still has its whole burst.
		for _, e := range documented {
			if e.op != d.op && call(ctx, c, e.op) != nil {
				t.Errorf("%s refused once %s's bucket was empty: the buckets are not each operation's own", e.op, d.op)
			}
		}
		// It refills at its rate: one token after 1/rate seconds, not a millisecond sooner.
		step := time.Duration(float64(time.Second) / d.rate)
		clock.add(step - time.Millisecond)
		if err := call(ctx, c, d.op); err == nil {
			t.Errorf("%s: answered %v after its bucket emptied; it refills at %v a second", d.op, step-time.Millisecond, d.rate)
		}
		clock.add(time.Millisecond)
		if err := call(ctx, c, d.op); err != nil {
			t.Errorf("%s: refused %v after its bucket emptied; it refills at %v a second: %v", d.op, step, d.rate, err)
		}
		if err := call(ctx, c, d.op); err == nil {
			t.Errorf("%s: a second call answered on one refilled token", d.op)
		}
		// And never holds more than its burst, however long it rests.
		clock.add(time.Hour)
		for i := range d.burst {
			if err := call(ctx, c, d.op); err != nil {
				t.Fatalf("%s: call %d of a burst of %d after an hour refused: %v", d.op, i+1, d.burst, err)
			}
		}
		if err := call(ctx, c, d.op); err == nil {
			t.Errorf("%s: call %d after an hour's rest answered; the burst is %d", d.op, d.burst+1, d.burst)
		}
	}
	org.Throttle(nil)
	for range 20 {
		if err := call(ctx, c, "ListParents"); err != nil {
			t.Fatalf("throttles removed, still refused: %v", err)
		}
	}
}

// A shared budget (another caller, a storm) refuses beyond its own rate whatever the operation,
// and a call it refuses spends nothing of the operation's own bucket.
func TestASharedBudgetThrottlesEveryOperation(t *testing.T) {
	org := orgemu.Standard("999999999999", "alice@example.com", member)
	clock := &frozen{t: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
	org.SetClock(clock.now, func(*http.Request, time.Duration) {})
	org.Throttle(contract.OrganizationsRate)
	org.SetRateLimit(1, 2)
	c := client(t, org)
	ctx := context.Background()
	if call(ctx, c, "ListParents") != nil || call(ctx, c, "DescribeAccount") != nil {
		t.Fatal("the shared budget's burst of two refused")
	}
	if call(ctx, c, "ListRoots") == nil {
		t.Error("a third call answered on a shared budget of two")
	}
	clock.add(time.Second)
	if err := call(ctx, c, "ListRoots"); err != nil {
		t.Errorf("ListRoots refused with a token in both buckets (the shared budget's refusal spent its own): %v", err)
	}
}
