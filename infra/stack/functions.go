package stack

import (
	"path/filepath"
	"slices"
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
	"github.com/rootwindow/rootwindow/pkg/fence"
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

// FunctionNames are the functions' folders under functions/ and their bundles' under the asset
// folder (bin/<name>/bootstrap, as `make build` writes them).
var FunctionNames = contract.Functions

// functionSpecs say, one row per function, what it is for, how long it may run, what it reads
// beyond the configuration every function reads (pkg/config's environment, the ledger's table,
// the notification bus and topic) and what it may do: "what may detach do?" is its row. Every
// function writes its own log group. The permissions are below, each written once; the settings
// are given their values where the stack makes them (provide).
var functionSpecs = []functionSpec{
	{"Validate", "rootwindow: validate a root access window request and reserve its accounts", 60,
		[]string{contract.EnvEventsRoleARN, contract.EnvAPIRoleARN, contract.EnvStateMachineRoleARN},
		[]permission{useLedger, readOrganization, readGuardrail, auditRootUsers, askGroups, findStarters, answerApprovals, bindToExecution}},
	{"Detach", "rootwindow: lift the root-user guardrail SCP from the request's accounts", 300,
		[]string{contract.EnvStateMachineRoleARN},
		[]permission{useLedger, readOrganization, readGuardrail, askGroups, liftGuardrail, rewriteGuardrail, prepareRootSignIn, bindToExecution}},
	{"Reattach", "rootwindow: put the root-user guardrail SCP back", 300,
		[]string{contract.EnvStateMachineRoleARN},
		[]permission{useLedger, readGuardrail, restoreGuardrail, rewriteGuardrail, bindToExecution}},
	// API Gateway waits at most 29 seconds for an answer. It changes nothing in the organization:
	// an early end stops the window's execution, and the sweeper restores.
	{"Api", "rootwindow: the REST API (request, read, list, end early, cancel)", 29,
		[]string{contract.EnvStateMachineARN},
		[]permission{useLedger, listRequests, readOrganization, readGuardrail, auditRootUsers, askGroups,
			subscribeRequesters, startExecutions, stopExecutions, answerApprovals}},
	{"Sweeper", "rootwindow: safety net: restore windows whose execution ended or that are over; report drift, what root did in each window and outside them", 300,
		[]string{contract.EnvStateMachineARN, contract.EnvOwnRoleARNs, contract.EnvRootSessionRoleARNs, contract.EnvDeploymentRoleARN},
		[]permission{useLedger, listRequests, readOrganization, scanOrganization, readGuardrail, restoreGuardrail, cleanUpWindowPolicies,
			rewriteGuardrail, describeExecutions, deleteRootPasswords, checkOperators, queryRootActivity, findOwnRootSessions}},
}

type functionSpec struct {
	name, description string
	timeout           float64  // seconds
	reads             []string // environment variables beyond the configuration every function reads
	may               []permission
}

// permission is one thing a function may do, granted by the statements of its role.
type permission int

const (
	// useLedger: the ledger's items (and listing them, under exempt or auto: the render reads
	// every open window), and publishing notifications.
	useLedger permission = iota
	// listRequests: the ledger's listing index (GET /requests; the sweep).
	listRequests
	// readOrganization: Organizations' Describe/List reads of accounts, parents, policies and tags,
	// and of the root (whose tags say which deployment claims the guardrail).
	readOrganization
	// readGuardrail: the guardrail's document (checked at booking, before the lift, for drift).
	readGuardrail
	// liftGuardrail: create and tag the window's SCP, swap it for the guardrail on member accounts,
	// and put back what a failed lift took; claim the guardrail for this deployment.
	liftGuardrail
	// restoreGuardrail: the guardrail back on member accounts, the window's SCP detached and deleted.
	restoreGuardrail
	// rewriteGuardrail: the guardrail's document (UpdatePolicy), only when the exempt strategy is
	// in use (liftStrategy exempt or auto).
	rewriteGuardrail
	// cleanUpWindowPolicies: where a window SCP left behind is still attached.
	cleanUpWindowPolicies
	// scanOrganization: the drift scan's reads by parent and the guardrail's targets.
	scanOrganization
	// auditRootUsers and prepareRootSignIn: sts:AssumeRoot with one task policy each, only when
	// centralizedRootAccess (and prepareRootSignIn) is configured.
	auditRootUsers
	prepareRootSignIn
	// deleteRootPasswords: sts:AssumeRoot with IAMDeleteRootUserCredentials, only with
	// prepareRootSignIn: the root password allowed for a window is deleted once it is over.
	deleteRootPasswords
	// askGroups: whether a requester is a member of the Identity Center groups an owner tag names,
	// and a user's ID for the four-eyes rule (identitystore:GetUserId, IsMemberInGroups), only
	// when identityStoreId is configured.
	askGroups
	// checkOperators: whether the operators' email subscription is there and confirmed with
	// authentication (sweeper), only when notificationEmail is configured.
	checkOperators
	// subscribeRequesters: a requester's own subscription to the topic, with rootwindow's filter.
	subscribeRequesters
	// queryRootActivity: queries of the one source of root activity configured (a CloudTrail
	// Lake event data store, or an organization trail's log group), only when one is: window
	// reports and root outside windows.
	queryRootActivity
	// findOwnRootSessions: the AssumeRoot calls of rootwindow's own roles in CloudTrail's event
	// history (cloudtrail:LookupEvents), so that what their root sessions did is not raised as
	// root outside windows; only with centralizedRootAccess and a source of root activity.
	findOwnRootSessions
	// Granted once the state machine and the request rule's start role exist (AllowStart,
	// IdentifyDoors): start executions, stop one a person ended early, and answer approvals (api),
	// find who started an execution (validate: CloudTrail), ask whether one still runs (sweeper).
	startExecutions
	stopExecutions
	answerApprovals
	findStarters
	describeExecutions
	// bindToExecution: ask Step Functions about the execution that invoked the step, and the role
	// its state machine runs as (Seal).
	bindToExecution
)

// NewFunctions creates the Lambdas and their roles, as functionSpecs say.
func NewFunctions(scope constructs.Construct, id string, props *FunctionsProps) *Functions {
	c := constructs.NewConstruct(scope, jsii.String(id))
	cfg := props.Config
	env := map[string]*string{
		contract.EnvTableName:  props.Table.TableName(),
		contract.EnvDeployment: deploymentName(awscdk.Stack_Of(c)),
		contract.EnvEventBus:   jsii.String(NotificationBus),
		contract.EnvTopicARN:   props.Notifications.Topic.TopicArn(),
	}
	for k, v := range cfg.Env() {
		env[k] = jsii.String(v)
	}
	f := &Functions{Construct: c}
	g := newGrants(c, props)
	for _, spec := range functionSpecs {
		fn := newFunction(c, spec, props.AssetDir, env)
		*f.slot(spec.name) = fn
		for _, p := range spec.may {
			g.grant(fn, p)
		}
		g.suppress(fn, spec)
	}
	// The sweeper ignores CloudTrail's events of rootwindow's own lifts and restores.
	own := []*string{f.Detach.Role().RoleArn(), f.Reattach.Role().RoleArn(), f.API.Role().RoleArn(), f.Sweeper.Role().RoleArn()}
	f.provide(contract.EnvOwnRoleARNs, awscdk.Fn_Join(jsii.String(","), &own))
	// The sweeper does not raise what rootwindow's own root sessions did (sts:AssumeRoot by these).
	var rootSessions []*string
	for _, r := range f.rolesThatMay(auditRootUsers, prepareRootSignIn, deleteRootPasswords) {
		rootSessions = append(rootSessions, r.RoleArn())
	}
	f.provide(contract.EnvRootSessionRoleARNs, awscdk.Fn_Join(jsii.String(","), &rootSessions))
	return f
}

// deploymentName names this deployment (contract.EnvDeployment): <account>/<region>/<stack
// name>, the same when the stack is deployed again, different for any other stack.
func deploymentName(stack awscdk.Stack) *string {
	return awscdk.Fn_Join(jsii.String("/"), &[]*string{stack.Account(), stack.Region(), stack.StackName()})
}

// provide gives setting (an environment variable) its value in every function whose spec reads it.
func (f *Functions) provide(setting string, value *string) {
	for _, spec := range functionSpecs {
		if slices.Contains(spec.reads, setting) {
			f.named(spec.name).AddEnvironment(jsii.String(setting), value, nil)
		}
	}
}

// named is the function a spec names.
func (f *Functions) named(name string) awslambda.Function { return *f.slot(name) }

func (f *Functions) slot(name string) *awslambda.Function {
	switch name {
	case "Validate":
		return &f.Validate
	case "Detach":
		return &f.Detach
	case "Reattach":
		return &f.Reattach
	case "Api":
		return &f.API
	case "Sweeper":
		return &f.Sweeper
	}
	panic("no function named " + name)
}

// each runs fn for every function whose spec holds p.
func (f *Functions) each(p permission, fn func(awslambda.Function)) {
	for _, spec := range functionSpecs {
		if slices.Contains(spec.may, p) {
			fn(f.named(spec.name))
		}
	}
}

// HistoryReaders are the roles of the functions that read an execution's input from Step
// Functions (binding a step to its execution; the sweeper's check of an exempt window's
// execution), each once.
func (f *Functions) HistoryReaders() []awsiam.IRole {
	return f.rolesThatMay(bindToExecution, describeExecutions)
}

// rolesThatMay are the roles of the functions whose spec holds any of ps, each once.
func (f *Functions) rolesThatMay(ps ...permission) []awsiam.IRole {
	var roles []awsiam.IRole
	for _, spec := range functionSpecs {
		if slices.ContainsFunc(spec.may, func(p permission) bool { return slices.Contains(ps, p) }) {
			roles = append(roles, f.named(spec.name).Role())
		}
	}
	return roles
}

// newFunction is one Lambda with its own log group and its own role: instead of the managed
// AWSLambdaBasicExecutionRole, it writes its own log group and nothing else.
func newFunction(c constructs.Construct, spec functionSpec, assetDir string, env map[string]*string) awslambda.Function {
	name := spec.name
	logs := awslogs.NewLogGroup(c, jsii.String(name+"Logs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_YEAR,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	role := awsiam.NewRole(c, jsii.String(name+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("rootwindow " + strings.ToLower(name) + " function"),
		// The fence (pkg/fence) knows rootwindow's roles by their path.
		Path: jsii.String(fence.RolePath),
	})
	logs.GrantWrite(role)
	return awslambda.NewFunction(c, jsii.String(name), &awslambda.FunctionProps{
		Role:          role,
		Description:   jsii.String(spec.description),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          awslambda.Code_FromAsset(jsii.String(filepath.Join(assetDir, strings.ToLower(name))), nil),
		MemorySize:    jsii.Number(128),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(spec.timeout)),
		Environment:   &env,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		LogGroup:      logs,
		Tracing:       awslambda.Tracing_ACTIVE,
	})
}

// Organizations actions, by what each function does with them.
var (
	orgReadActions = []string{
		"organizations:ListRoots", "organizations:DescribeOrganization", "organizations:DescribeAccount",
		"organizations:ListPoliciesForTarget", "organizations:ListParents", "organizations:ListTagsForResource",
	}
	ledgerActions = []string{
		"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchGetItem",
	}
)

// grants writes each permission's statements, once.
type grants struct {
	props                                *FunctionsProps
	stack                                awscdk.Stack
	policyArn, accountsArn, anyPolicyArn string
	rootArn                              string // the organization's root (one per organization; its ID is not configured)
	exempt                               bool   // the exempt strategy in use (exempt or auto)
}

func newGrants(c constructs.Construct, props *FunctionsProps) *grants {
	cfg := props.Config
	stack := awscdk.Stack_Of(c)
	// Organizations ARNs carry the management account and the organization ID (both configured:
	// organizationId is required), so they name this organization's resources and no other's.
	// In a delegated administrator account the ARNs still carry the management account's ID.
	var mgmt *string
	if cfg.ManagementAccountID != "" {
		mgmt = jsii.String(cfg.ManagementAccountID)
	}
	arn := func(resource, name string) string {
		return *stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("organizations"), Region: jsii.String(""), Account: mgmt,
			Resource: jsii.String(resource), ResourceName: jsii.String(name),
		})
	}
	return &grants{props: props, stack: stack,
		policyArn: arn("policy", cfg.OrganizationID+"/service_control_policy/"+cfg.GuardrailPolicyID), accountsArn: arn("account", cfg.OrganizationID+"/*"),
		anyPolicyArn: arn("policy", cfg.OrganizationID+"/service_control_policy/p-*"),
		rootArn:      arn("root", cfg.OrganizationID+"/r-*"),
		exempt:       cfg.LiftStrategy != "" && cfg.LiftStrategy != contract.StrategyDetach,
	}
}

func statement(sid string, actions []string, resources ...string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: jsii.Strings(resources...)})
}

// scoped is the guardrail on member accounts, and nothing else.
func (g *grants) scoped(actions ...string) awsiam.PolicyStatement {
	return statement("GuardrailOnMemberAccountsOnly", actions, g.policyArn, g.accountsArn)
}

// windowPolicies: a window's own SCP (see pkg/guardrail) is created by the lift with the
// rootwindow:request tag, and only SCPs with that tag may be attached, detached, read or deleted
// as window SCPs. Organizations authorizes AttachPolicy and DetachPolicy on the policy and on the
// target, each against the statements naming it: the account by scoped, the window's SCP by this
// one (aws:ResourceTag on the policy resource; Service Authorization Reference, AWS
// Organizations). Creating a policy with tags takes TagResource too.
func (g *grants) windowPolicies(sid string, actions ...string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: jsii.Strings(g.anyPolicyArn),
		Conditions: &map[string]any{"Null": map[string]any{"aws:ResourceTag/" + contract.TagWindowRequest: "false"}},
	})
}

// assumeRoot allows sts:AssumeRoot with the given task policies only (sts:TaskPolicyArn, IAM User
// Guide "Centralize root access for member accounts").
func assumeRoot(fn awslambda.Function, tasks ...string) {
	arns := make([]string, len(tasks))
	for i, t := range tasks {
		arns[i] = "arn:" + *awscdk.Aws_PARTITION() + ":iam::aws:policy/root-task/" + t
	}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("AssumeRootForTasks"), Actions: jsii.Strings("sts:AssumeRoot"), Resources: jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": map[string]any{"sts:TaskPolicyArn": arns}},
	}))
}

// grant adds p's statements to fn's role; the permissions granted once the state machine exists
// are AllowStart's and IdentifyDoors'.
func (g *grants) grant(fn awslambda.Function, p permission) {
	cfg, table := g.props.Config, *g.props.Table.TableArn()
	add := func(st awsiam.PolicyStatement) { fn.AddToRolePolicy(st) }
	switch p {
	case useLedger:
		add(statement("Ledger", ledgerActions, table))
		g.props.Notifications.GrantPublish(fn)
		if g.exempt {
			g.grant(fn, listRequests)
		}
	case listRequests:
		add(statement("ListRequests", []string{"dynamodb:Query"}, table+"/index/"+contract.ByCreatedIndex))
	case readOrganization:
		add(statement("ReadOrganization", orgReadActions, "*"))
	case readGuardrail:
		add(statement("ReadGuardrail", []string{"organizations:DescribePolicy"}, g.policyArn))
	case liftGuardrail:
		add(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("CreateWindowPolicies"),
			Actions:    jsii.Strings("organizations:CreatePolicy", "organizations:TagResource"),
			Resources:  jsii.Strings(g.anyPolicyArn),
			Conditions: &map[string]any{"Null": map[string]any{"aws:RequestTag/" + contract.TagWindowRequest: "false"}},
		}))
		add(g.windowPolicies("WindowPoliciesOnly", "organizations:AttachPolicy", "organizations:DetachPolicy", "organizations:DescribePolicy", "organizations:DeletePolicy"))
		add(statement("FindWindowPolicies", []string{"organizations:ListPolicies"}, "*"))
		// The window SCPs' tag is what the statements above trust: the guardrail never gets it.
		add(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("NeverTagTheGuardrail"), Effect: awsiam.Effect_DENY,
			Actions: jsii.Strings("organizations:TagResource", "organizations:UntagResource"), Resources: jsii.Strings(g.policyArn),
		}))
		// What a lift failing part-way took, it puts back.
		add(g.scoped("organizations:DetachPolicy", "organizations:AttachPolicy"))
		// One guardrail, one deployment (pkg/guardrail, claim.go): the first lift claims the
		// guardrail with a tag on the organization's root valued with this deployment's name,
		// only where the root carries no claim on it yet (aws:ResourceTag on the root resource
		// type), so that no deployment takes over another's claim.
		key := contract.TagGuardrailClaim + cfg.GuardrailPolicyID
		add(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("ClaimTheGuardrail"), Actions: jsii.Strings("organizations:TagResource"), Resources: jsii.Strings(g.rootArn),
			Conditions: &map[string]any{
				"Null":                      map[string]any{"aws:ResourceTag/" + key: "true"},
				"StringEquals":              map[string]any{"aws:RequestTag/" + key: deploymentName(g.stack)},
				"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": []string{key}},
			},
		}))
	case restoreGuardrail:
		add(g.windowPolicies("WindowPoliciesOnly", "organizations:DetachPolicy", "organizations:DescribePolicy", "organizations:DeletePolicy"))
		add(statement("FindWindowPolicies", []string{"organizations:ListPolicies"}, "*"))
		add(g.scoped("organizations:AttachPolicy"))
	case cleanUpWindowPolicies:
		add(g.windowPolicies("WindowPoliciesTargets", "organizations:ListTargetsForPolicy"))
	case rewriteGuardrail:
		if g.exempt {
			add(statement("RewriteGuardrail", []string{"organizations:UpdatePolicy"}, g.policyArn))
		}
	case scanOrganization:
		add(statement("ScanOrganization", []string{"organizations:ListOrganizationalUnitsForParent", "organizations:ListAccountsForParent"}, "*"))
		add(statement("ScanGuardrailTargets", []string{"organizations:ListTargetsForPolicy"}, g.policyArn))
	case auditRootUsers:
		if cfg.CentralizedRoot {
			assumeRoot(fn, "IAMAuditRootUserCredentials")
		}
	case prepareRootSignIn:
		if cfg.CentralizedRoot && cfg.PrepareRootSignIn {
			assumeRoot(fn, "IAMCreateRootUserPassword")
		}
	case deleteRootPasswords:
		if cfg.CentralizedRoot && cfg.PrepareRootSignIn {
			assumeRoot(fn, "IAMDeleteRootUserCredentials")
		}
	case askGroups:
		if cfg.IdentityStoreID != "" {
			// The identity store's ARN carries the account Identity Center runs in (the
			// management account); users, groups and memberships have no account (Service
			// Authorization Reference, AWS Identity Store).
			ids, home := "arn:"+*awscdk.Aws_PARTITION()+":identitystore:::", *g.stack.Account()
			if cfg.ManagementAccountID != "" {
				home = cfg.ManagementAccountID
			}
			add(statement("OwnersByGroup", []string{"identitystore:GetUserId", "identitystore:IsMemberInGroups"},
				"arn:"+*awscdk.Aws_PARTITION()+":identitystore::"+home+":identitystore/"+cfg.IdentityStoreID,
				ids+"user/*", ids+"group/*", ids+"membership/*"))
			suppress(fn.Role(), "AwsSolutions-IAM5", "identitystore:GetUserId and IsMemberInGroups, read-only, in the one configured identity store: the requester's user and the groups owner tags name are known only at request time",
				"Resource::arn:<AWS::Partition>:identitystore:::user/*", "Resource::arn:<AWS::Partition>:identitystore:::group/*", "Resource::arn:<AWS::Partition>:identitystore:::membership/*")
		}
	case checkOperators:
		if cfg.NotificationEmail != "" {
			add(statement("CheckOperatorsSubscription", []string{"sns:ListSubscriptionsByTopic", "sns:GetSubscriptionAttributes"}, *g.props.Notifications.Topic.TopicArn()))
		}
	case subscribeRequesters:
		add(statement("SubscribeRequesters", []string{"sns:Subscribe"}, *g.props.Notifications.Topic.TopicArn()))
	case findOwnRootSessions:
		if cfg.CentralizedRoot && (cfg.TrailEventDataStore != "" || cfg.TrailLogGroup != "") {
			add(statement("FindOwnRootSessions", []string{"cloudtrail:LookupEvents"}, "*"))
		}
	case queryRootActivity:
		if cfg.TrailEventDataStore != "" {
			// StartQuery and GetQueryResults act on an event data store (Service Authorization
			// Reference, AWS CloudTrail): this one alone.
			add(statement("QueryRootActivity", []string{"cloudtrail:StartQuery", "cloudtrail:GetQueryResults"}, cfg.TrailEventDataStore))
		}
		if cfg.TrailLogGroup != "" {
			// StartQuery acts on a log group (this one); GetQueryResults names a query ID, no
			// resource (Service Authorization Reference, Amazon CloudWatch Logs).
			group := strings.TrimSuffix(cfg.TrailLogGroup, ":*")
			add(statement("QueryRootActivityInLogs", []string{"logs:StartQuery"}, group, group+":*"))
			add(statement("ReadRootActivityQueries", []string{"logs:GetQueryResults"}, "*"))
		}
	}
}

// suppress records, for cdk-nag, why fn's role names what it names.
func (g *grants) suppress(fn awslambda.Function, spec functionSpec) {
	mgmt := managementOf(g.stack, g.props.Config)
	suppress(fn.Role(), "AwsSolutions-IAM5", "X-Ray's PutTraceSegments and PutTelemetryRecords, CloudTrail's LookupEvents (validate: who started an execution; sweeper, with centralizedRootAccess: rootwindow's own AssumeRoot calls), Step Functions' SendTaskSuccess/SendTaskFailure (api, validate: an approver's decision) and CloudWatch Logs' GetQueryResults (sweeper, with trailLogGroupArn: a query by its ID) have no resource to scope to; the Organizations Describe/List reads (validate, detach: the booking's checks again, api, sweeper) act on the whole organization by nature and change nothing",
		"Resource::*")
	org := g.props.Config.OrganizationID
	suppress(fn.Role(), "AwsSolutions-IAM5", "Any member account may be given a window, so attach/detach (of the guardrail policy only, per the statement's other resource) must apply to every account of the configured organization",
		"Resource::arn:<AWS::Partition>:organizations::"+mgmt+":account/"+org+"/*")
	if group := strings.TrimSuffix(g.props.Config.TrailLogGroup, ":*"); group != "" && slices.Contains(spec.may, queryRootActivity) {
		suppress(fn.Role(), "AwsSolutions-IAM5", "CloudWatch Logs names a log group's events <log group ARN>:*: StartQuery on the one log group the organization trail delivers to",
			"Resource::"+group+":*")
	}
	if slices.Contains(spec.may, liftGuardrail) {
		suppress(fn.Role(), "AwsSolutions-IAM5", "An organization has one root, whose ID is not configured: the claim on the guardrail is a tag on it, which the statement's conditions allow only where the root carries no claim yet, with this deployment's name",
			"Resource::arn:<AWS::Partition>:organizations::"+mgmt+":root/"+org+"/r-*")
	}
	if slices.Contains(spec.may, liftGuardrail) || slices.Contains(spec.may, restoreGuardrail) {
		suppress(fn.Role(), "AwsSolutions-IAM5", "A window's SCP gets its ID when the lift creates it: the statement names any SCP of the organization and its condition admits only those tagged rootwindow:request (created by the lift with that tag)",
			"Resource::arn:<AWS::Partition>:organizations::"+mgmt+":policy/"+org+"/service_control_policy/p-*")
	}
}

// AllowStart gives the API function the state machine to start, and the right to start it and to
// stop an execution a person ended early; the sweeper the right to ask whether a request's
// execution still runs (a request holding its
// accounts with no execution running is settled at once); and the functions that answer
// approvals the right to.
func (f *Functions) AllowStart(sm sfn.StateMachine) {
	f.provide(contract.EnvStateMachineARN, sm.StateMachineArn())
	f.each(startExecutions, func(fn awslambda.Function) {
		sm.GrantStartExecution(fn)
	})
	onExecutions := func(p permission, action string) {
		f.each(p, func(fn awslambda.Function) {
			sm.GrantExecution(fn, jsii.String(action))
			cdknag.NagSuppressions_AddResourceSuppressions(fn.Role(), &[]*cdknag.NagPackSuppression{{
				Id:        jsii.String("AwsSolutions-IAM5"),
				Reason:    jsii.String(action + " on the executions of rootwindow's one state machine (execution:<name>:*), as CDK grants it: a request's execution is named by its ID, unknown until it is made"),
				AppliesTo: &[]any{map[string]any{"regex": "/^Resource::arn:<AWS::Partition>:states:.*:execution:.*:\\*$/"}},
			}}, jsii.Bool(true))
		})
	}
	onExecutions(describeExecutions, "states:DescribeExecution")
	// An early end stops the window's execution; its status change brings the sweeper, which
	// restores the guardrail.
	onExecutions(stopExecutions, "states:StopExecution")
	// An approver's decision resumes the execution waiting on its task token (api), or Validate
	// sends one made before the execution asked. SendTaskSuccess and SendTaskFailure support no
	// resource-level permissions (Service Authorization Reference, AWS Step Functions: no resource
	// types): the token, kept only in the ledger, is the capability, and the lift checks the
	// approver against the ledger's record, which only rootwindow writes.
	f.each(answerApprovals, func(fn awslambda.Function) {
		fn.AddToRolePolicy(statement("AnswerApprovals", []string{"states:SendTaskSuccess", "states:SendTaskFailure"}, "*"))
	})
}

// Seal lets only the state machine's role invoke the workflow's functions (validate, detach,
// reattach): each one's own resource-based policy denies invoking it to every other principal.
// An explicit Deny in a resource policy is not overridden by any identity policy (IAM User Guide,
// "Policy evaluation logic"), so a principal of the account holding lambda:InvokeFunction (a
// PowerUser, say) cannot run a step with an input no execution carries: replaying another
// person's console execution, lifting without Validate's decision or before the start. Lambda's
// AWS::Lambda::ResourcePolicy takes a whole policy, Deny statements included (AWS Lambda
// Developer Guide, "Granting Lambda function access to AWS services"); these functions have no
// other resource policy, nothing invokes them but the state machine, and the state machine
// invokes them with its role, whose ARN is aws:PrincipalArn for its sessions.
func (f *Functions) Seal(stateMachineRole awsiam.IRole) {
	f.bindTo(stateMachineRole)
	for _, fn := range []awslambda.Function{f.Validate, f.Detach, f.Reattach} {
		awslambda.NewCfnResourcePolicy(fn, jsii.String("OnlyTheStateMachine"), &awslambda.CfnResourcePolicyProps{
			ResourceArn: fn.FunctionArn(),
			PolicyDocument: map[string]any{
				"Version": "2012-10-17",
				"Statement": []any{map[string]any{
					"Sid": "OnlyRootwindowsStateMachine", "Effect": "Deny", "Principal": "*",
					"Action":    []string{"lambda:InvokeFunction", "lambda:InvokeAsync"},
					"Resource":  fn.FunctionArn(),
					"Condition": map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": stateMachineRole.RoleArn()}},
				}},
			},
		})
	}
}

// bindTo lets validate and detach bind themselves to the execution that invoked them
// (window.Bind): DescribeExecution, and DescribeStateMachine for the role it runs as, which they
// compare with stateMachineRole. Both on this account's and region's state machines and their
// executions: the state machine's own ARN would make a cycle (it names the functions), and
// knowing it by its role needs no name.
func (f *Functions) bindTo(stateMachineRole awsiam.IRole) {
	st := awscdk.Stack_Of(f.Validate)
	arn := func(kind string) *string {
		return awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":states:"), st.Region(),
			jsii.String(":"), st.Account(), jsii.String(":" + kind + ":*")})
	}
	f.provide(contract.EnvStateMachineRoleARN, stateMachineRole.RoleArn())
	f.each(bindToExecution, func(fn awslambda.Function) {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("BindToItsExecution"), Actions: jsii.Strings("states:DescribeExecution", "states:DescribeStateMachine"),
			Resources: &[]*string{arn("execution"), arn("stateMachine")},
		}))
		cdknag.NagSuppressions_AddResourceSuppressions(fn.Role(), &[]*cdknag.NagPackSuppression{{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("states:DescribeExecution and DescribeStateMachine, read-only, on this account's executions and state machines: the step binds itself to the execution that invoked it, knowing rootwindow's state machine by its role (its ARN would make a cycle)"),
			AppliesTo: &[]any{map[string]any{"regex": "/^Resource::arn:<AWS::Partition>:states:.*:(execution|stateMachine):\\*$/"}},
		}}, jsii.Bool(true))
	})
}

// IdentifyDoors lets Validate find who started an execution (CloudTrail's LookupEvents, which
// has no resource to scope to) and tell the doors apart by the starter's role: eventsRole for
// the request rule, the api function's role for the API, anyone else the console.
func (f *Functions) IdentifyDoors(eventsRole awsiam.IRole) {
	f.provide(contract.EnvEventsRoleARN, eventsRole.RoleArn())
	f.provide(contract.EnvAPIRoleARN, f.API.Role().RoleArn())
	f.each(findStarters, func(fn awslambda.Function) {
		fn.AddToRolePolicy(statement("WhoStartedTheExecution", []string{"cloudtrail:LookupEvents"}, "*"))
	})
}
