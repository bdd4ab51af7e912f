package fence_test

import (
	"strings"
	"testing"

	"github.com/rootwindow/rootwindow/pkg/fence"
	"github.com/rootwindow/rootwindow/pkg/policy"
)

const home = "222222222222"

var (
	fullAccess = mustParse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	spec       = fence.Spec{Account: home, Qualifier: fence.DefaultQualifier,
		Deployers: []string{"arn:aws:iam::" + home + ":role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_RootwindowDeployer_*"},
		Operators: []string{"arn:aws:iam::" + home + ":role/BreakGlass"}}

	// Principals of the home account, as aws:PrincipalArn names them.
	admin      = "arn:aws:iam::" + home + ":role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AdministratorAccess_0123456789abcdef"
	powerUser  = "arn:aws:iam::" + home + ":role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_PowerUserAccess_0123456789abcdef"
	rootUser   = "arn:aws:iam::" + home + ":root"
	user       = "arn:aws:iam::" + home + ":user/ci"
	execRole   = "arn:aws:iam::" + home + ":role/cdk-hnb659fds-cfn-exec-role-" + home + "-eu-west-1"
	deployRole = "arn:aws:iam::" + home + ":role/cdk-hnb659fds-deploy-role-" + home + "-eu-west-1"
	deployer   = "arn:aws:iam::" + home + ":role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_RootwindowDeployer_0123456789abcdef"
	detachRole = "arn:aws:iam::" + home + ":role/rootwindow/RootWindow-FunctionsDetachRole1A2B3C-ABCDEF123456"
	breakGlass = "arn:aws:iam::" + home + ":role/BreakGlass"
	// a role named like rootwindow's, without its path: only the path counts
	lookalike = "arn:aws:iam::" + home + ":role/RootWindow-FunctionsDetachRole-evil"
	strangers = []string{admin, powerUser, rootUser, user, lookalike}
)

func mustParse(doc string) policy.Document {
	d, err := policy.Parse([]byte(doc))
	if err != nil {
		panic(err)
	}
	return d
}

func fenceDoc(t *testing.T, s fence.Spec) policy.Document {
	t.Helper()
	doc, err := fence.Document(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc) > fence.MaxSize {
		t.Fatalf("%d characters", len(doc))
	}
	d, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("the fence is not a policy pkg/policy understands: %v\n%s", err, doc)
	}
	return d
}

// permits: the home account's SCPs (FullAWSAccess and the fence, attached to the account) let
// principal make the call.
func permits(d policy.Document, principal, action, resource string) bool {
	return policy.Permits([][]policy.Document{{fullAccess, d}}, policy.Request{Principal: principal, Action: action, Resource: resource,
		Context: map[string][]string{"aws:PrincipalArn": {principal}}})
}

// Changes to rootwindow's resources, one or more per kind the stack is made of (the ARNs as the
// resources would have them; the fence denies on any): denied to every principal of the home but
// the deployment's roles.
var rootwindowChanges = map[string][]string{
	"arn:aws:lambda:eu-west-1:" + home + ":function:RootWindow-FunctionsDetach-ABC": {
		"lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:AddPermission", "lambda:RemovePermission",
		"lambda:PutFunctionConcurrency", "lambda:DeleteFunction", "lambda:PublishVersion", "lambda:CreateAlias",
		"lambda:PutFunctionEventInvokeConfig", "lambda:TagResource", "lambda:CreateFunctionUrlConfig", "lambda:PutResourcePolicy",
	},
	"arn:aws:states:eu-west-1:" + home + ":stateMachine:WorkflowStateMachine-ABC": {
		"states:UpdateStateMachine", "states:DeleteStateMachine", "states:CreateStateMachine", "states:PublishStateMachineVersion",
		"states:CreateStateMachineAlias", "states:TagResource",
	},
	"arn:aws:dynamodb:eu-west-1:" + home + ":table/RootWindow-LedgerTable-ABC": {
		"dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy", "dynamodb:UpdateTable", "dynamodb:DeleteTable",
		"dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTimeToLive",
	},
	"arn:aws:events:eu-west-1:" + home + ":rule/rootwindow-requests/RootWindow-IntakeRequests-ABC": {
		"events:PutRule", "events:PutTargets", "events:RemoveTargets", "events:DeleteRule", "events:DisableRule",
	},
	"arn:aws:events:eu-west-1:" + home + ":event-bus/rootwindow-requests": {"events:PutPermission", "events:RemovePermission", "events:DeleteEventBus", "events:UpdateEventBus"},
	"arn:aws:sns:eu-west-1:" + home + ":RootWindow-Notifications-ABC":     {"sns:SetTopicAttributes", "sns:AddPermission", "sns:DeleteTopic"},
	"arn:aws:sqs:eu-west-1:" + home + ":RootWindow-DeadLetters-ABC":       {"sqs:SetQueueAttributes", "sqs:PurgeQueue", "sqs:DeleteQueue"},
	"arn:aws:kms:eu-west-1:" + home + ":key/0d7e8f10-0000-4000-8000-000000000000": {
		"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:CreateGrant",
	},
	"arn:aws:apigateway:eu-west-1::/restapis/a1b2c3d4e5": {"apigateway:PATCH", "apigateway:PUT", "apigateway:DELETE", "apigateway:POST", "apigateway:UpdateRestApiPolicy"},
	"arn:aws:cloudwatch:eu-west-1:" + home + ":alarm:RootWindow-SafetyRestoreFailed-ABC": {
		"cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DisableAlarmActions", "cloudwatch:SetAlarmState",
	},
	"arn:aws:logs:eu-west-1:" + home + ":log-group:RootWindow-FunctionsDetachLogs-ABC": {"logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteLogStream"},
	"arn:aws:iam::" + home + ":role/rootwindow/RootWindow-FunctionsDetachRole1A2B3C-ABCDEF123456": {
		"iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:DeleteRolePolicy", "iam:PassRole",
		"iam:DeleteRole", "iam:PutRolePermissionsBoundary", "iam:TagRole", "iam:UpdateRole",
	},
	"arn:aws:iam::" + home + ":role/rootwindow/anything": {"iam:CreateRole"},
	"arn:aws:cloudformation:eu-west-1:" + home + ":stack/RootWindow/0d7e8f10": {
		"cloudformation:UpdateStack", "cloudformation:DeleteStack", "cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet",
		"cloudformation:SetStackPolicy",
	},
}

func TestOnlyTheDeploymentChangesRootwindow(t *testing.T) {
	d := fenceDoc(t, spec)
	for resource, actions := range rootwindowChanges {
		for _, action := range actions {
			for _, who := range append(strangers, detachRole, breakGlass, deployer) {
				if permits(d, who, action, resource) {
					t.Errorf("%s may %s on %s", who, action, resource)
				}
			}
			for _, who := range []string{execRole, deployRole} {
				if !permits(d, who, action, resource) {
					t.Errorf("the deployment's %s may not %s on %s", who, action, resource)
				}
			}
		}
	}
}

// The doors and rootwindow's own work stay open: requesters start executions, put events, call
// the API; rootwindow's roles write the ledger's items, publish, answer task tokens; operators
// read, subscribe and empty the dead-letter queue.
func TestTheDoorsAndTheWorkStayOpen(t *testing.T) {
	d := fenceDoc(t, spec)
	for _, call := range []struct{ who, action, resource string }{
		{admin, "states:StartExecution", "arn:aws:states:eu-west-1:" + home + ":stateMachine:WorkflowStateMachine-ABC"},
		{powerUser, "events:PutEvents", "arn:aws:events:eu-west-1:" + home + ":event-bus/rootwindow-requests"},
		{user, "execute-api:Invoke", "arn:aws:execute-api:eu-west-1:" + home + ":a1b2c3d4e5/prod/POST/requests"},
		{admin, "states:DescribeExecution", "*"},
		{admin, "dynamodb:GetItem", "*"},
		{admin, "sns:Subscribe", "*"},
		{admin, "sqs:ReceiveMessage", "*"},
		{admin, "sqs:DeleteMessage", "*"},
		{admin, "states:StopExecution", "*"}, // stopping one closes its window (the safety net)
		{detachRole, "dynamodb:UpdateItem", "*"},
		{detachRole, "dynamodb:DeleteItem", "*"},
		{detachRole, "sns:Publish", "*"},
		{detachRole, "states:SendTaskSuccess", "*"},
		{detachRole, "logs:PutLogEvents", "*"},
		{detachRole, "organizations:DescribePolicy", "*"},
	} {
		if !permits(d, call.who, call.action, call.resource) {
			t.Errorf("%s may not %s", call.who, call.action)
		}
	}
}

// Only rootwindow's roles (and the operators named) write the organization's policies and tags:
// an administrator of the delegated administrator account cannot detach the guardrail himself.
func TestOnlyRootwindowWritesTheOrganization(t *testing.T) {
	d := fenceDoc(t, spec)
	for _, action := range []string{"organizations:DetachPolicy", "organizations:AttachPolicy", "organizations:UpdatePolicy",
		"organizations:CreatePolicy", "organizations:DeletePolicy", "organizations:TagResource", "organizations:UntagResource"} {
		for _, who := range append(strangers, execRole, deployRole, deployer) {
			if permits(d, who, action, "*") {
				t.Errorf("%s may %s", who, action)
			}
		}
		for _, who := range []string{detachRole, breakGlass} {
			if !permits(d, who, action, "*") {
				t.Errorf("%s may not %s", who, action)
			}
		}
	}
}

// Only rootwindow's roles (the state machine's) invoke its functions: no one in the home hands the
// api or sweeper function an event of their making (API Gateway and EventBridge invoke them as
// service principals, which SCPs do not bind).
func TestOnlyRootwindowInvokesItsFunctions(t *testing.T) {
	d := fenceDoc(t, spec)
	fn := "arn:aws:lambda:eu-west-1:" + home + ":function:RootWindow-FunctionsAPI-ABC"
	stateMachineRole := "arn:aws:iam::" + home + ":role/rootwindow/RootWindow-WorkflowStateMachineRole-ABC"
	for _, action := range []string{"lambda:InvokeFunction", "lambda:InvokeAsync"} {
		for _, who := range append(strangers, execRole, deployer, breakGlass) {
			if permits(d, who, action, fn) {
				t.Errorf("%s may %s", who, action)
			}
		}
		if !permits(d, stateMachineRole, action, fn) {
			t.Errorf("the state machine may not %s", action)
		}
	}
}

// The bootstrap's roles trust the whole account by default: only the deployers named (and the
// bootstrap's roles themselves) may assume them.
func TestOnlyDeployersAssumeTheDeploymentRoles(t *testing.T) {
	d := fenceDoc(t, spec)
	for _, who := range strangers {
		if permits(d, who, "sts:AssumeRole", deployRole) || permits(d, who, "sts:AssumeRole", execRole) {
			t.Errorf("%s may become the deployment", who)
		}
	}
	if !permits(d, deployer, "sts:AssumeRole", deployRole) {
		t.Error("the deployer may not assume the deploy role")
	}
	if !permits(d, admin, "sts:AssumeRole", "arn:aws:iam::"+home+":role/SomethingElse") {
		t.Error("assuming other roles is fenced too")
	}
	// None named: no one in the home (deployments come from a pipeline account).
	none := spec
	none.Deployers = nil
	if permits(fenceDoc(t, none), deployer, "sts:AssumeRole", deployRole) {
		t.Error("with no deployer named, a principal of the home may assume the deploy role")
	}
}

func TestSpecErrorsNameTheField(t *testing.T) {
	for _, tt := range []struct {
		mutate func(*fence.Spec)
		want   string
	}{
		{func(s *fence.Spec) { s.Account = "12345" }, `account: "12345" is not an account ID`},
		{func(s *fence.Spec) { s.Qualifier = "Bad_Q" }, `qualifier: "Bad_Q"`},
		{func(s *fence.Spec) { s.Partition = "gcp" }, `partition: "gcp"`},
		{func(s *fence.Spec) { s.Deployers = []string{"alice"} }, `deployer: "alice" is not a role ARN`},
		{func(s *fence.Spec) { s.Operators = []string{"arn:aws:iam::999999999999:role/x"} }, `operator: "arn:aws:iam::999999999999:role/x" is not a role of the home account`},
		{func(s *fence.Spec) { s.Operators = []string{`arn:aws:iam::222222222222:role/x"}`} }, `operator:`},
	} {
		s := spec
		tt.mutate(&s)
		_, err := fence.Document(s)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("got %v, want %q", err, tt.want)
		}
	}
	// Too many principals to fit an SCP: refused, saying so.
	s := spec
	for range 60 {
		s.Operators = append(s.Operators, "arn:aws:iam::"+home+":role/operators/a-rather-long-role-name-for-an-operator")
	}
	if _, err := fence.Document(s); err == nil || !strings.Contains(err.Error(), "more than an SCP may hold") {
		t.Errorf("got %v", err)
	}
}
