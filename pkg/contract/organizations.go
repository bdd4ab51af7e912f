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
	"detach": append([]string{"CreatePolicy", "AttachPolicy", "DetachPolicy", "DeletePolicy", "ListPolicies", "UpdatePolicy"}, organizationReads...),
	// The restore: the guardrail back, the window's SCP detached and deleted, or the document
	// rendered again.
	"reattach": {"DescribePolicy", "AttachPolicy", "DetachPolicy", "DeletePolicy", "ListPolicies", "UpdatePolicy"},
	// Admission as validate's; an early end stops the execution (no write).
	"api": organizationReads,
	// The safety net: restores as reattach does, window SCPs left behind, cut-short windows, and
	// the drift scan over the whole organization.
	"sweeper": append([]string{"AttachPolicy", "DetachPolicy", "DeletePolicy", "ListPolicies", "UpdatePolicy", "ListTargetsForPolicy",
		"ListRoots", "ListOrganizationalUnitsForParent", "ListAccountsForParent"}, organizationReads...),
}

var organizationReads = []string{"DescribeOrganization", "DescribeAccount", "DescribePolicy", "ListParents", "ListPoliciesForTarget", "ListTagsForResource"}
