// Package fence writes the service control policy that fences rootwindow's home: a member account
// of the organization, dedicated to rootwindow, that is the delegated administrator for SCPs (the
// stack's managementAccountId names the organization's management account). SCPs bind every
// principal of a member account, its administrators and its root user included, and never
// service principals or service-linked roles (AWS Organizations User Guide, "Service control
// policies (SCPs)": "SCPs don't affect service-linked roles"; "SCPs do not affect ... the
// management account"). So in the fenced home AWS itself enforces what the home's own IAM
// cannot: no one there but the deployment changes rootwindow, and no one but rootwindow writes
// the organization's policies.
//
// The fence has four statements:
//
//   - Deployment: every change to the resources rootwindow is made of (functions, state machine,
//     table and its policy, rules and bus, topic, queue, key, API, alarms, logs, roles and
//     iam:PassRole, the stack) is denied to every principal but the CDK bootstrap's roles of the
//     deployment's qualifier (the CloudFormation execution role makes the changes, the deploy role
//     runs the change sets). The account is dedicated: these are denied on every resource of
//     their kind, so nothing depends on the names CloudFormation generates. The doors stay open:
//     starting an execution, putting an event on the bus, calling the API, reading, subscribing.
//   - Deployers: assuming those bootstrap roles is denied to every principal of the home but the
//     deployers named (the bootstrap's roles trust the whole account by default); with none
//     named, deployments come from outside the account (cdk bootstrap --trust a pipeline
//     account), which this SCP does not bind.
//   - Invocation: invoking a function is denied to every principal but rootwindow's own roles
//     (the state machine's invokes the workflow's functions). API Gateway and EventBridge invoke
//     the api and sweeper functions as service principals, which SCPs do not bind: no one in the
//     home invokes a function of rootwindow's directly with an event of their making.
//   - Organization: writing the organization's policies and tags (what lifts root) is denied to
//     every principal but rootwindow's own roles (the stack puts its functions' roles under
//     RolePath) and the operators named.
package fence

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Name is the fence SCP's name in Organizations, for the home account.
func Name(account string) string { return "rootwindow-fence-" + account }

// RolePath is the IAM path of rootwindow's roles that act (its functions' and its state
// machine's; infra/stack): the fence knows them
// by it, whatever names CloudFormation gives them. No one but the deployment may create a role.
const RolePath = "/rootwindow/"

// Description is what Organizations shows beside it.
const Description = "rootwindow: only the deployment changes rootwindow in this account; only rootwindow writes the organization's policies"

// MaxSize is the SCP size quota the fence must fit (AWS Organizations quotas: 5,120 characters,
// the smallest an organization may have).
const MaxSize = 5120

// Spec is the home a fence is written for.
type Spec struct {
	Partition string // aws, aws-us-gov, aws-cn; default aws
	Account   string // the home account, 12 digits
	Qualifier string // the CDK bootstrap qualifier: its roles are named cdk-<Qualifier>-…
	// Deployers may assume the bootstrap's roles from inside the home (role ARN patterns, e.g.
	// an Identity Center permission set's role); none: deployments come from another account.
	Deployers []string
	// Operators may also write the organization's policies and tags from the home (role ARN
	// patterns): a break-glass role, or whoever runs `rootwindow rollout --apply` there.
	Operators []string
}

// DefaultQualifier is the CDK's default bootstrap qualifier.
const DefaultQualifier = "hnb659fds"

var (
	accountID = regexp.MustCompile(`^[0-9]{12}$`)
	// CDK bootstrap qualifiers: up to 10 lower-case letters and digits.
	qualifier = regexp.MustCompile(`^[a-z0-9]{1,10}$`)
	// A role ARN, or a pattern of them, in the home account.
	roleARN   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/*?-]{1,512}$`)
	partition = regexp.MustCompile(`^aws(-[a-z]+)*$`)
)

// Check says what is wrong with the spec, naming the flag-like field.
func (s Spec) Check() error {
	var probs []string
	if s.Partition != "" && !partition.MatchString(s.Partition) {
		probs = append(probs, fmt.Sprintf("partition: %q is not an AWS partition (aws, aws-us-gov, aws-cn)", s.Partition))
	}
	if !accountID.MatchString(s.Account) {
		probs = append(probs, fmt.Sprintf("account: %q is not an account ID (12 digits)", s.Account))
	}
	if !qualifier.MatchString(s.Qualifier) {
		probs = append(probs, fmt.Sprintf("qualifier: %q is not a CDK bootstrap qualifier (1 to 10 lower-case letters and digits)", s.Qualifier))
	}
	for _, named := range []struct {
		field string
		arns  []string
	}{{"deployer", s.Deployers}, {"operator", s.Operators}} {
		field := named.field
		for _, a := range named.arns {
			switch {
			case !roleARN.MatchString(a):
				probs = append(probs, fmt.Sprintf("%s: %q is not a role ARN (arn:aws:iam::<account>:role/<path and name, * allowed>)", field, a))
			case accountID.MatchString(s.Account) && strings.Split(a, ":")[4] != s.Account:
				probs = append(probs, fmt.Sprintf("%s: %q is not a role of the home account %s (the fence binds only its principals)", field, a, s.Account))
			}
		}
	}
	if len(probs) > 0 {
		return errors.New(strings.Join(probs, "; "))
	}
	return nil
}

// changes are the actions that change one of rootwindow's resources, by the kinds of resource the
// stack is made of (infra/stack's tests check that every kind in the synthesized template is
// here). Wildcards only where every action they match is a change to configuration: never one of
// the data-plane calls rootwindow's own roles make (dynamodb:DeleteItem, events:PutEvents, …).
var changes = []string{
	"lambda:Create*", "lambda:Delete*", "lambda:Update*", "lambda:Put*", "lambda:Publish*",
	"lambda:AddPermission", "lambda:RemovePermission", "lambda:TagResource", "lambda:UntagResource",
	"states:Create*", "states:Delete*", "states:Update*", "states:Publish*", "states:TagResource", "states:UntagResource",
	"dynamodb:DeleteTable", "dynamodb:UpdateTable", "dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy",
	"dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTimeToLive", "dynamodb:TagResource", "dynamodb:UntagResource",
	"events:PutRule", "events:DeleteRule", "events:EnableRule", "events:DisableRule", "events:PutTargets", "events:RemoveTargets",
	"events:PutPermission", "events:RemovePermission", "events:CreateEventBus", "events:UpdateEventBus", "events:DeleteEventBus",
	"events:StartReplay", "events:TagResource", "events:UntagResource",
	"sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:AddPermission", "sns:RemovePermission",
	"sns:PutDataProtectionPolicy", "sns:TagResource", "sns:UntagResource",
	"sqs:CreateQueue", "sqs:DeleteQueue", "sqs:SetQueueAttributes", "sqs:PurgeQueue", "sqs:AddPermission", "sqs:RemovePermission",
	"sqs:TagQueue", "sqs:UntagQueue",
	"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:DisableKeyRotation", "kms:CreateGrant",
	"kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias", "kms:TagResource", "kms:UntagResource",
	"apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE", "apigateway:UpdateRestApiPolicy",
	"cloudwatch:PutMetricAlarm", "cloudwatch:PutCompositeAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DisableAlarmActions",
	"cloudwatch:SetAlarmState", "cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards", "cloudwatch:TagResource", "cloudwatch:UntagResource",
	"logs:DeleteLogGroup", "logs:DeleteLogStream", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy",
	"logs:PutSubscriptionFilter", "logs:DeleteSubscriptionFilter", "logs:DeleteMetricFilter", "logs:DisassociateKmsKey",
	"iam:Create*", "iam:Delete*", "iam:Update*", "iam:Put*", "iam:Attach*", "iam:Detach*", "iam:Add*", "iam:Remove*",
	"iam:Tag*", "iam:Untag*", "iam:PassRole",
	"cloudformation:Create*", "cloudformation:Update*", "cloudformation:Delete*", "cloudformation:ExecuteChangeSet",
	"cloudformation:SetStackPolicy", "cloudformation:ContinueUpdateRollback", "cloudformation:CancelUpdateStack",
	"cloudformation:ImportStacksToStackSet", "cloudformation:RollbackStack",
}

// organizationWrites are the Organizations calls that change what the guardrail does: its
// policies, their attachments, the tags owners and eligibility are read from.
var organizationWrites = []string{
	"organizations:AttachPolicy", "organizations:DetachPolicy", "organizations:CreatePolicy", "organizations:UpdatePolicy",
	"organizations:DeletePolicy", "organizations:EnablePolicyType", "organizations:DisablePolicyType",
	"organizations:TagResource", "organizations:UntagResource", "organizations:PutResourcePolicy", "organizations:DeleteResourcePolicy",
}

// Document is the fence SCP for the spec, compact JSON within MaxSize.
func Document(s Spec) (string, error) {
	if s.Partition == "" {
		s.Partition = "aws"
	}
	if err := s.Check(); err != nil {
		return "", err
	}
	role := func(name string) string { return fmt.Sprintf("arn:%s:iam::%s:role/%s", s.Partition, s.Account, name) }
	bootstrap := role("cdk-" + s.Qualifier + "-*")
	own := role(strings.TrimPrefix(RolePath, "/") + "*") // rootwindow's roles
	except := func(arns ...string) map[string]any {
		return map[string]any{"ArnNotLike": map[string]any{"aws:PrincipalArn": arns}}
	}
	type statement struct {
		Sid       string         `json:"Sid"`
		Effect    string         `json:"Effect"`
		Action    []string       `json:"Action"`
		Resource  string         `json:"Resource"`
		Condition map[string]any `json:"Condition"`
	}
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []statement{
			{Sid: "OnlyTheDeploymentChangesRootwindow", Effect: "Deny", Action: changes, Resource: "*", Condition: except(bootstrap)},
			{Sid: "OnlyDeployersAssumeTheDeploymentRoles", Effect: "Deny", Action: []string{"sts:AssumeRole"}, Resource: bootstrap,
				Condition: except(append([]string{bootstrap}, s.Deployers...)...)},
			{Sid: "OnlyRootwindowInvokesItsFunctions", Effect: "Deny", Action: []string{"lambda:InvokeFunction", "lambda:InvokeAsync"}, Resource: "*",
				Condition: except(own)},
			{Sid: "OnlyRootwindowWritesTheOrganization", Effect: "Deny", Action: organizationWrites, Resource: "*",
				Condition: except(append([]string{own}, s.Operators...)...)},
		},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	if len(b) > MaxSize {
		return "", fmt.Errorf("the fence is %d characters, more than an SCP may hold (%d): name fewer deployers and operators, or patterns", len(b), MaxSize)
	}
	return string(b), nil
}
