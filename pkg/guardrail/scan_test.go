package guardrail_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
)

// scanOrg is an organization with every case the preflight tells apart.
func scanOrg() *orgemu.Server {
	org := orgemu.New(mgmt)
	owner := map[string]string{"owner": "alice@example.com"}
	org.AddOU("ou-scan-guarded", org.Root(), orgemu.FullAWSAccessID, orgemu.GuardrailID)
	org.AddOU("ou-scan-plain", org.Root(), orgemu.FullAWSAccessID)
	org.AddOU("ou-scan-nested", "ou-scan-plain", orgemu.FullAWSAccessID)
	extras := org.AddExtraPolicies(orgemu.MaxSCPs - 2)
	org.AddAccount(orgemu.Account{ID: "700000000001", Parent: "ou-scan-nested", Tags: owner}, orgemu.FullAWSAccessID, orgemu.GuardrailID)                    // direct
	org.AddAccount(orgemu.Account{ID: "700000000002", Parent: "ou-scan-guarded", Tags: owner}, orgemu.FullAWSAccessID)                                       // inherited only
	org.AddAccount(orgemu.Account{ID: "700000000003", Parent: "ou-scan-guarded", Tags: owner}, orgemu.FullAWSAccessID, orgemu.GuardrailID)                   // both
	org.AddAccount(orgemu.Account{ID: "700000000004", Parent: "ou-scan-plain", Tags: owner}, orgemu.FullAWSAccessID)                                         // not applied
	org.AddAccount(orgemu.Account{ID: "700000000005", Parent: "ou-scan-plain"}, orgemu.FullAWSAccessID, orgemu.GuardrailID)                                  // no owner
	org.AddAccount(orgemu.Account{ID: "700000000006", Parent: "ou-scan-plain", Tags: owner, State: "SUSPENDED"}, orgemu.FullAWSAccessID, orgemu.GuardrailID) // suspended
	org.AddAccount(orgemu.Account{ID: "700000000007", Tags: owner}, append(append([]string{orgemu.FullAWSAccessID}, extras...), orgemu.GuardrailID)...)      // slots full
	return org
}

func TestScan(t *testing.T) {
	for _, tt := range []struct {
		strategy string
		want     map[string][2]string // account → strategy, reason
	}{
		{contract.StrategyDetach, map[string][2]string{
			"700000000001": {"detach", guardrail.ReasonOK}, "700000000002": {"", guardrail.ReasonInheritedOnly},
			"700000000003": {"", guardrail.ReasonInheritedToo}, "700000000004": {"", guardrail.ReasonNotApplied},
			"700000000005": {"", guardrail.ReasonNoOwner}, "700000000006": {"", guardrail.ReasonNotActive},
			"700000000007": {"", guardrail.ReasonSlotsFull}, mgmt: {"", guardrail.ReasonManagement},
		}},
		{contract.StrategyAuto, map[string][2]string{
			"700000000001": {"detach", guardrail.ReasonOK}, "700000000002": {"exempt", guardrail.ReasonOK},
			"700000000003": {"exempt", guardrail.ReasonOK}, "700000000004": {"", guardrail.ReasonNotApplied},
			"700000000005": {"", guardrail.ReasonNoOwner}, "700000000006": {"", guardrail.ReasonNotActive},
			"700000000007": {"exempt", guardrail.ReasonOK}, mgmt: {"", guardrail.ReasonManagement},
		}},
	} {
		t.Run(tt.strategy, func(t *testing.T) {
			org := scanOrg()
			client := testenv.Organizations(t, org)
			g := guardrail.New(client, orgemu.GuardrailID, guardrail.Options{Backoff: fast, Rates: guardrail.Unpaced})
			rep, err := g.Scan(context.Background(), client, tt.strategy, "owner")
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Accounts) != len(tt.want) || rep.OUs != 3 {
				t.Fatalf("%d accounts, %d OUs: %+v", len(rep.Accounts), rep.OUs, rep.Accounts)
			}
			for _, e := range rep.Accounts {
				if w := tt.want[e.AccountID]; e.Strategy != w[0] || e.Reason != w[1] {
					t.Errorf("%s (%s): %q %q (%s), want %q %q", e.AccountID, e.Path, e.Strategy, e.Reason, e.Detail, w[0], w[1])
				}
			}
			if org.CountCalls("ListParents", "") != 0 || org.CountCalls("DescribeAccount", "") != 0 {
				t.Errorf("account-by-account reads: %d ListParents, %d DescribeAccount", org.CountCalls("ListParents", ""), org.CountCalls("DescribeAccount", ""))
			}
			if n := org.CountCalls("AttachPolicy", "") + org.CountCalls("DetachPolicy", "") + org.CountCalls("UpdatePolicy", ""); n != 0 {
				t.Errorf("the preflight changed the organization: %d writes", n)
			}
		})
	}
}

// benchOrganization is an emulated organization of n accounts under n/17 OUs (two levels), the
// guardrail attached to each account, answering each call after 20 ms; owners are tagged on each
// account, or (ouOwners) on the first level of OUs only.
func benchOrganization(b *testing.B, n int, ouOwners bool) (*orgemu.Server, *organizations.Client, *guardrail.Guardrail) {
	org := orgemu.New(mgmt)
	ous := n / 17
	for i := range ous {
		parent := org.Root()
		if i >= 20 {
			parent = fmt.Sprintf("ou-bench-%08d", i%20)
		}
		org.AddOU(fmt.Sprintf("ou-bench-%08d", i), parent, orgemu.FullAWSAccessID)
		if ouOwners && i < 20 {
			org.SetTag(fmt.Sprintf("ou-bench-%08d", i), "owner", "a@example.com")
		}
	}
	for i := range n {
		tags := map[string]string{"owner": "a@example.com"}
		if ouOwners {
			tags = nil
		}
		org.AddAccount(orgemu.Account{ID: fmt.Sprintf("8%011d", i), Parent: fmt.Sprintf("ou-bench-%08d", i%ous), Tags: tags},
			orgemu.FullAWSAccessID, orgemu.GuardrailID)
	}
	client := testenv.Organizations(b, org)
	g := guardrail.New(client, orgemu.GuardrailID, guardrail.Options{Backoff: guardrail.Backoff{Attempts: 10, Base: 50 * time.Millisecond, Max: 2 * time.Second}})
	org.SetLatency(20 * time.Millisecond)
	return org, client, g
}

// reportCalls reports the calls answered since before (throttled answers apart) and the least
// time Organizations' documented throttles allow for them (orgemu.RateBound).
func reportCalls(b *testing.B, org *orgemu.Server, before int) {
	calls := org.Calls()[before:]
	throttled := 0
	for _, c := range calls {
		if c.Error != "" {
			throttled++
		}
	}
	b.ReportMetric(float64(len(calls)-throttled), "calls")
	b.ReportMetric(float64(throttled), "throttled")
	b.ReportMetric(orgemu.RateBound(calls), "bound-s")
	ops := map[string]int{}
	for _, c := range calls {
		if c.Error == "" {
			ops[c.Op]++
		}
	}
	b.Logf("calls by operation: %v", ops)
}

// benchReads runs read (which answers how many accounts it found eligible or covered) over
// organizations of sizes accounts, owners tagged on each account or on OUs, at Organizations'
// documented throttles, reporting its calls.
func benchReads(b *testing.B, sizes []int, read func(g *guardrail.Guardrail, client *organizations.Client) (int, error)) {
	for _, n := range sizes {
		for _, owners := range []string{"account", "ou"} {
			b.Run(fmt.Sprintf("accounts=%d/owners=%s", n, owners), func(b *testing.B) {
				benchRead(b, n, owners == "ou", read)
			})
		}
	}
}

// benchRead runs read once per iteration over benchOrganization(n, ouOwners).
func benchRead(b *testing.B, n int, ouOwners bool, read func(g *guardrail.Guardrail, client *organizations.Client) (int, error)) {
	org, client, g := benchOrganization(b, n, ouOwners)
	for b.Loop() {
		org.Throttle(contract.OrganizationsRate)
		before := len(org.Calls())
		got, err := read(g, client)
		if err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("%d of %d accounts", got, n)
		}
		reportCalls(b, org, before)
	}
}

// BenchmarkScan is the preflight (Guardrail.Scan, strategy detach) of benchOrganization.
func BenchmarkScan(b *testing.B) {
	benchReads(b, []int{500, 5000}, func(g *guardrail.Guardrail, client *organizations.Client) (int, error) {
		rep, err := g.Scan(context.Background(), client, contract.StrategyDetach, "owner")
		return rep.Counts[guardrail.ReasonOK], err
	})
}

// BenchmarkCoverage is the sweeper's drift scan of the whole organization (Guardrail.Coverage),
// up to 10,000 accounts: it must fit the sweeper's 300 s.
func BenchmarkCoverage(b *testing.B) {
	benchReads(b, []int{500, 5000, 10000}, func(g *guardrail.Guardrail, client *organizations.Client) (int, error) {
		c, err := g.Coverage(context.Background(), client)
		covered := 0
		for _, on := range c.Active {
			if on {
				covered++
			}
		}
		return covered, err
	})
}

// An account with no owner tag of its own is owned by its nearest OU's (or the root's) owner tag:
// the preflight counts it eligible, reading each OU's tags once.
func TestScanOwnersFromTheOU(t *testing.T) {
	org := orgemu.New(mgmt)
	org.AddOU("ou-own2-team0001", org.Root(), orgemu.FullAWSAccessID)
	org.AddOU("ou-own2-sub00001", "ou-own2-team0001", orgemu.FullAWSAccessID)
	org.AddOU("ou-own2-other001", org.Root(), orgemu.FullAWSAccessID)
	for _, a := range []orgemu.Account{{ID: "710000000001", Parent: "ou-own2-sub00001"}, {ID: "710000000002", Parent: "ou-own2-sub00001"}, {ID: "710000000003", Parent: "ou-own2-other001"}} {
		org.AddAccount(a, orgemu.FullAWSAccessID, orgemu.GuardrailID)
	}
	org.SetTag("ou-own2-team0001", "owner", "alice@example.com")
	client := testenv.Organizations(t, org)
	g := guardrail.New(client, orgemu.GuardrailID, guardrail.Options{Backoff: fast, Rates: guardrail.Unpaced})
	rep, err := g.Scan(context.Background(), client, contract.StrategyDetach, "owner")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"710000000001": guardrail.ReasonOK, "710000000002": guardrail.ReasonOK, "710000000003": guardrail.ReasonNoOwner, mgmt: guardrail.ReasonManagement}
	for _, e := range rep.Accounts {
		if e.Reason != want[e.AccountID] {
			t.Errorf("%s (%s): %q (%s), want %q", e.AccountID, e.Path, e.Reason, e.Detail, want[e.AccountID])
		}
	}
	n := 0
	for _, c := range org.Calls() {
		if c.Op == "ListTagsForResource" && c.Target == "ou-own2-team0001" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the OU's tags read %d times", n)
	}
	// Whether an account is owned asks its OUs first: under an owned OU no account's tags are read.
	read := map[string]bool{}
	for _, c := range org.Calls() {
		if c.Op == "ListTagsForResource" {
			read[c.Target] = true
		}
	}
	if read["710000000001"] || read["710000000002"] || !read["710000000003"] {
		t.Errorf("account tags read: %v; want only 710000000003's, whose OUs own nothing", read)
	}
}

// Where the organization's SCPs are far fewer than its accounts, the preflight reads the direct
// SCPs of every target by policy (each SCP's targets) instead of account by account, and the
// slots come out the same.
func TestScanReadsSlotsByPolicy(t *testing.T) {
	org := orgemu.New(mgmt)
	extras := org.AddExtraPolicies(orgemu.MaxSCPs - 2)
	for i := range 30 {
		org.AddAccount(orgemu.Account{ID: fmt.Sprintf("72000000%04d", i), Tags: map[string]string{"owner": "alice@example.com"}}, orgemu.FullAWSAccessID, orgemu.GuardrailID)
	}
	for _, p := range extras {
		org.Attach("720000000007", p) // ten SCPs: no slot for the window's
	}
	client := testenv.Organizations(t, org)
	g := guardrail.New(client, orgemu.GuardrailID, guardrail.Options{Backoff: fast, Rates: guardrail.Unpaced})
	rep, err := g.Scan(context.Background(), client, contract.StrategyDetach, "owner")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range rep.Accounts {
		want := guardrail.ReasonOK
		switch e.AccountID {
		case mgmt:
			want = guardrail.ReasonManagement
		case "720000000007":
			want = guardrail.ReasonSlotsFull
		}
		if e.Reason != want {
			t.Errorf("%s: %q (%s), want %q", e.AccountID, e.Reason, e.Detail, want)
		}
	}
	if n := org.CountCalls("ListPoliciesForTarget", ""); n != 0 {
		t.Errorf("%d ListPoliciesForTarget calls: the slots were read account by account", n)
	}
	if n := org.CountCalls("ListTargetsForPolicy", ""); n == 0 {
		t.Error("no ListTargetsForPolicy call: the slots were not read by policy")
	}
}
