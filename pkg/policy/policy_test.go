package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/pkg/policy"
)

func mustParse(t *testing.T, doc string) policy.Document {
	t.Helper()
	d, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const (
	integration = "arn:aws:iam::111111111111:role/ticketing"
	other       = "arn:aws:iam::111111111111:role/other"
	bus         = "arn:aws:events:us-east-1:999999999999:event-bus/requests"
)

// The request bus's policy as rootwindow writes it: only the integration, only requests.
const busPolicy = `{"Version":"2012-10-17","Statement":[
 {"Sid":"IntegrationsPutRequests","Effect":"Allow","Principal":{"AWS":"` + integration + `"},"Action":"events:PutEvents","Resource":"` + bus + `",
  "Condition":{"StringEquals":{"events:source":"rootwindow.requests","events:detail-type":"Root Access Window Requested"}}},
 {"Sid":"OnlyIntegrationsPutRequests","Effect":"Deny","Principal":{"AWS":"*"},"Action":"events:PutEvents","Resource":"` + bus + `",
  "Condition":{"ArnNotEquals":{"aws:PrincipalArn":["` + integration + `"]}}}]}`

func TestBusPolicy(t *testing.T) {
	d := mustParse(t, busPolicy)
	put := func(principal, source string) policy.Request {
		return policy.Request{Principal: principal, Action: "events:PutEvents", Resource: bus, Context: map[string][]string{
			"aws:PrincipalArn": {principal}, "events:source": {source}, "events:detail-type": {"Root Access Window Requested"}}}
	}
	for _, tt := range []struct {
		name string
		r    policy.Request
		want policy.Effect
	}{
		{"the integration puts a request", put(integration, "rootwindow.requests"), policy.Allow},
		{"the integration puts something else", put(integration, "other"), policy.NotApplicable},
		{"another role of its account", put(other, "rootwindow.requests"), policy.Deny},
		{"the management account's administrator", put("arn:aws:iam::999999999999:role/Admin", "rootwindow.requests"), policy.Deny},
		{"the account's root user", put("arn:aws:iam::111111111111:root", "rootwindow.requests"), policy.Deny},
	} {
		if got := d.Evaluate(tt.r); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Root's guardrail and a window's exemption, as SCPs: the documented condition logic.
func TestConditionLogic(t *testing.T) {
	const doc = `{"Version":"2012-10-17","Statement":[{"Sid":"DenyRoot","Effect":"Deny","Action":"*","Resource":"*",
	 "Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"},
	   "StringNotEquals":{"aws:PrincipalAccount":["111111111111","222222222222"]}}},
	 {"Sid":"AfterTheWindow","Effect":"Deny","Action":"*","Resource":"*",
	 "Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"},"StringEquals":{"aws:PrincipalAccount":["111111111111","222222222222"]},
	   "DateGreaterThan":{"aws:CurrentTime":"2026-11-23T12:00:00Z"}}}]}`
	d := mustParse(t, doc)
	root := func(account, at string) policy.Request {
		arn := "arn:aws:iam::" + account + ":root"
		return policy.Request{Principal: arn, Action: "iam:CreateUser", Resource: "*",
			Context: map[string][]string{"aws:PrincipalArn": {arn}, "aws:PrincipalAccount": {account}, "aws:CurrentTime": {at}}}
	}
	for _, tt := range []struct {
		name string
		r    policy.Request
		want policy.Effect
	}{
		{"root of an account in the window, inside it", root("111111111111", "2026-11-23T11:00:00Z"), policy.NotApplicable},
		{"root of the other account in the window", root("222222222222", "2026-11-23T11:59:59Z"), policy.NotApplicable},
		{"root of an account in the window, after it", root("111111111111", "2026-11-23T12:00:01Z"), policy.Deny},
		{"root of an account outside it (NOR of the values)", root("333333333333", "2026-11-23T11:00:00Z"), policy.Deny},
		{"a role is not root", policy.Request{Principal: other, Action: "s3:GetObject", Resource: "*",
			Context: map[string][]string{"aws:PrincipalArn": {other}, "aws:PrincipalAccount": {"333333333333"}}}, policy.NotApplicable},
	} {
		if got := d.Evaluate(tt.r); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestMissingKeys(t *testing.T) {
	for _, tt := range []struct {
		cond string
		want policy.Effect
	}{
		{`{"StringEquals":{"aws:PrincipalTag/team":"ops"}}`, policy.NotApplicable},   // absent: false
		{`{"StringNotEquals":{"aws:PrincipalTag/team":"ops"}}`, policy.Deny},         // negated, absent: true
		{`{"StringEqualsIfExists":{"aws:PrincipalTag/team":"ops"}}`, policy.Deny},    // IfExists, absent: true
		{`{"Null":{"aws:PrincipalTag/team":"true"}}`, policy.Deny},                   // absent
		{`{"Null":{"aws:PrincipalTag/team":"false"}}`, policy.NotApplicable},         // not present
		{`{"ForAllValues:StringEquals":{"aws:TagKeys":"a"}}`, policy.Deny},           // empty set
		{`{"ForAnyValue:StringEquals":{"aws:TagKeys":"a"}}`, policy.NotApplicable},   // empty set
		{`{"Bool":{"aws:ViaAWSService":false}}`, policy.NotApplicable},               // bare bool, absent
		{`{"Bool":{"aws:MultiFactorAuthPresent":"true"}}`, policy.NotApplicable},     // absent
		{`{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/x"}}`, policy.Deny}, // negated, absent
	} {
		d := mustParse(t, `{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":`+tt.cond+`}}`)
		if got := d.Evaluate(policy.Request{Principal: other, Action: "s3:GetObject", Resource: "*"}); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.cond, got, tt.want)
		}
	}
}

func TestActionsAndResources(t *testing.T) {
	d := mustParse(t, `{"Statement":[{"Effect":"Allow","Action":["s3:Get*","iam:?etUser"],"Resource":"arn:aws:s3:::bucket/*"},
	 {"Effect":"Deny","NotAction":"s3:*","Resource":"*"}]}`)
	for _, tt := range []struct {
		action, resource string
		want             policy.Effect
	}{
		{"s3:GetObject", "arn:aws:s3:::bucket/a/b/c", policy.Allow}, // * crosses '/'
		{"S3:getobject", "arn:aws:s3:::bucket/a", policy.Allow},     // actions ignore case
		{"s3:GetObject", "arn:aws:s3:::other/a", policy.NotApplicable},
		{"s3:PutObject", "arn:aws:s3:::bucket/a", policy.NotApplicable},
		{"iam:GetUser", "arn:aws:s3:::bucket/a", policy.Deny},
	} {
		if got := d.Evaluate(policy.Request{Action: tt.action, Resource: tt.resource}); got != tt.want {
			t.Errorf("%s on %s: %v, want %v", tt.action, tt.resource, got, tt.want)
		}
	}
}

func TestParseRefusesWhatItCannotEvaluate(t *testing.T) {
	for doc, want := range map[string]string{
		`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}`: `"IpAddress" is not a condition operator this evaluator knows`,
		`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringLike":{"k":"${aws:username}"}}}}`:      "policy variables",
		`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"k":"a-${aws:username}"}}}}`:  "only a whole ${<key>}",
		`{"Statement":{"Effect":"Deny","Action":"*","Resource":"arn:aws:s3:::${aws:username}/*"}}`:                            "policy variables",
		`{"Statement":{"Effect":"Maybe","Action":"*","Resource":"*"}}`:                                                        "Effect must be Allow or Deny",
		`{"Statement":{"Effect":"Deny","Resource":"*"}}`:                                                                      "exactly one of Action and NotAction",
		`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Conditions":{}}}`:                                         `unknown field "Conditions"`,
		`{"Statement":{"Effect":"Deny","Action":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"soon"}}}}`:             "not an ISO 8601 date",
		`{"Statement":{"Effect":"Deny","Action":"*","Condition":{"Maybe:StringEquals":{"k":"v"}}}}`:                           "is not a condition operator",
	} {
		_, err := policy.Parse([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
}

func TestSCPInheritance(t *testing.T) {
	full := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)
	guard := mustParse(t, `{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"},"BoolIfExists":{"aws:AssumedRoot":"false"}}}}`)
	ec2Only := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}`)
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	root := policy.RootUser("111111111111", at, false)
	for _, tt := range []struct {
		name   string
		levels [][]policy.Document
		want   bool
	}{
		{"full access everywhere", [][]policy.Document{{full}, {full}, {full}}, true},
		{"the guardrail at an OU", [][]policy.Document{{full}, {full, guard}, {full}}, false},
		{"the guardrail at the root", [][]policy.Document{{full, guard}, {full}}, false},
		{"a level that allows nothing for it", [][]policy.Document{{full}, {ec2Only}, {full}}, false},
		{"no path", nil, false},
	} {
		if got := policy.Permits(tt.levels, root); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	// A centralized root session is exempted by the guardrail's own condition.
	if !policy.Permits([][]policy.Document{{full, guard}, {full}}, policy.RootUser("111111111111", at, true)) {
		t.Error("an sts:AssumeRoot session is blocked although the guardrail exempts it")
	}
}

// A role's trust policy names a service principal by its service name; the caller is that name.
func TestServicePrincipals(t *testing.T) {
	doc, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sts:AssumeRole"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for who, want := range map[string]policy.Effect{
		"events.amazonaws.com": policy.Allow, "states.amazonaws.com": policy.NotApplicable, "arn:aws:iam::999999999999:role/events.amazonaws.com": policy.NotApplicable,
	} {
		if got := doc.Evaluate(policy.Request{Principal: who, Action: "sts:AssumeRole", Resource: "*"}); got != want {
			t.Errorf("%s: %v, want %v", who, got, want)
		}
	}
}

// A whole ${<key>} in a StringEquals condition takes the request's value of the key; a request
// that does not carry the key (or carries several values of it) matches nothing on it.
func TestVariablesInStringEquals(t *testing.T) {
	d := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*","Condition":{"StringEquals":{"sts:RoleSessionName":"${aws:username}"}}}}`)
	for _, tt := range []struct {
		name string
		ctx  map[string][]string
		want policy.Effect
	}{
		{"its own name", map[string][]string{"aws:username": {"alice"}, "sts:RoleSessionName": {"alice"}}, policy.Allow},
		{"another name", map[string][]string{"aws:username": {"alice"}, "sts:RoleSessionName": {"bob@example.com"}}, policy.NotApplicable},
		{"the variable's text", map[string][]string{"aws:username": {"alice"}, "sts:RoleSessionName": {"${aws:username}"}}, policy.NotApplicable},
		{"no user name (a role's session)", map[string][]string{"sts:RoleSessionName": {"alice"}}, policy.NotApplicable},
		{"no session name", map[string][]string{"aws:username": {"alice"}}, policy.NotApplicable},
	} {
		if got := d.Evaluate(policy.Request{Action: "sts:AssumeRole", Resource: "*", Context: tt.ctx}); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	folded := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*","Condition":{"StringEqualsIgnoreCase":{"sts:RoleSessionName":"${aws:username}"}}}}`)
	if got := folded.Evaluate(policy.Request{Action: "sts:AssumeRole", Resource: "*", Context: map[string][]string{"aws:username": {"Alice"}, "sts:RoleSessionName": {"alice"}}}); got != policy.Allow {
		t.Errorf("StringEqualsIgnoreCase with a variable: %v, want Allow", got)
	}
}
