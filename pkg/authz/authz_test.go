package authz

import (
	"strings"
	"testing"
)

func TestIsAdmin(t *testing.T) {
	p := Policy{AdminPatterns: []string{
		"arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_AdministratorAccess_*/*",
		"arn:aws:iam::111111111111:user/break-glass",
		"ops@platform.example.com",
	}}
	tests := []struct {
		who  string
		want bool
	}{
		{"arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/alice@example.com", true},
		{"ARN:AWS:STS::111111111111:assumed-role/awsreservedsso_administratoraccess_0123abcd/alice", true},
		{"arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/alice", false},
		{"arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_ReadOnly_0123abcd/alice", false},
		{"arn:aws:iam::111111111111:user/break-glass", true},
		{"arn:aws:iam::111111111111:user/break-glass-2", false},
		{"ops@platform.example.com", true},
		{"ops@example.com", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := p.IsAdmin(tt.who); got != tt.want {
			t.Errorf("IsAdmin(%q) = %v, want %v", tt.who, got, tt.want)
		}
	}
	if (Policy{}).IsAdmin("alice@example.com") {
		t.Error("with no patterns nobody may be an administrator")
	}
}

func TestBracketsAreLiteral(t *testing.T) {
	p := Policy{AdminPatterns: []string{"user[1]"}}
	if p.IsAdmin("user1") || !p.IsAdmin("user[1]") {
		t.Error("'[' must not be a character class")
	}
}

func TestOwns(t *testing.T) {
	tests := []struct {
		who, tag string
		want     bool
	}{
		{"alice@example.com", "alice@example.com", true},
		{"Alice@Example.com", "bob@example.com, alice@example.com", true},
		{"arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_abc/alice@example.com", "alice@example.com,bob@example.com", true},
		{"arn:aws:iam::111111111111:user/alice", "alice", true},
		{"arn:aws:sts::111111111111:assumed-role/Admin/mallory", "alice@example.com", false},
		// A session name is chosen by whoever calls sts:AssumeRole: it stands for a person only
		// for IAM Identity Center's roles.
		{"arn:aws:sts::111111111111:assumed-role/Admin/alice@example.com", "alice@example.com", false},
		{"arn:aws:sts::111111111111:assumed-role/Admin/alice@example.com", "arn:aws:sts::111111111111:assumed-role/Admin/alice@example.com", true},
		{"alice@example.com", "", false},
		{"alice@example.com", " , ", false},
		{"alice", "alice@example.com", false},
	}
	for _, tt := range tests {
		if got := (Policy{}).Owns(tt.who, tt.tag); got != tt.want {
			t.Errorf("Owns(%q, %q) = %v, want %v", tt.who, tt.tag, got, tt.want)
		}
	}
}

func TestValidatePatterns(t *testing.T) {
	if err := ValidatePatterns([]string{"arn:aws:iam::111111111111:role/Admin", "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_*/*",
		"ops@platform.example.com", "ops-*@platform.example.com", "team?"}); err != nil {
		t.Errorf("valid pattern rejected: %v", err)
	}
	for _, bad := range []struct{ pattern, want string }{
		// A wildcard before the account matches ARNs of principals of any account, by a name
		// the caller chose (a role session name).
		{"*@platform.example.com", "could match the ARN of a principal of any AWS account"},
		{"*@*", "could match the ARN"},
		{"*:*", "could match the ARN"},
		{"*/*", "could match the ARN"},
		{"*arn:aws:sts::111111111111:assumed-role/A/b", "could match the ARN"},
		{"a*", "could match the ARN"},
		{"?rn:aws:sts::111111111111:assumed-role/A/b", "could match the ARN"},
		{"ar*@example.com", "could match the ARN"},
		{"*", "matches everyone"},
		{"*?*", "matches everyone"},
		{"arn:aws:iam::*:role/Admin", "must name one 12-digit account"},
		{"arn:aws:sts::1111111111*:assumed-role/Admin/*", "must name one 12-digit account"},
		{"arn:*", "must name one 12-digit account"},
		{"ARN:aws:sts::?11111111111:assumed-role/A/b", "must name one 12-digit account"},
	} {
		if err := ValidatePatterns([]string{bad.pattern}); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: got %v, want %q", bad.pattern, err, bad.want)
		}
	}
	if err := ValidatePatterns([]string{" "}); err == nil || err.Error() != "adminPrincipals[0] is blank" {
		t.Errorf("got %v", err)
	}
}

func TestAnyRoleSessionNameIsOptIn(t *testing.T) {
	who := "arn:aws:sts::111111111111:assumed-role/Admin/alice@example.com"
	if (Policy{}).Owns(who, "alice@example.com") {
		t.Error("a self-chosen session name owns an account by default")
	}
	if !(Policy{AnyRoleSessionName: true}).Owns(who, "alice@example.com") {
		t.Error("AnyRoleSessionName does not let a role's session name stand for its owner")
	}
}

// One person signed in under two permission sets, or as an IAM user and by user name, is one
// person; two people are two.
func TestSamePerson(t *testing.T) {
	p := Policy{}
	alice := "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_abc/alice@example.com"
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{alice, alice, true},
		{alice, "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_ReadOnly_def/Alice@Example.com", true},
		{alice, "alice@example.com", true},
		{"arn:aws:iam::999999999999:user/bob", "bob", true},
		{alice, "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_abc/bob@example.com", false},
		{"arn:aws:sts::999999999999:assumed-role/Deploy/alice@example.com", alice, false}, // any role's session name counts only with AnyRoleSessionName
		// Two sessions of a role whose session name the caller chose are one principal: the role.
		{"arn:aws:sts::999999999999:assumed-role/Deploy/alice", "arn:aws:sts::999999999999:assumed-role/Deploy/bob", true},
		{"arn:aws:sts::999999999999:assumed-role/Deploy/alice", "arn:aws:sts::999999999999:assumed-role/Release/alice", false},
		{"arn:aws:sts::999999999999:assumed-role/Deploy/alice", "arn:aws:sts::111111111111:assumed-role/Deploy/alice", false},
		{"arn:aws:sts::999999999999:assumed-role/Deploy/alice", "arn:aws:iam::999999999999:role/Deploy", true},
		// Strict: a name's local part is not enough to see what only the requester sees.
		{"arn:aws:iam::999999999999:user/alice", alice, false},
	} {
		if got := p.SamePerson(tt.a, tt.b); got != tt.want {
			t.Errorf("%s ~ %s: %v", tt.a, tt.b, got)
		}
	}
	// With session names pinned by the roles' trust policies, a session name is a person.
	pinned := Policy{AnyRoleSessionName: true}
	if pinned.SamePerson("arn:aws:sts::999999999999:assumed-role/Deploy/alice", "arn:aws:sts::999999999999:assumed-role/Deploy/bob") {
		t.Error("sessions alice and bob of a role whose session names are pinned are one person")
	}
	if !pinned.SamePerson("arn:aws:sts::999999999999:assumed-role/Deploy/alice", "arn:aws:sts::999999999999:assumed-role/Release/alice") {
		t.Error("alice under two roles whose session names are pinned are two people")
	}
}

// For the four-eyes rule, principals that could be one person are: every name they share, and a
// user name that is the local part of the other's email name; two people are still two.
func TestMayBeSamePerson(t *testing.T) {
	p := Policy{}
	alice := "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_abc/alice@example.com"
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{alice, alice, true},
		{"arn:aws:iam::999999999999:user/alice", alice, true},             // an IAM user and an Identity Center user
		{"arn:aws:iam::111111111111:user/Alice", alice, true},             // in another account, in other case
		{"arn:aws:iam::999999999999:user/alice@example.com", alice, true}, // an IAM user named by email
		{"alice", alice, true}, // a name an integration asserts
		{"arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_ReadOnly_def/alice@example.org", alice, true},
		{"arn:aws:sts::999999999999:assumed-role/Deploy/x", "arn:aws:sts::999999999999:assumed-role/Deploy/y", true},
		{"arn:aws:iam::999999999999:user/bob", alice, false},
		{"arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_abc/alicia@example.com", alice, false},
		{"arn:aws:sts::999999999999:assumed-role/Deploy/alice", alice, false}, // the session name of a role a caller names is not a person
		{"arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_abc/bob@example.com", alice, false},
	} {
		if got := p.MayBeSamePerson(tt.a, tt.b); got != tt.want {
			t.Errorf("%s ~ %s: %v", tt.a, tt.b, got)
		}
		if got := p.MayBeSamePerson(tt.b, tt.a); got != tt.want {
			t.Errorf("%s ~ %s (reversed): %v", tt.b, tt.a, got)
		}
	}
}

// A role whose session name the caller chooses owns an account by its role ARN, every session of
// it alike; its session name never does.
func TestOwnsByRole(t *testing.T) {
	p := Policy{}
	for _, who := range []string{"arn:aws:sts::999999999999:assumed-role/Ops/alice@example.com", "arn:aws:sts::999999999999:assumed-role/Ops/anything"} {
		if !p.Owns(who, "bob@example.com arn:aws:iam::999999999999:role/Ops") {
			t.Errorf("%s does not own an account its role is listed on", who)
		}
		if p.Owns(who, "alice@example.com arn:aws:iam::999999999999:role/Other arn:aws:iam::111111111111:role/Ops") {
			t.Errorf("%s owns an account listing another role, or its role's name in another account", who)
		}
	}
}

// The accounts the administrators are in, for the API's resource policy; none when one is named
// rather than by ARN.
func TestAccounts(t *testing.T) {
	for _, tt := range []struct {
		patterns []string
		want     string
	}{
		{[]string{"arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_*/*", "arn:aws:iam::222222222222:user/break-glass", "arn:aws:iam::111111111111:role/Admin"}, "111111111111,222222222222"},
		{[]string{"arn:aws:iam::111111111111:role/Admin", "ops@example.com"}, ""},
		{nil, ""},
	} {
		if got := strings.Join(Accounts(tt.patterns), ","); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.patterns, got, tt.want)
		}
	}
}

// Owners in one tag are separated by spaces (Organizations' tag values hold no comma); commas are
// read as separators too.
func TestOwnersSeparatedBySpaces(t *testing.T) {
	p := Policy{}
	alice := "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_abc/alice@example.com"
	for _, tt := range []struct {
		tag  string
		want bool
	}{
		{"bob@example.com alice@example.com", true},
		{"bob@example.com  alice@example.com ", true},
		{"bob@example.com,alice@example.com", true},
		{"bob@example.com alice@example.co", false},
		{"alice@example.com.evil", false},
		{"", false},
	} {
		if got := p.Owns(alice, tt.tag); got != tt.want {
			t.Errorf("%q: %v, want %v", tt.tag, got, tt.want)
		}
	}
}

// Owner tags name groups by ID (group:<ID>), each once; a group token that is not an ID names none,
// and no group token is a person's name.
func TestOwnerGroups(t *testing.T) {
	const team = "9067000000-a1b2c3d4-5678-90ab-cdef-000000000001"
	got := OwnerGroups("alice@example.com group:" + team + " GROUP:" + team + " group:Platform group: group:a1b2c3d4-5678-90ab-cdef-000000000002,bob")
	if strings.Join(got, " ") != team+" a1b2c3d4-5678-90ab-cdef-000000000002" {
		t.Errorf("groups %v", got)
	}
	if (Policy{}).Owns("group:Platform", "group:Platform") {
		t.Error("a group token owns by name")
	}
	for who, want := range map[string]string{
		"arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_Admin_abc/alice@example.com": "alice@example.com",
		"arn:aws:sts::999999999999:assumed-role/Deploy/alice@example.com":                   "",
		"arn:aws:iam::999999999999:user/alice@example.com":                                  "",
		"alice@example.com": "",
	} {
		if got := IdentityCenterUser(who); got != want {
			t.Errorf("IdentityCenterUser(%s) = %q", who, got)
		}
	}
}
