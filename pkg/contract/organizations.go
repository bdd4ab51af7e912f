package contract

// OrganizationsCalls are the AWS Organizations operations each function calls, by function (the
// names of functions/<name>): what its role must allow. pkg/window's tests record the calls each
// function's steps make against the emulator and check them against this; infra/stack's check
// the synthesized roles allow them. A call missing from a role fails only in AWS (AccessDenied),
// so both sides are tested.
var OrganizationsCalls = map[string][]string{
	// Admission: who may ask, the accounts, their owners (the account's tag or an OU's), the
	// guardrail's document.
	"validate": organizationReads,
	// The lift, after the booking's checks again; under exempt, the guardrail's document written.
	// The guardrail claimed for this deployment at its first lift (a tag on the root).
	"detach": append([]string{"TagResource", "CreatePolicy", "AttachPolicy", "DetachPolicy", "DeletePolicy", "ListPolicies", "UpdatePolicy"}, organizationReads...),
	// The restore: the guardrail back, the window's SCP detached and deleted, or the document
	// rendered again.
	"reattach": {"DescribePolicy", "AttachPolicy", "DetachPolicy", "DeletePolicy", "ListPolicies", "UpdatePolicy"},
	// Admission as validate's; an early end stops the execution (no write).
	"api": organizationReads,
	// The safety net: restores as reattach does, window SCPs left behind, cut-short windows, and
	// the drift scan over the whole organization.
	"sweeper": append([]string{"AttachPolicy", "DetachPolicy", "DeletePolicy", "ListPolicies", "UpdatePolicy", "ListTargetsForPolicy",
		"ListOrganizationalUnitsForParent", "ListAccountsForParent"}, organizationReads...),
}

// The reads every admission makes again at the lift; ListRoots and the root's tags: which
// deployment claims the guardrail.
var organizationReads = []string{"ListRoots", "DescribeOrganization", "DescribeAccount", "DescribePolicy", "ListParents", "ListPoliciesForTarget", "ListTagsForResource"}

// Rate is how fast Organizations answers one operation before it throttles
// (TooManyRequestsException): a token bucket of Burst calls refilled at PerSecond.
type Rate struct {
	PerSecond float64
	Burst     int
}

// OrganizationsRates are Organizations' throttles per operation and per account, as AWS
// documents them (AWS Organizations User Guide, "Quotas and service limits", "Throttling
// limits"): the writes rootwindow makes 2 a second with a burst of 3; ListParents,
// ListPoliciesForTarget and ListTargetsForPolicy 5 with a burst of 8; DescribePolicy 2; ListRoots
// 1. Where the table gives a rate and no burst, the burst is taken as the rate (one second's
// worth). Each operation has its bucket of its own. The loopback emulator throttles by these
// numbers and pkg/guardrail paces its calls under them.
var OrganizationsRates = map[string]Rate{
	"AttachPolicy":          {2, 3},
	"DetachPolicy":          {2, 3},
	"CreatePolicy":          {2, 3},
	"DeletePolicy":          {2, 3},
	"UpdatePolicy":          {2, 3},
	"ListParents":           {5, 8},
	"ListPoliciesForTarget": {5, 8},
	"ListTargetsForPolicy":  {5, 8},
	"DescribePolicy":        {2, 2},
	"ListRoots":             {1, 1},
}

// UndocumentedRate is taken for an Organizations operation whose throttle AWS does not publish
// (DescribeAccount, DescribeOrganization, ListTagsForResource, ListAccountsForParent, ...): the
// documented reads' 5 a second with a burst of 8, in a bucket of its own. An assumption, stated
// wherever it decides a figure (BENCHMARKS.md).
var UndocumentedRate = Rate{5, 8}

// OrganizationsRate is op's throttle: documented, or UndocumentedRate.
func OrganizationsRate(op string) Rate {
	if r, ok := OrganizationsRates[op]; ok {
		return r
	}
	return UndocumentedRate
}
