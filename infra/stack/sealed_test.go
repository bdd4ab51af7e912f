package stack_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/rootwindow/rootwindow/internal/cdktest"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/policy"
)

// The workflow's functions answer only their state machine: each one's resource-based policy,
// evaluated with pkg/policy, denies invoking it to any other principal of the account, an
// administrator's role included; the state machine's role is not denied. The api and the
// sweeper are invoked by API Gateway and EventBridge through their own permissions.
func TestWorkflowFunctionsAnswerOnlyTheirStateMachine(t *testing.T) {
	policies, err := cdktest.LambdaPolicies(template)
	if err != nil {
		t.Fatal(err)
	}
	var stateMachineRole string
	for id, res := range resources("AWS::StepFunctions::StateMachine") {
		roleArn, _ := props(res)["RoleArn"].(map[string]any)
		att, _ := roleArn["Fn::GetAtt"].([]any)
		if len(att) != 2 {
			t.Fatalf("state machine %s has no role of the stack: %v", id, props(res)["RoleArn"])
		}
		stateMachineRole = cdktest.ARNOf(template, att[0].(string))
	}
	sealed := 0
	for id := range resources("AWS::Lambda::Function") {
		fn := cdktest.ARNOf(template, id)
		doc, has := policies[fn]
		workflow := strings.Contains(id, "Validate") || strings.Contains(id, "Detach") || strings.Contains(id, "Reattach")
		if !workflow {
			if has {
				t.Errorf("%s has a resource policy of rootwindow's; its callers' permissions would be replaced", id)
			}
			continue
		}
		if !has {
			t.Errorf("%s has no resource policy: anyone of the account with lambda:InvokeFunction may invoke it", id)
			continue
		}
		sealed++
		for _, action := range []string{"lambda:InvokeFunction", "lambda:InvokeAsync"} {
			for _, who := range []string{
				"arn:aws:iam::999999999999:role/AdministratorAccess", "arn:aws:iam::999999999999:role/PowerUser",
				"arn:aws:iam::999999999999:root", "arn:aws:iam::111111111111:role/other-account",
			} {
				r := policy.Request{Principal: who, Action: action, Resource: fn, Context: map[string][]string{"aws:PrincipalArn": {who}}}
				if got := doc.Evaluate(r); got != policy.Deny {
					t.Errorf("%s %s by %s: %v, want Deny", id, action, who, got)
				}
			}
			r := policy.Request{Principal: stateMachineRole, Action: action, Resource: fn, Context: map[string][]string{"aws:PrincipalArn": {stateMachineRole}}}
			if got := doc.Evaluate(r); got == policy.Deny {
				t.Errorf("%s %s by the state machine's role: denied", id, action)
			}
		}
	}
	if sealed != 3 {
		t.Errorf("%d workflow functions sealed, want validate, detach and reattach", sealed)
	}
	if len(resources("AWS::Lambda::Permission")) > 0 {
		for id, res := range resources("AWS::Lambda::Permission") {
			name, _ := props(res)["FunctionName"].(map[string]any)
			att, _ := name["Fn::GetAtt"].([]any)
			if len(att) == 2 {
				if s := att[0].(string); strings.Contains(s, "Validate") || strings.Contains(s, "Detach") || strings.Contains(s, "Reattach") {
					t.Errorf("permission %s on a sealed function: its resource policy and the permission would replace each other", id)
				}
			}
		}
	}
}

// The window SCPs' tag is what the functions' statements trust to tell a window SCP from any
// other: no role of rootwindow's may put it on (or take it off) the guardrail, and every
// Organizations ARN names the configured organization, never o-*.
func TestNoRoleMayTagTheGuardrailAndARNsNameTheOrganization(t *testing.T) {
	guardrail := "arn:aws:organizations::999999999999:policy/o-exampleorg1/service_control_policy/p-rootguard01"
	tagged := 0
	for role, stmts := range roleStatements(t) {
		if b, _ := json.Marshal(stmts); strings.Contains(string(b), "o-*") {
			t.Errorf("%s names any organization (o-*)", role)
		}
		pol := resolvedPolicy(t, map[string]any{"Version": "2012-10-17", "Statement": anySlice(stmts)})
		for _, action := range []string{"organizations:TagResource", "organizations:UntagResource"} {
			r := policy.Request{Principal: "arn:aws:iam::999999999999:role/" + role, Action: action, Resource: guardrail,
				Context: map[string][]string{"aws:RequestTag/rootwindow:request": {"req-1"}, "aws:TagKeys": {"rootwindow:request"}}}
			if got := pol.Evaluate(r); got == policy.Allow {
				t.Errorf("%s may %s the guardrail", role, action)
			}
			r.Resource = "arn:aws:organizations::999999999999:policy/o-exampleorg1/service_control_policy/p-window01"
			if action == "organizations:TagResource" && pol.Evaluate(r) == policy.Allow {
				tagged++
			}
		}
	}
	if tagged == 0 {
		t.Error("no role may tag a window SCP: the check proves nothing")
	}
}

// One guardrail, one deployment: the claim is a tag on the organization's root valued with this
// deployment's ledger, which only the lift (the detach role) may add, only where the root carries
// no claim on the guardrail yet (so no deployment takes another's over), and nothing else with it.
func TestOnlyTheLiftClaimsTheGuardrailAndNeverTakesAClaimOver(t *testing.T) {
	root := "arn:aws:organizations::999999999999:root/o-exampleorg1/r-ab12"
	key := contract.TagGuardrailClaim + "p-rootguard01"
	// The deployment's name, as every function reads it: the same stack deployed again keeps it.
	var deployment string
	for id, res := range resources("AWS::Lambda::Function") {
		env, _ := props(res)["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		if vars[contract.EnvDeployment] == nil {
			t.Fatalf("%s does not know the deployment's name", id)
		}
		name := fmt.Sprint(cdktest.Resolve(template, vars[contract.EnvDeployment]))
		if !regexp.MustCompile(`^999999999999/[a-z]+-[a-z]+-[0-9]/RootWindow$`).MatchString(name) || (deployment != "" && name != deployment) {
			t.Fatalf("%s: deployment %q, want <account>/<region>/<stack name>, the same in every function", id, name)
		}
		deployment = name
	}
	claim := func(value string, more map[string][]string) policy.Request {
		ctx := map[string][]string{"aws:RequestTag/" + key: {value}, "aws:TagKeys": {key}}
		for k, v := range more {
			ctx[k] = v
		}
		return policy.Request{Action: "organizations:TagResource", Resource: root, Context: ctx}
	}
	claimers := 0
	for role, stmts := range roleStatements(t) {
		pol := resolvedPolicy(t, map[string]any{"Version": "2012-10-17", "Statement": anySlice(stmts)})
		if pol.Evaluate(claim(deployment, nil)) != policy.Allow {
			continue
		}
		claimers++
		if !strings.HasPrefix(role, "FunctionsDetachRole") {
			t.Errorf("%s may claim the guardrail", role)
		}
		for name, r := range map[string]policy.Request{
			"over another deployment's claim": claim(deployment, map[string][]string{"aws:ResourceTag/" + key: {"another-ledger"}}),
			"for another deployment":          claim("another-ledger", nil),
			"with another tag":                claim(deployment, map[string][]string{"aws:TagKeys": {key, "owner"}, "aws:RequestTag/owner": {"mallory"}}),
			"on the guardrail":                {Action: "organizations:TagResource", Resource: "arn:aws:organizations::999999999999:policy/o-exampleorg1/service_control_policy/p-rootguard01", Context: claim(deployment, nil).Context},
			"on another organization's root":  {Action: "organizations:TagResource", Resource: "arn:aws:organizations::999999999999:root/o-otherorg99/r-ab12", Context: claim(deployment, nil).Context},
			"taken off":                       {Action: "organizations:UntagResource", Resource: root, Context: map[string][]string{"aws:TagKeys": {key}}},
		} {
			if got := pol.Evaluate(r); got == policy.Allow {
				t.Errorf("%s may claim the guardrail %s", role, name)
			}
		}
	}
	if claimers != 1 {
		t.Errorf("%d roles may claim the guardrail, want the detach role alone", claimers)
	}
}

func anySlice(stmts []map[string]any) []any {
	out := make([]any, len(stmts))
	for i, s := range stmts {
		out[i] = s
	}
	return out
}

// A message on the operators' topic is rootwindow's or an alarm's: the topic's own policy,
// evaluated with pkg/policy, denies sns:Publish to any other principal of the account.
func TestOnlyRootwindowAndAlarmsPublish(t *testing.T) {
	var doc policy.Document
	found := 0
	for _, res := range resources("AWS::SNS::TopicPolicy") {
		doc = resolvedPolicy(t, props(res)["PolicyDocument"])
		found++
	}
	if found != 1 {
		t.Fatalf("%d topic policies", found)
	}
	var topic string
	for id := range resources("AWS::SNS::Topic") {
		topic = cdktest.ARNOf(template, id)
	}
	publish := func(ctx map[string][]string) policy.Effect {
		ctx["aws:SecureTransport"] = []string{"true"}
		return doc.Evaluate(policy.Request{Action: "sns:Publish", Resource: topic, Context: ctx})
	}
	for _, who := range []string{"arn:aws:iam::999999999999:role/AdministratorAccess", "arn:aws:iam::999999999999:role/PowerUser", "arn:aws:iam::999999999999:root"} {
		if got := publish(map[string][]string{"aws:PrincipalArn": {who}}); got != policy.Deny {
			t.Errorf("%s publishing: %v, want Deny", who, got)
		}
	}
	roles := 0
	for id := range resources("AWS::IAM::Role") {
		if !strings.HasPrefix(id, "Functions") {
			continue
		}
		roles++
		if got := publish(map[string][]string{"aws:PrincipalArn": {cdktest.ARNOf(template, id)}}); got == policy.Deny {
			t.Errorf("%s publishing: denied", id)
		}
	}
	if roles != 5 {
		t.Errorf("%d function roles", roles)
	}
	if got := publish(map[string][]string{"aws:PrincipalServiceName": {"cloudwatch.amazonaws.com"}}); got == policy.Deny {
		t.Error("CloudWatch alarms publishing: denied")
	}
}

// The ledger's table protects its own policy: only the deployment role may change or delete the
// policy, or change or delete the table; nobody but rootwindow's roles writes its items.
func TestTheLedgerProtectsItsPolicy(t *testing.T) {
	var doc policy.Document
	for _, res := range resources("AWS::DynamoDB::Table") {
		rp, _ := props(res)["ResourcePolicy"].(map[string]any)
		doc = resolvedPolicy(t, rp["PolicyDocument"])
	}
	const deployer = "arn:aws:iam::999999999999:role/cdk-hnb659fds-cfn-exec-role-999999999999-eu-west-1"
	table := "arn:aws:dynamodb:eu-west-1:999999999999:table/ledger"
	for _, action := range []string{"dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy", "dynamodb:UpdateTable", "dynamodb:DeleteTable", "dynamodb:UpdateContinuousBackups"} {
		for _, who := range []string{"arn:aws:iam::999999999999:role/AdministratorAccess", "arn:aws:iam::999999999999:role/PowerUser"} {
			if got := doc.Evaluate(policy.Request{Action: action, Resource: table, Context: map[string][]string{"aws:PrincipalArn": {who}}}); got != policy.Deny {
				t.Errorf("%s by %s: %v, want Deny", action, who, got)
			}
		}
		if got := doc.Evaluate(policy.Request{Action: action, Resource: table, Context: map[string][]string{"aws:PrincipalArn": {deployer}}}); got == policy.Deny {
			t.Errorf("%s by the deployment role: denied", action)
		}
	}
	if got := doc.Evaluate(policy.Request{Action: "dynamodb:PutItem", Resource: table, Context: map[string][]string{"aws:PrincipalArn": {deployer}}}); got != policy.Deny {
		t.Errorf("the deployment role writing an item: %v, want Deny", got)
	}
}

// The request rule's start role, which makes an execution the EventBridge door, is assumed by
// EventBridge for a rule on the request bus of this account only: a rule of someone else's, on
// another bus or in another account, cannot start executions as that door.
func TestTheStartRoleTrustsOnlyTheRequestBusRules(t *testing.T) {
	var trust policy.Document
	found := false
	for id, res := range resources("AWS::IAM::Role") {
		if !strings.HasPrefix(id, "IntakeStartRole") {
			continue
		}
		trust = resolvedPolicy(t, props(res)["AssumeRolePolicyDocument"])
		found = true
	}
	if !found {
		t.Fatal("no start role")
	}
	var bus string
	for id := range resources("AWS::Events::EventBus") {
		bus = cdktest.ARNOf(template, id) // what the template's Ref (the bus's name) resolves to here
	}
	assume := func(account, rule string) policy.Effect {
		return trust.Evaluate(policy.Request{Principal: "events.amazonaws.com", Action: "sts:AssumeRole", Resource: "*",
			Context: map[string][]string{"aws:SourceAccount": {account}, "aws:SourceArn": {rule}}})
	}
	if got := assume("999999999999", "arn:aws:events:eu-west-1:999999999999:rule/"+bus+"/RequestsRule"); got != policy.Allow {
		t.Errorf("the request bus's rule: %v, want Allow", got)
	}
	for _, rule := range []string{
		"arn:aws:events:eu-west-1:999999999999:rule/default/mallory", "arn:aws:events:eu-west-1:999999999999:rule/other-bus/rule",
	} {
		if got := assume("999999999999", rule); got == policy.Allow {
			t.Errorf("%s may assume the start role", rule)
		}
	}
	if got := assume("111111111111", "arn:aws:events:eu-west-1:111111111111:rule/"+bus+"/RequestsRule"); got == policy.Allow {
		t.Error("another account's rule may assume the start role")
	}
}

// resolvedPolicy is a policy document of the template, its ARNs resolved (cdktest.Resolve), for
// pkg/policy.
func resolvedPolicy(t *testing.T, doc any) policy.Document {
	t.Helper()
	raw, err := json.Marshal(cdktest.Resolve(template, doc))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse(raw)
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	return pol
}

// The ledger's items (each account's root email and credential state among them) are read by
// rootwindow's roles, the break-glass role and the auditors named, and nobody else, whatever IAM
// allows them elsewhere in the account.
func TestOnlyRootwindowAndItsAuditorsReadTheLedger(t *testing.T) {
	var doc policy.Document
	for _, res := range resources("AWS::DynamoDB::Table") {
		rp, _ := props(res)["ResourcePolicy"].(map[string]any)
		doc = resolvedPolicy(t, rp["PolicyDocument"])
	}
	table := "arn:aws:dynamodb:eu-west-1:999999999999:table/ledger"
	var api string
	for id := range resources("AWS::IAM::Role") {
		if strings.HasPrefix(id, "FunctionsApiRole") {
			api = cdktest.ARNOf(template, id)
		}
	}
	read := func(who, action string) policy.Effect {
		return doc.Evaluate(policy.Request{Action: action, Resource: table, Context: map[string][]string{"aws:PrincipalArn": {who}}})
	}
	for _, action := range []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:PartiQLSelect"} {
		if got := read("arn:aws:iam::999999999999:role/AdministratorAccess", action); got != policy.Deny {
			t.Errorf("%s by an administrator of the account: %v, want Deny", action, got)
		}
		if got := read(api, action); got == policy.Deny {
			t.Errorf("%s by the api function's role: denied", action)
		}
	}
	cfg := sample
	cfg.LedgerAuditorRoles = []string{"arn:aws:iam::999999999999:role/SecurityAudit"}
	tmpl, err := cdktest.Template(awscdk.StackProps{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tmpl["Resources"].(map[string]any) {
		if r.(map[string]any)["Type"] != "AWS::DynamoDB::Table" {
			continue
		}
		b, _ := json.Marshal(r.(map[string]any)["Properties"].(map[string]any)["ResourcePolicy"])
		if !strings.Contains(string(b), "OnlyRootwindowAndItsAuditorsReadItems") || !strings.Contains(string(b), "role/SecurityAudit") {
			t.Errorf("the auditor is not among the readers: %s", b)
		}
	}
}

// Nobody but rootwindow's roles puts events of rootwindow's source on the default bus (where its
// notifications go, and where a forged "Root Access Window Closed" would be believed); other
// sources are left alone.
func TestOnlyRootwindowPutsItsEventsOnTheDefaultBus(t *testing.T) {
	bus, err := cdktest.BusPolicy(template, "arn:aws:events:eu-west-1:999999999999:event-bus/default")
	if err != nil {
		t.Fatal(err)
	}
	var sweeper string
	for id := range resources("AWS::IAM::Role") {
		if strings.HasPrefix(id, "FunctionsSweeperRole") {
			sweeper = cdktest.ARNOf(template, id)
		}
	}
	put := func(who, source string) policy.Effect {
		return bus.Evaluate(policy.Request{Principal: who, Action: "events:PutEvents", Resource: "arn:aws:events:eu-west-1:999999999999:event-bus/default",
			Context: map[string][]string{"aws:PrincipalArn": {who}, "events:source": {source}}})
	}
	admin := "arn:aws:iam::999999999999:role/AdministratorAccess"
	if got := put(admin, contract.NotificationSource); got != policy.Deny {
		t.Errorf("an administrator putting rootwindow's events: %v, want Deny", got)
	}
	if got := put(admin, "myapp.orders"); got == policy.Deny {
		t.Error("another source: denied")
	}
	if got := put(sweeper, contract.NotificationSource); got == policy.Deny {
		t.Error("rootwindow's sweeper: denied")
	}
}
