package stack

import (
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/contract"
)

// FunctionsProps configures the Lambdas.
type FunctionsProps struct {
	Config        config.Settings
	Table         awsdynamodb.Table
	Notifications *Notifications
	// AssetDir holds one folder per function, each with its `bootstrap` (built by `make build`).
	AssetDir string
}

// Functions are the workflow's Lambdas, each with its own role holding only its own actions.
type Functions struct {
	constructs.Construct
	Validate, Detach, Reattach awslambda.Function
	// API serves the REST API; it needs the state machine's ARN (see AllowStart).
	API awslambda.Function
	// Sweeper is the safety net: status changes and the schedule.
	Sweeper awslambda.Function
}

// Organizations actions, by what each function does with them.
var (
	orgReadActions = []string{
		"organizations:DescribeOrganization", "organizations:DescribeAccount",
		"organizations:ListPoliciesForTarget", "organizations:ListParents", "organizations:ListTagsForResource",
	}
	ledgerActions = []string{
		"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchGetItem",
	}
)

// FunctionNames are the functions' folders under functions/ and their bundles' under the asset
// folder (bin/<name>/bootstrap, as `make build` writes them).
var FunctionNames = []string{"validate", "detach", "reattach", "api", "sweeper"}

// NewFunctions creates the Lambdas and their roles.
func NewFunctions(scope constructs.Construct, id string, props *FunctionsProps) *Functions {
	c := constructs.NewConstruct(scope, jsii.String(id))
	cfg := props.Config
	env := map[string]*string{
		contract.EnvTableName: props.Table.TableName(),
		contract.EnvEventBus:  jsii.String(NotificationBus),
		contract.EnvTopicARN:  props.Notifications.Topic.TopicArn(),
	}
	for k, v := range cfg.Env() {
		env[k] = jsii.String(v)
	}
	newFn := func(name, description string, timeout float64) awslambda.Function {
		logs := awslogs.NewLogGroup(c, jsii.String(name+"Logs"), &awslogs.LogGroupProps{
			Retention:     awslogs.RetentionDays_ONE_YEAR,
			RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		})
		// Its own role instead of the managed AWSLambdaBasicExecutionRole: it writes its own log
		// group and nothing else.
		role := awsiam.NewRole(c, jsii.String(name+"Role"), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String("rootwindow " + strings.ToLower(name) + " function"),
		})
		logs.GrantWrite(role)
		return awslambda.NewFunction(c, jsii.String(name), &awslambda.FunctionProps{
			Role:          role,
			Description:   jsii.String(description),
			Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
			Architecture:  awslambda.Architecture_ARM_64(),
			Handler:       jsii.String("bootstrap"),
			Code:          awslambda.Code_FromAsset(jsii.String(filepath.Join(props.AssetDir, strings.ToLower(name))), nil),
			MemorySize:    jsii.Number(128),
			Timeout:       awscdk.Duration_Seconds(jsii.Number(timeout)),
			Environment:   &env,
			LoggingFormat: awslambda.LoggingFormat_JSON,
			LogGroup:      logs,
			Tracing:       awslambda.Tracing_ACTIVE,
		})
	}
	f := &Functions{
		Construct: c,
		Validate:  newFn("Validate", "rootwindow: validate a root access window request and reserve its accounts", 60),
		Detach:    newFn("Detach", "rootwindow: lift the root-user guardrail SCP from the request's accounts", 300),
		Reattach:  newFn("Reattach", "rootwindow: put the root-user guardrail SCP back", 300),
		// API Gateway waits at most 29 seconds for an answer.
		API:     newFn("Api", "rootwindow: the REST API (request, read, list, end early, cancel)", 29),
		Sweeper: newFn("Sweeper", "rootwindow: safety net: restore windows whose execution ended or that are over; report drift", 300),
	}

	stack := awscdk.Stack_Of(c)
	// Organizations ARNs carry the management account and the organization ID; the latter is not
	// known at synth, so it is the only wildcard.
	// In a delegated administrator account the ARNs still carry the management account's ID.
	var mgmt *string
	if cfg.ManagementAccountID != "" {
		mgmt = jsii.String(cfg.ManagementAccountID)
	}
	policyArn := stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("organizations"), Region: jsii.String(""), Account: mgmt,
		Resource: jsii.String("policy"), ResourceName: jsii.String("o-*/service_control_policy/" + cfg.GuardrailPolicyID),
	})
	accountsArn := stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("organizations"), Region: jsii.String(""), Account: mgmt,
		Resource: jsii.String("account"), ResourceName: jsii.String("o-*/*"),
	})
	scoped := func(actions ...string) awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("GuardrailOnMemberAccountsOnly"),
			Actions:   jsii.Strings(actions...),
			Resources: jsii.Strings(*policyArn, *accountsArn),
		})
	}
	// A window's own SCP (see pkg/guardrail) is created by the lift with the rootwindow:request
	// tag, and only SCPs with that tag may be attached, detached, read or deleted as window SCPs.
	// Organizations authorizes AttachPolicy and DetachPolicy on the policy and on the target, each
	// against the statements naming it: the account by the statement above, the window's SCP by
	// this one (aws:ResourceTag on the policy resource; Service Authorization Reference, AWS
	// Organizations). Creating a policy with tags takes TagResource too.
	anyPolicyArn := stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("organizations"), Region: jsii.String(""), Account: mgmt,
		Resource: jsii.String("policy"), ResourceName: jsii.String("o-*/service_control_policy/p-*"),
	})
	windowPolicies := func(actions ...string) awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("WindowPoliciesOnly"),
			Actions:    jsii.Strings(actions...),
			Resources:  jsii.Strings(*anyPolicyArn),
			Conditions: &map[string]any{"Null": map[string]any{"aws:ResourceTag/" + contract.TagWindowRequest: "false"}},
		})
	}
	restores := []awslambda.Function{f.Detach, f.Reattach, f.API, f.Sweeper}
	f.Detach.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CreateWindowPolicies"),
		Actions:    jsii.Strings("organizations:CreatePolicy", "organizations:TagResource"),
		Resources:  jsii.Strings(*anyPolicyArn),
		Conditions: &map[string]any{"Null": map[string]any{"aws:RequestTag/" + contract.TagWindowRequest: "false"}},
	}))
	f.Detach.AddToRolePolicy(windowPolicies("organizations:AttachPolicy", "organizations:DetachPolicy", "organizations:DescribePolicy", "organizations:DeletePolicy"))
	f.Reattach.AddToRolePolicy(windowPolicies("organizations:DetachPolicy", "organizations:DescribePolicy", "organizations:DeletePolicy"))
	f.API.AddToRolePolicy(windowPolicies("organizations:DetachPolicy", "organizations:DescribePolicy", "organizations:DeletePolicy"))
	// The sweeper also removes window SCPs left behind: where each is still attached.
	f.Sweeper.AddToRolePolicy(windowPolicies("organizations:DetachPolicy", "organizations:DescribePolicy", "organizations:DeletePolicy", "organizations:ListTargetsForPolicy"))
	for _, fn := range restores {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("FindWindowPolicies"), Actions: jsii.Strings("organizations:ListPolicies"), Resources: jsii.Strings("*"),
		}))
	}

	// Read-only Organizations calls: Describe/List on the organization's own resources.
	// Validate and the API check requests against the organization; the sweeper checks for drift.
	for _, fn := range []awslambda.Function{f.Validate, f.API, f.Sweeper} {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("ReadOrganization"), Actions: jsii.Strings(orgReadActions...), Resources: jsii.Strings("*"),
		}))
	}
	// The sweeper's drift scan reads the whole organization by parent and by policy target: the
	// OU tree, the accounts under each parent, and where the guardrail (alone) is attached.
	f.Sweeper.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("ScanOrganization"), Resources: jsii.Strings("*"),
		Actions: jsii.Strings("organizations:ListRoots", "organizations:ListOrganizationalUnitsForParent", "organizations:ListAccountsForParent"),
	}))
	f.Sweeper.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("ScanGuardrailTargets"), Actions: jsii.Strings("organizations:ListTargetsForPolicy"), Resources: jsii.Strings(*policyArn),
	}))
	// Detach may need to put back what it took when a lift fails part-way; the API's "end"
	// restores the guardrail. Nothing but Detach can lift it.
	f.Detach.AddToRolePolicy(scoped("organizations:DetachPolicy", "organizations:AttachPolicy"))
	// The guardrail's document is checked at booking (validate, api), before the lift (detach) and
	// for drift (sweeper).
	for _, fn := range []awslambda.Function{f.Validate, f.API, f.Detach, f.Reattach, f.Sweeper} {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("ReadGuardrail"), Actions: jsii.Strings("organizations:DescribePolicy"), Resources: jsii.Strings(*policyArn),
		}))
	}
	// The sweeper ignores CloudTrail's events of rootwindow's own lifts and restores.
	own := []*string{f.Detach.Role().RoleArn(), f.Reattach.Role().RoleArn(), f.API.Role().RoleArn(), f.Sweeper.Role().RoleArn()}
	f.Sweeper.AddEnvironment(jsii.String(contract.EnvOwnRoleARNs), awscdk.Fn_Join(jsii.String(","), &own), nil)
	f.Reattach.AddToRolePolicy(scoped("organizations:AttachPolicy"))
	f.API.AddToRolePolicy(scoped("organizations:AttachPolicy"))
	f.Sweeper.AddToRolePolicy(scoped("organizations:AttachPolicy"))
	for _, fn := range []awslambda.Function{f.Validate, f.Detach, f.Reattach, f.API, f.Sweeper} {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("Ledger"), Actions: jsii.Strings(ledgerActions...), Resources: jsii.Strings(*props.Table.TableArn()),
		}))
		props.Notifications.GrantPublish(fn)
	}
	// Centralized root access: the booking (validate, api) audits each account's root user, the
	// lift (detach) may allow password recovery; sts:AssumeRoot only with those task policies
	// (sts:TaskPolicyArn, IAM User Guide "Centralize root access for member accounts").
	if cfg.CentralizedRoot {
		assumeRoot := func(fn awslambda.Function, tasks ...string) {
			arns := make([]string, len(tasks))
			for i, t := range tasks {
				arns[i] = "arn:" + *awscdk.Aws_PARTITION() + ":iam::aws:policy/root-task/" + t
			}
			fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid: jsii.String("AssumeRootForTasks"), Actions: jsii.Strings("sts:AssumeRoot"), Resources: jsii.Strings("*"),
				Conditions: &map[string]any{"StringEquals": map[string]any{"sts:TaskPolicyArn": arns}},
			}))
		}
		assumeRoot(f.Validate, "IAMAuditRootUserCredentials")
		assumeRoot(f.API, "IAMAuditRootUserCredentials")
		if cfg.PrepareRootSignIn {
			assumeRoot(f.Detach, "IAMCreateRootUserPassword")
		}
	}
	// A requester's own subscription to the topic, filtered on the requester attribute (the api
	// function makes it, so that the filter policy is rootwindow's).
	f.API.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("SubscribeRequesters"), Actions: jsii.Strings("sns:Subscribe"), Resources: jsii.Strings(*props.Notifications.Topic.TopicArn()),
	}))
	listers := []awslambda.Function{f.API, f.Sweeper}
	if cfg.LiftStrategy != "" && cfg.LiftStrategy != contract.StrategyDetach {
		// The exempt strategy rewrites the guardrail's document from the ledger's open windows:
		// every function that lifts or restores reads the leases and writes the document (the
		// guardrail alone), and validate renders it to check the size quota.
		listers = []awslambda.Function{f.Validate, f.Detach, f.Reattach, f.API, f.Sweeper}
		for _, fn := range restores {
			fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid: jsii.String("RewriteGuardrail"), Actions: jsii.Strings("organizations:UpdatePolicy"), Resources: jsii.Strings(*policyArn),
			}))
		}
	}
	for _, fn := range listers {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("ListRequests"), Actions: jsii.Strings("dynamodb:Query"),
			Resources: jsii.Strings(*props.Table.TableArn() + "/index/" + contract.ByCreatedIndex),
		}))
	}
	for _, fn := range []awslambda.Function{f.Validate, f.Detach, f.Reattach, f.API, f.Sweeper} {
		suppress(fn.Role(), "AwsSolutions-IAM5", "X-Ray's PutTraceSegments and PutTelemetryRecords, CloudTrail's LookupEvents (validate: who started an execution) and Step Functions' SendTaskSuccess/SendTaskFailure (api, validate: an approver's decision) have no resource to scope to; the Organizations Describe/List reads (validate, api, sweeper) act on the whole organization by nature and change nothing",
			"Resource::*")
		suppress(fn.Role(), "AwsSolutions-IAM5", "Organizations ARNs embed the organization ID, unknown at synth; a management account has exactly one organization, so o-* names it. The policy part names the guardrail SCP alone",
			"Resource::arn:<AWS::Partition>:organizations::"+managementOf(stack, cfg)+":policy/o-*/service_control_policy/"+cfg.GuardrailPolicyID)
		suppress(fn.Role(), "AwsSolutions-IAM5", "Any member account may be given a window, so attach/detach (of the guardrail policy only, per the statement's other resource) must apply to every account of the one organization",
			"Resource::arn:<AWS::Partition>:organizations::"+managementOf(stack, cfg)+":account/o-*/*")
	}
	for _, fn := range restores {
		suppress(fn.Role(), "AwsSolutions-IAM5", "A window's SCP gets its ID when the lift creates it: the statement names any SCP of the organization and its condition admits only those tagged rootwindow:request (created by the lift with that tag)",
			"Resource::arn:<AWS::Partition>:organizations::"+managementOf(stack, cfg)+":policy/o-*/service_control_policy/p-*")
	}
	return f
}

// AllowStart gives the API function the state machine to start, and the right to start it; and
// the sweeper the right to ask whether a request's execution still runs (a request holding its
// accounts with no execution running is settled at once).
func (f *Functions) AllowStart(sm sfn.StateMachine) {
	f.API.AddEnvironment(jsii.String(contract.EnvStateMachineARN), sm.StateMachineArn(), nil)
	sm.GrantStartExecution(f.API)
	f.Sweeper.AddEnvironment(jsii.String(contract.EnvStateMachineARN), sm.StateMachineArn(), nil)
	sm.GrantExecution(f.Sweeper, jsii.String("states:DescribeExecution"))
	// An approver's decision resumes the execution waiting on its task token (api), or Validate
	// sends one made before the execution asked. SendTaskSuccess and SendTaskFailure support no
	// resource-level permissions (Service Authorization Reference, AWS Step Functions: no resource
	// types): the token, kept only in the ledger, is the capability, and the lift checks the
	// approver against the ledger's record, which only rootwindow writes.
	for _, fn := range []awslambda.Function{f.API, f.Validate} {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("AnswerApprovals"), Actions: jsii.Strings("states:SendTaskSuccess", "states:SendTaskFailure"), Resources: jsii.Strings("*"),
		}))
	}
	cdknag.NagSuppressions_AddResourceSuppressions(f.Sweeper.Role(), &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("states:DescribeExecution on the executions of rootwindow's one state machine (execution:<name>:*), as CDK grants it: a request's execution is named by its ID, unknown until it is made"),
		AppliesTo: &[]any{map[string]any{"regex": "/^Resource::arn:<AWS::Partition>:states:.*:execution:.*:\\*$/"}},
	}}, jsii.Bool(true))
}

// IdentifyDoors lets Validate find who started an execution (CloudTrail's LookupEvents, which
// has no resource to scope to) and tell the doors apart by the starter's role: eventsRole for
// the request rule, the api function's role for the API, anyone else the console.
func (f *Functions) IdentifyDoors(eventsRole awsiam.IRole) {
	f.Validate.AddEnvironment(jsii.String(contract.EnvEventsRoleARN), eventsRole.RoleArn(), nil)
	f.Validate.AddEnvironment(jsii.String(contract.EnvAPIRoleARN), f.API.Role().RoleArn(), nil)
	f.Validate.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("WhoStartedTheExecution"), Actions: jsii.Strings("cloudtrail:LookupEvents"), Resources: jsii.Strings("*"),
	}))
}
