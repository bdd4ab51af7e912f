package stack_test

import (
	"os"
	"strings"
	"testing"

	"github.com/rootwindow/rootwindow/pkg/policy"
)

// deployByKind are the calls CloudFormation makes with its execution role to create, update and
// delete each kind of resource (the handlers' permissions in the CloudFormation registry's
// resource schemas, the ones a stack like this one reaches), written here and not taken from the
// policy file: the file must allow each. A kind the template holds and this table does not fails
// the test.
var deployByKind = map[string][]string{
	"AWS::ApiGateway::Account":         {"apigateway:PATCH", "apigateway:GET", "iam:PassRole"},
	"AWS::ApiGateway::Deployment":      {"apigateway:POST", "apigateway:GET", "apigateway:PATCH", "apigateway:DELETE"},
	"AWS::ApiGateway::Method":          {"apigateway:PUT", "apigateway:GET", "apigateway:PATCH", "apigateway:DELETE"},
	"AWS::ApiGateway::Resource":        {"apigateway:POST", "apigateway:GET", "apigateway:PATCH", "apigateway:DELETE"},
	"AWS::ApiGateway::RestApi":         {"apigateway:POST", "apigateway:GET", "apigateway:PATCH", "apigateway:PUT", "apigateway:DELETE", "apigateway:UpdateRestApiPolicy"},
	"AWS::ApiGateway::Stage":           {"apigateway:POST", "apigateway:GET", "apigateway:PATCH", "apigateway:DELETE"},
	"AWS::CloudWatch::Alarm":           {"cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource"},
	"AWS::CloudWatch::Dashboard":       {"cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards"},
	"AWS::DynamoDB::Table":             {"dynamodb:CreateTable", "dynamodb:DescribeTable", "dynamodb:UpdateTable", "dynamodb:DeleteTable", "dynamodb:UpdateContinuousBackups", "dynamodb:DescribeContinuousBackups", "dynamodb:UpdateTimeToLive", "dynamodb:DescribeTimeToLive", "dynamodb:PutResourcePolicy", "dynamodb:GetResourcePolicy", "dynamodb:TagResource", "dynamodb:ListTagsOfResource"},
	"AWS::Events::EventBus":            {"events:CreateEventBus", "events:DescribeEventBus", "events:UpdateEventBus", "events:DeleteEventBus", "events:TagResource"},
	"AWS::Events::EventBusPolicy":      {"events:PutPermission", "events:RemovePermission", "events:DescribeEventBus"},
	"AWS::Events::Rule":                {"events:PutRule", "events:DescribeRule", "events:DeleteRule", "events:PutTargets", "events:RemoveTargets", "events:ListTargetsByRule", "iam:PassRole"},
	"AWS::IAM::Policy":                 {"iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy"},
	"AWS::IAM::Role":                   {"iam:CreateRole", "iam:GetRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRoleDescription", "iam:DeleteRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:TagRole", "iam:UntagRole"},
	"AWS::KMS::Key":                    {"kms:CreateKey", "kms:DescribeKey", "kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:EnableKeyRotation", "kms:GetKeyRotationStatus", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:ListResourceTags"},
	"AWS::Lambda::EventInvokeConfig":   {"lambda:PutFunctionEventInvokeConfig", "lambda:UpdateFunctionEventInvokeConfig", "lambda:GetFunctionEventInvokeConfig", "lambda:DeleteFunctionEventInvokeConfig"},
	"AWS::Lambda::Function":            {"lambda:CreateFunction", "lambda:GetFunction", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:DeleteFunction", "lambda:TagResource", "lambda:ListTags", "iam:PassRole", "s3:GetObject"},
	"AWS::Lambda::Permission":          {"lambda:AddPermission", "lambda:RemovePermission", "lambda:GetPolicy"},
	"AWS::Lambda::ResourcePolicy":      {"lambda:PutResourcePolicy", "lambda:GetResourcePolicy", "lambda:DeleteResourcePolicy"},
	"AWS::Logs::LogGroup":              {"logs:CreateLogGroup", "logs:DescribeLogGroups", "logs:PutRetentionPolicy", "logs:DeleteLogGroup", "logs:TagResource"},
	"AWS::SNS::Topic":                  {"sns:CreateTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:DeleteTopic", "sns:TagResource", "sns:ListTagsForResource"},
	"AWS::SNS::TopicPolicy":            {"sns:SetTopicAttributes", "sns:GetTopicAttributes"},
	"AWS::SQS::Queue":                  {"sqs:CreateQueue", "sqs:GetQueueAttributes", "sqs:SetQueueAttributes", "sqs:GetQueueUrl", "sqs:DeleteQueue", "sqs:TagQueue", "sqs:ListQueueTags"},
	"AWS::SQS::QueuePolicy":            {"sqs:SetQueueAttributes", "sqs:GetQueueAttributes"},
	"AWS::StepFunctions::StateMachine": {"states:CreateStateMachine", "states:DescribeStateMachine", "states:UpdateStateMachine", "states:DeleteStateMachine", "states:TagResource", "iam:PassRole", "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies"},
}

func readPolicy(t *testing.T, file string) policy.Document {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	d, err := policy.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return d
}

// The CloudFormation execution role's policy (infra/deployment/cfn-execution-policy.json, for
// cdk bootstrap --cloudformation-execution-policies) lets CloudFormation create, update and
// delete every kind of resource in the synthesized template, and nothing that would let the
// deployment lift root itself or act beyond rootwindow's kinds of resources.
func TestTheExecutionPolicyDeploysTheTemplateAndNoMore(t *testing.T) {
	d := readPolicy(t, "../deployment/cfn-execution-policy.json")
	const exec = "arn:aws:iam::999999999999:role/cdk-hnb659fds-cfn-exec-role-999999999999-eu-west-1"
	allows := func(action string, context map[string][]string) bool {
		resource := "*"
		switch strings.SplitN(action, ":", 2)[0] {
		case "s3":
			resource = "arn:aws:s3:::cdk-hnb659fds-assets-999999999999-eu-west-1/0123abcd.zip"
		case "apigateway":
			resource = "arn:aws:apigateway:eu-west-1::/restapis/a1b2c3d4e5"
		}
		return d.Evaluate(policy.Request{Principal: exec, Action: action, Resource: resource, Context: context}) == policy.Allow
	}
	passedTo := map[string]string{"AWS::ApiGateway::Account": "apigateway.amazonaws.com", "AWS::Events::Rule": "events.amazonaws.com",
		"AWS::Lambda::Function": "lambda.amazonaws.com", "AWS::StepFunctions::StateMachine": "states.amazonaws.com"}
	for _, kind := range templateKinds() {
		actions, known := deployByKind[kind]
		if !known {
			t.Errorf("%s: the template holds it, and no one has said what CloudFormation calls to deploy it", kind)
			continue
		}
		for _, a := range actions {
			var ctx map[string][]string
			if a == "iam:PassRole" {
				ctx = map[string][]string{"iam:PassedToService": {passedTo[kind]}}
			}
			if !allows(a, ctx) {
				t.Errorf("%s: the execution policy does not allow %s", kind, a)
			}
		}
	}
	for _, a := range []string{"organizations:DetachPolicy", "organizations:UpdatePolicy", "organizations:AttachPolicy", "sts:AssumeRole",
		"iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:PutUserPolicy", "ec2:RunInstances", "s3:PutBucketPolicy", "lambda:InvokeFunction"} {
		if allows(a, nil) {
			t.Errorf("the execution policy allows %s, which deploying rootwindow never needs", a)
		}
	}
	if allows("iam:PassRole", map[string][]string{"iam:PassedToService": {"ec2.amazonaws.com"}}) {
		t.Error("the execution policy passes roles to EC2")
	}
	if allows("s3:GetObject", nil) && d.Evaluate(policy.Request{Principal: exec, Action: "s3:GetObject", Resource: "arn:aws:s3:::someone-elses-bucket/x"}) == policy.Allow {
		t.Error("the execution policy reads any bucket")
	}
}

// The deployer's policy (infra/deployment/deployer-policy.json) lets a person or a pipeline
// become the deployment (the bootstrap's deploy, publishing and lookup roles) and read the stack,
// and nothing else: not the execution role itself, not any other role.
func TestTheDeployerPolicyOnlyBecomesTheDeployment(t *testing.T) {
	d := readPolicy(t, "../deployment/deployer-policy.json")
	const who = "arn:aws:iam::999999999999:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_RootwindowDeployer_0123"
	assume := func(role string) bool {
		return d.Evaluate(policy.Request{Principal: who, Action: "sts:AssumeRole", Resource: role}) == policy.Allow
	}
	for _, role := range []string{"cdk-hnb659fds-deploy-role-999999999999-eu-west-1", "cdk-hnb659fds-file-publishing-role-999999999999-eu-west-1", "cdk-hnb659fds-lookup-role-999999999999-eu-west-1"} {
		if !assume("arn:aws:iam::999999999999:role/" + role) {
			t.Errorf("may not assume %s", role)
		}
	}
	for _, role := range []string{"cdk-hnb659fds-cfn-exec-role-999999999999-eu-west-1", "rootwindow/RootWindow-FunctionsDetachRole-ABC", "OrganizationAccountAccessRole"} {
		if assume("arn:aws:iam::999999999999:role/" + role) {
			t.Errorf("may assume %s", role)
		}
	}
	for _, a := range []string{"lambda:UpdateFunctionCode", "organizations:DetachPolicy", "iam:PassRole", "cloudformation:UpdateStack"} {
		if d.Evaluate(policy.Request{Principal: who, Action: a, Resource: "*"}) == policy.Allow {
			t.Errorf("allows %s", a)
		}
	}
}
