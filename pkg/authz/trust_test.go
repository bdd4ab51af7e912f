package authz

import (
	"os"
	"regexp"
	"testing"

	"github.com/rootwindow/rootwindow/pkg/policy"
)

// anyRoleSessionName is safe only where every role pins its session name. The trust condition the
// README documents for it, read from the README and evaluated by pkg/policy, lets an IAM user
// assume the role only under their own user name; with it, the session is that user, one person
// with the IAM user for ownership and the four-eyes rule.
func TestTheDocumentedTrustConditionPinsSessionNames(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("\\| `anyRoleSessionName` \\|[^\\n]*?`(\"Condition\": \\{[^`]*\\})`").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README's anyRoleSessionName row shows no trust condition")
	}
	trust, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole",` + string(m[1]) + `}}`))
	if err != nil {
		t.Fatalf("the documented condition %s: %v", m[1], err)
	}
	assume := func(user, session string) policy.Effect {
		ctx := map[string][]string{"sts:RoleSessionName": {session}}
		principal := "arn:aws:iam::111111111111:role/Caller" // a role's session carries no aws:username
		if user != "" {
			ctx["aws:username"] = []string{user}
			principal = "arn:aws:iam::111111111111:user/" + user
		}
		return trust.Evaluate(policy.Request{Principal: principal, Action: "sts:AssumeRole", Resource: "arn:aws:iam::111111111111:role/Ops", Context: ctx})
	}
	if got := assume("alice", "alice"); got != policy.Allow {
		t.Errorf("alice as alice: %v, want Allow", got)
	}
	for _, tt := range []struct{ user, session string }{{"alice", "bob"}, {"alice", "bob@example.com"}, {"", "alice"}} {
		if got := assume(tt.user, tt.session); got == policy.Allow {
			t.Errorf("%q assuming the role as %q: allowed", tt.user, tt.session)
		}
	}
	p := Policy{AnyRoleSessionName: true}
	if !p.SamePerson("arn:aws:sts::111111111111:assumed-role/Ops/alice", "arn:aws:iam::111111111111:user/alice") {
		t.Error("alice's session of the pinned role and the IAM user alice are two people")
	}
}
