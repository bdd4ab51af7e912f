package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// Watched are rootwindow's own resources whose changes are alarmed: a principal who can change
// them (in the management account, PowerUserAccess can) can make rootwindow lift.
type Watched struct {
	Table        awsdynamodb.Table
	LedgerKey    awskms.IKey
	StateMachine sfn.StateMachine
	RequestBus   awsevents.EventBus
	Roles        []awsiam.IRole // the functions', the state machine's, the request rule's
	// DeploymentRole makes the stack's own changes: the sweeper does not alarm on them.
	DeploymentRole string
}

// watch is one rule: calls of one service whose names start with one of names, on the resources
// whose request parameter param is one of values (or starts with prefix).
type watch struct {
	id, service string
	names       []string
	param       string
	values      []*string
	prefix      *string
}

// watchResources sends CloudTrail's record of each change to rootwindow's own resources to
// target (the sweeper, which counts ResourcesChanged unless the deployment made it): a function's
// code, configuration or resource policy, the state machine, the ledger's table and its policy,
// the stack's rules and their targets, the request bus's permissions, the topic, the keys (the
// topic's and the ledger's), the
// roles' policies and trusts. Like the guardrail's changes, this needs a CloudTrail trail logging
// management events, and sees the calls made in the stack's region: IAM's, which CloudTrail records
// in us-east-1, only when the stack is there. Each rule is small, far below EventBridge's 2,048
// characters an event pattern (EventBridge quotas).
func watchResources(c constructs.Construct, target func() awsevents.IRuleTarget, fns *Functions, n *Notifications, w *Watched) []awsevents.Rule {
	var fnNames []*string
	for _, spec := range functionSpecs {
		fn := fns.named(spec.name)
		fnNames = append(fnNames, fn.FunctionName(), fn.FunctionArn())
	}
	var roles []*string
	for _, r := range w.Roles {
		roles = append(roles, r.RoleName())
	}
	stack := awscdk.Stack_Of(c)
	watches := []watch{
		{"Functions", "lambda", []string{"UpdateFunctionCode", "UpdateFunctionConfiguration", "AddPermission", "RemovePermission", "DeleteFunction", "PutFunctionConcurrency", "PutFunctionEventInvokeConfig"},
			"functionName", fnNames, nil},
		{"StateMachine", "states", []string{"UpdateStateMachine", "DeleteStateMachine"}, "stateMachineArn", []*string{w.StateMachine.StateMachineArn()}, nil},
		{"TablePolicy", "dynamodb", []string{"PutResourcePolicy", "DeleteResourcePolicy"}, "resourceArn", []*string{w.Table.TableArn()}, nil},
		{"Table", "dynamodb", []string{"UpdateTable", "DeleteTable", "UpdateTimeToLive", "UpdateContinuousBackups"}, "tableName", []*string{w.Table.TableName()}, nil},
		// The stack's rules, these included (named after the stack by CloudFormation: a rule
		// cannot name itself in its own pattern).
		{"Rules", "events", []string{"PutRule", "DeleteRule", "DisableRule"}, "name", nil, awscdk.Fn_Join(jsii.String(""), &[]*string{stack.StackName(), jsii.String("-")})},
		{"RuleTargets", "events", []string{"PutTargets", "RemoveTargets"}, "rule", nil, awscdk.Fn_Join(jsii.String(""), &[]*string{stack.StackName(), jsii.String("-")})},
		{"RequestBus", "events", []string{"PutPermission", "RemovePermission", "DeleteEventBus"}, "eventBusName", []*string{w.RequestBus.EventBusName(), w.RequestBus.EventBusArn()}, nil},
		{"Topic", "sns", []string{"SetTopicAttributes", "AddPermission", "RemovePermission", "DeleteTopic"}, "topicArn", []*string{n.Topic.TopicArn()}, nil},
		{"Key", "kms", []string{"PutKeyPolicy", "ScheduleKeyDeletion", "DisableKey"}, "keyId", []*string{n.Key.KeyArn(), n.Key.KeyId(), w.LedgerKey.KeyArn(), w.LedgerKey.KeyId()}, nil},
		{"Roles", "iam", []string{"PutRolePolicy", "AttachRolePolicy", "DetachRolePolicy", "DeleteRolePolicy", "UpdateAssumeRolePolicy", "PutRolePermissionsBoundary", "DeleteRole"},
			"roleName", roles, nil},
	}
	var rules []awsevents.Rule
	for _, x := range watches {
		names := make([]any, len(x.names))
		for i, n := range x.names {
			names[i] = map[string]string{"prefix": n}
		}
		var values any = x.values
		if x.prefix != nil {
			values = []any{map[string]*string{"prefix": x.prefix}}
		}
		rule := awsevents.NewRule(c, jsii.String("Changes"+x.id), &awsevents.RuleProps{
			Description: jsii.String("rootwindow: alarm when someone other than the deployment changes rootwindow (" + x.id + ")"),
			EventPattern: &awsevents.EventPattern{
				Source:     jsii.Strings("aws." + x.service),
				DetailType: jsii.Strings(contract.DetailTypeAPICall),
				Detail: &map[string]any{
					"eventSource":       []string{x.service + ".amazonaws.com"},
					"eventName":         names,
					"requestParameters": map[string]any{x.param: values},
				},
			},
		})
		rule.AddTarget(target())
		rules = append(rules, rule)
	}
	fns.provide(contract.EnvDeploymentRoleARN, jsii.String(w.DeploymentRole))
	return rules
}
