package stack_test

import (
	"strings"
	"testing"

	"github.com/rootwindow/rootwindow/pkg/fence"
	"github.com/rootwindow/rootwindow/pkg/policy"
)

// changesByKind are the calls that change a resource of each kind (AWS's Service Authorization
// Reference), written here and not taken from pkg/fence: the fence must deny each of them in the
// home to everyone but the deployment. A kind the template holds and this table does not fails
// the test: a new kind of resource needs its row, and the fence its actions.
var changesByKind = map[string][]string{
	"AWS::ApiGateway::Account":         {"apigateway:PATCH"},
	"AWS::ApiGateway::Deployment":      {"apigateway:POST", "apigateway:DELETE"},
	"AWS::ApiGateway::Method":          {"apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"},
	"AWS::ApiGateway::Resource":        {"apigateway:POST", "apigateway:DELETE"},
	"AWS::ApiGateway::RestApi":         {"apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE", "apigateway:UpdateRestApiPolicy"},
	"AWS::ApiGateway::Stage":           {"apigateway:PATCH", "apigateway:DELETE"},
	"AWS::CloudWatch::Alarm":           {"cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DisableAlarmActions", "cloudwatch:SetAlarmState"},
	"AWS::CloudWatch::Dashboard":       {"cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"},
	"AWS::DynamoDB::Table":             {"dynamodb:UpdateTable", "dynamodb:DeleteTable", "dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy", "dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTimeToLive"},
	"AWS::Events::EventBus":            {"events:UpdateEventBus", "events:DeleteEventBus"},
	"AWS::Events::EventBusPolicy":      {"events:PutPermission", "events:RemovePermission"},
	"AWS::Events::Rule":                {"events:PutRule", "events:DeleteRule", "events:PutTargets", "events:RemoveTargets", "events:DisableRule", "events:EnableRule"},
	"AWS::IAM::Policy":                 {"iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy"},
	"AWS::IAM::Role":                   {"iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PassRole", "iam:TagRole"},
	"AWS::KMS::Key":                    {"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DisableKeyRotation", "kms:CreateGrant"},
	"AWS::Lambda::EventInvokeConfig":   {"lambda:PutFunctionEventInvokeConfig", "lambda:UpdateFunctionEventInvokeConfig", "lambda:DeleteFunctionEventInvokeConfig"},
	"AWS::Lambda::Function":            {"lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:DeleteFunction", "lambda:PutFunctionConcurrency", "lambda:PublishVersion", "lambda:CreateAlias"},
	"AWS::Lambda::Permission":          {"lambda:AddPermission", "lambda:RemovePermission"},
	"AWS::Lambda::ResourcePolicy":      {"lambda:PutResourcePolicy", "lambda:DeleteResourcePolicy"},
	"AWS::Logs::LogGroup":              {"logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteLogStream"},
	"AWS::SNS::Topic":                  {"sns:SetTopicAttributes", "sns:DeleteTopic"},
	"AWS::SNS::TopicPolicy":            {"sns:SetTopicAttributes", "sns:AddPermission", "sns:RemovePermission"},
	"AWS::SQS::Queue":                  {"sqs:SetQueueAttributes", "sqs:DeleteQueue", "sqs:PurgeQueue"},
	"AWS::SQS::QueuePolicy":            {"sqs:SetQueueAttributes", "sqs:AddPermission", "sqs:RemovePermission"},
	"AWS::StepFunctions::StateMachine": {"states:UpdateStateMachine", "states:DeleteStateMachine", "states:PublishStateMachineVersion", "states:CreateStateMachineAlias"},
	// the stack itself
	"AWS::CloudFormation::Stack": {"cloudformation:UpdateStack", "cloudformation:DeleteStack", "cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet"},
}

// The fence denies every change to every kind of resource the synthesized template holds, to a
// principal of the home that is not the deployment, and allows it to the CloudFormation
// execution role that deploys it.
func TestTheFenceCoversEveryKindOfResource(t *testing.T) {
	const home = "999999999999"
	doc, err := fence.Document(fence.Spec{Account: home, Qualifier: fence.DefaultQualifier})
	if err != nil {
		t.Fatal(err)
	}
	d, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	denied := func(who, action string) bool {
		return d.Evaluate(policy.Request{Principal: who, Action: action, Resource: "*", Context: map[string][]string{"aws:PrincipalArn": {who}}}) == policy.Deny
	}
	admin := "arn:aws:iam::" + home + ":role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123"
	exec := "arn:aws:iam::" + home + ":role/cdk-hnb659fds-cfn-exec-role-" + home + "-eu-west-1"
	for _, kind := range append(templateKinds(), "AWS::CloudFormation::Stack") {
		actions, known := changesByKind[kind]
		if !known {
			t.Errorf("%s: the template holds it, and no one has said which calls change it (and whether the fence denies them)", kind)
			continue
		}
		for _, a := range actions {
			if !denied(admin, a) {
				t.Errorf("%s: %s is not fenced", kind, a)
			}
			if denied(exec, a) {
				t.Errorf("%s: the deployment may not %s", kind, a)
			}
		}
	}
}

// Every function's role and the state machine's are under fence.RolePath: the fence lets
// rootwindow's roles, and only them, write the organization's policies and invoke its functions,
// by that path.
func TestRolesThatActAreUnderTheFencesPath(t *testing.T) {
	n := 0
	for id, res := range resources("AWS::IAM::Role") {
		if !strings.HasPrefix(id, "Functions") && !strings.HasPrefix(id, "WorkflowStateMachineRole") {
			continue
		}
		n++
		if got := props(res)["Path"]; got != fence.RolePath {
			t.Errorf("%s: path %v, want %s", id, got, fence.RolePath)
		}
	}
	if n != 6 {
		t.Errorf("%d roles of functions and the state machine", n)
	}
}

// The state machine's role is assumed by Step Functions for a state machine of this account only.
func TestTheStateMachineRoleTrustsOnlyThisAccountsStateMachines(t *testing.T) {
	found := false
	for id, res := range resources("AWS::IAM::Role") {
		if !strings.HasPrefix(id, "WorkflowStateMachineRole") {
			continue
		}
		found = true
		trust := resolvedPolicy(t, props(res)["AssumeRolePolicyDocument"])
		assume := func(account, stateMachine string) policy.Effect {
			return trust.Evaluate(policy.Request{Principal: "states.amazonaws.com", Action: "sts:AssumeRole", Resource: "*",
				Context: map[string][]string{"aws:SourceAccount": {account}, "aws:SourceArn": {stateMachine}}})
		}
		if got := assume("999999999999", "arn:aws:states:eu-west-1:999999999999:stateMachine:WorkflowStateMachine-ABC"); got != policy.Allow {
			t.Errorf("this account's state machine: %v", got)
		}
		if got := assume("111111111111", "arn:aws:states:eu-west-1:111111111111:stateMachine:mallory"); got == policy.Allow {
			t.Error("another account's state machine may assume it")
		}
	}
	if !found {
		t.Fatal("no state machine role")
	}
}

// templateKinds lists the kinds of resource the synthesized template holds.
func templateKinds() []string {
	seen := map[string]bool{}
	var kinds []string
	for _, r := range template["Resources"].(map[string]any) {
		if kind := r.(map[string]any)["Type"].(string); !seen[kind] {
			seen[kind] = true
			kinds = append(kinds, kind)
		}
	}
	return kinds
}
