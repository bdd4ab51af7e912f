package stack_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/rootwindow/rootwindow/infra/stack"
	"github.com/rootwindow/rootwindow/internal/cdktest"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/policy"
)

func one(t *testing.T, typ string) (string, map[string]any) {
	t.Helper()
	rs := resources(typ)
	if len(rs) != 1 {
		t.Fatalf("%d %s", len(rs), typ)
	}
	for id, r := range rs {
		return id, r
	}
	return "", nil
}

func TestEveryAPIMethodUsesIAM(t *testing.T) {
	methods := resources("AWS::ApiGateway::Method")
	var seen []string
	for id, m := range methods {
		p := props(m)
		if p["AuthorizationType"] != "AWS_IAM" {
			t.Errorf("%s: %v %v", id, p["HttpMethod"], p["AuthorizationType"])
		}
		if integ := p["Integration"].(map[string]any); integ["Type"] != "AWS_PROXY" {
			t.Errorf("%s: integration %v", id, integ["Type"])
		}
		seen = append(seen, p["HttpMethod"].(string))
	}
	if len(seen) != 10 {
		t.Errorf("methods %v", seen)
	}
	paths := map[string]bool{}
	for _, r := range resources("AWS::ApiGateway::Resource") {
		paths[props(r)["PathPart"].(string)] = true
	}
	for _, want := range []string{"requests", "{id}", "end", "cancel", "confirm", "approve", "deny", "review", "subscriptions"} {
		if !paths[want] {
			t.Errorf("no resource %s: %v", want, paths)
		}
	}
	_, stage := one(t, "AWS::ApiGateway::Stage")
	p := props(stage)
	if p["StageName"] != stack.APIStage || p["TracingEnabled"] != true || p["AccessLogSetting"] == nil {
		t.Errorf("stage %v", p)
	}
	for _, ms := range p["MethodSettings"].([]any) {
		if m := ms.(map[string]any); m["DataTraceEnabled"] == true {
			t.Errorf("API Gateway would log whole requests: %v", m)
		}
	}
}

func TestRequestBusRuleAndDeadLetters(t *testing.T) {
	busID, _ := one(t, "AWS::Events::EventBus")
	var p map[string]any
	for _, r := range resources("AWS::Events::Rule") {
		if props(r)["EventBusName"] != nil {
			p = props(r)
		}
	}
	if p == nil {
		t.Fatal("no rule on the request bus")
	}
	want := map[string]any{"source": []any{contract.RequestSource}, "detail-type": []any{contract.RequestDetailType}}
	if !reflect.DeepEqual(p["EventPattern"], want) {
		t.Errorf("pattern %v", p["EventPattern"])
	}
	if bus, _ := json.Marshal(p["EventBusName"]); !strings.Contains(string(bus), busID) {
		t.Errorf("rule on bus %s, want %s", bus, busID)
	}
	targets := p["Targets"].([]any)
	if len(targets) != 1 {
		t.Fatalf("targets %v", targets)
	}
	target := targets[0].(map[string]any)
	arn, _ := json.Marshal(target["Arn"])
	if !strings.Contains(string(arn), "StateMachine") {
		t.Errorf("target %s", arn)
	}
	dlq, _ := json.Marshal(target["DeadLetterConfig"])
	queueID, queue := one(t, "AWS::SQS::Queue")
	if !strings.Contains(string(dlq), queueID) {
		t.Errorf("dead letters go to %s, want %s", dlq, queueID)
	}
	if props(queue)["SqsManagedSseEnabled"] != true {
		t.Errorf("queue not encrypted: %v", props(queue))
	}
	// The input template builds the envelope: the request is the event's detail, the origin its
	// ID and account.
	input := target["InputTransformer"].(map[string]any)
	paths := input["InputPathsMap"].(map[string]any)
	if paths["detail"] != "$.detail" || paths["id"] != "$.id" || paths["account"] != "$.account" {
		t.Errorf("input paths %v", paths)
	}
	tmpl := input["InputTemplate"].(string)
	for _, want := range []string{`"request":<detail>`, `"channel":"eventbridge"`, `"eventId":<id>`, `"sourceAccount":<account>`} {
		if !strings.Contains(tmpl, want) {
			t.Errorf("input template %s lacks %s", tmpl, want)
		}
	}
	// With no integration configured, nobody may put events on the bus, in this account or any.
	policies := map[string]map[string]any{}
	for id, p := range resources("AWS::Events::EventBusPolicy") {
		if props(p)["EventBusName"] != stack.NotificationBus { // the request bus's, not the default bus's statement
			policies[id] = p
		}
	}
	if len(policies) != 2 {
		t.Fatalf("bus policies %v", policies)
	}
	puts := 0
	for _, p := range policies {
		b, _ := json.Marshal(props(p)["Statement"])
		if !strings.Contains(string(b), `"Action":"events:PutEvents"`) {
			continue
		}
		puts++
		if !strings.Contains(string(b), `"Effect":"Deny"`) || !strings.Contains(string(b), `"Principal":{"AWS":"*"}`) || strings.Contains(string(b), "Condition") {
			t.Errorf("with no integrations the bus must refuse everyone: %s", b)
		}
	}
	if puts != 1 {
		t.Errorf("%d statements about PutEvents", puts)
	}
}

// Nobody but the deployment manages the request bus's rules: a principal of this account cannot
// point the request rule at another target, disable it, or add a rule of their own on the bus.
func TestOnlyTheDeploymentManagesTheBusRules(t *testing.T) {
	var bus string
	for id := range resources("AWS::Events::EventBus") {
		bus = cdktest.ARNOf(template, id)
	}
	busPolicy, err := cdktest.BusPolicy(template, "arn:aws:events:eu-west-1:999999999999:event-bus/"+bus)
	if err != nil {
		t.Fatal(err)
	}
	rule := "arn:aws:events:eu-west-1:999999999999:rule/" + bus + "/IntakeRequestsRule"
	deployment := "arn:aws:iam::999999999999:role/cdk-hnb659fds-cfn-exec-role-999999999999-eu-west-1"
	for _, action := range []string{"events:PutRule", "events:PutTargets", "events:RemoveTargets", "events:DeleteRule", "events:DisableRule", "events:EnableRule"} {
		for _, who := range []string{"arn:aws:iam::999999999999:role/AdministratorAccess", "arn:aws:iam::999999999999:root", "arn:aws:iam::111111111111:role/Integration"} {
			if got := busPolicy.Evaluate(policy.Request{Principal: who, Action: action, Resource: rule, Context: map[string][]string{"aws:PrincipalArn": {who}}}); got != policy.Deny {
				t.Errorf("%s %s: %v, want Deny", who, action, got)
			}
		}
		if got := busPolicy.Evaluate(policy.Request{Principal: deployment, Action: action, Resource: rule, Context: map[string][]string{"aws:PrincipalArn": {deployment}}}); got == policy.Deny {
			t.Errorf("the deployment may not %s", action)
		}
	}
}

func TestBusPolicyAdmitsOnlyTheIntegrationsAndRequests(t *testing.T) {
	cfg := sample
	integrations := []string{"arn:aws:iam::111111111111:role/Ticketing", "arn:aws:iam::999999999999:role/ChatOps"}
	cfg.EventIntegrations = integrations
	cfg.NotificationEmail = "cloud-ops@example.com"
	tmpl, err := cdktest.Template(awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("999999999999"), Region: jsii.String("eu-west-1")},
	}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var allow, deny string
	var subs []map[string]any
	for _, r := range tmpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		switch res["Type"] {
		case "AWS::Events::EventBusPolicy":
			if res["Properties"].(map[string]any)["EventBusName"] == stack.NotificationBus {
				continue // the default bus's statement about rootwindow's own events
			}
			b, _ := json.Marshal(res["Properties"].(map[string]any)["Statement"])
			switch {
			case !strings.Contains(string(b), `"Action":"events:PutEvents"`): // the rules' statement
			case strings.Contains(string(b), `"Effect":"Deny"`):
				deny = string(b)
			default:
				allow = string(b)
			}
		case "AWS::SNS::Subscription":
			subs = append(subs, res["Properties"].(map[string]any))
		}
	}
	// The integrations, by principal ARN, never a whole account, and only requests.
	for _, want := range []string{
		`"Action":"events:PutEvents"`, `"Effect":"Allow"`, integrations[0], integrations[1],
		`"StringEquals":{"events:detail-type":"Root Access Window Requested","events:source":"rootwindow.requests"}`,
	} {
		if !strings.Contains(allow, want) {
			t.Errorf("allow statement %s lacks %s", allow, want)
		}
	}
	if strings.Contains(allow, ":root") {
		t.Errorf("a whole account is trusted: %s", allow)
	}
	// Everyone else is refused, even principals of this account that IAM would allow.
	for _, want := range []string{`"Principal":{"AWS":"*"}`, `"ArnNotEquals":{"aws:PrincipalArn":[`, integrations[0], integrations[1]} {
		if !strings.Contains(deny, want) {
			t.Errorf("deny statement %s lacks %s", deny, want)
		}
	}
	// And evaluated as AWS evaluates it: who may put what on the bus.
	busPolicy, err := cdktest.BusPolicy(tmpl, "arn:aws:events:eu-west-1:999999999999:event-bus/requests")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		principal, source string
		want              policy.Effect
	}{
		{integrations[0], contract.RequestSource, policy.Allow},
		{integrations[1], contract.RequestSource, policy.Allow},
		{integrations[0], "aws.organizations", policy.NotApplicable}, // not a request: not allowed
		{"arn:aws:iam::111111111111:role/Other", contract.RequestSource, policy.Deny},
		{"arn:aws:iam::111111111111:root", contract.RequestSource, policy.Deny},
		{"arn:aws:iam::999999999999:role/AdministratorAccess", contract.RequestSource, policy.Deny},
	} {
		got := busPolicy.Evaluate(policy.Request{Principal: tt.principal, Action: "events:PutEvents", Resource: "arn:aws:events:eu-west-1:999999999999:event-bus/requests",
			Context: map[string][]string{"aws:PrincipalArn": {tt.principal}, "events:source": {tt.source}, "events:detail-type": {contract.RequestDetailType}}})
		if got != tt.want {
			t.Errorf("%s putting %s: %v, want %v", tt.principal, tt.source, got, tt.want)
		}
	}
	if len(subs) != 1 || subs[0]["Protocol"] != "email" || subs[0]["Endpoint"] != "cloud-ops@example.com" {
		t.Errorf("subscriptions %v", subs)
	}
}

func TestTopicAndNotificationSettings(t *testing.T) {
	topicID, _ := one(t, "AWS::SNS::Topic")
	_, policy := one(t, "AWS::SNS::TopicPolicy")
	if b, _ := json.Marshal(props(policy)); !strings.Contains(string(b), `"aws:SecureTransport":"false"`) {
		t.Errorf("topic accepts plain HTTP: %s", b)
	}
	if len(resources("AWS::SNS::Subscription")) != 0 {
		t.Error("an email subscription without notificationEmail")
	}
	for id, fn := range resources("AWS::Lambda::Function") {
		env := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
		topic, _ := json.Marshal(env[contract.EnvTopicARN])
		if env[contract.EnvEventBus] != "default" || !strings.Contains(string(topic), topicID) {
			t.Errorf("%s: bus %v topic %s", id, env[contract.EnvEventBus], topic)
		}
		sm, knowsIt := env[contract.EnvStateMachineARN]
		if (strings.HasPrefix(id, "FunctionsApi") || strings.HasPrefix(id, "FunctionsSweeper")) != knowsIt {
			t.Errorf("%s: state machine ARN %v", id, sm)
		}
	}
	outputs := template["Outputs"].(map[string]any)
	for _, o := range []string{"ApiUrl", "RequestBusArn", "TopicArn", "StateMachineArn", "RequestDeadLetterQueueUrl"} {
		if outputs[o] == nil {
			t.Errorf("no output %s", o)
		}
	}
}
