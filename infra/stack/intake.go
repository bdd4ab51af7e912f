package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// The EventBridge request channel's contract.
const (
	RequestSource     = "rootwindow.requests"
	RequestDetailType = "Root Access Window Requested"
)

// IntakeProps configures the EventBridge request channel.
type IntakeProps struct {
	StateMachine sfn.IStateMachine
	// Integrations are the principal ARNs that may put requests on the bus.
	Integrations []string
	// DeploymentRole alone may manage the bus's rules (DeploymentRoleOf).
	DeploymentRole string
}

// Intake is the EventBridge request channel: a custom bus that only the configured integration
// principals may put requests on, and a rule that starts the state machine with each one.
type Intake struct {
	constructs.Construct
	Bus         awsevents.EventBus
	Rule        awsevents.Rule
	DeadLetters awssqs.Queue
	// StartRole is the role the rule starts executions with: Validate knows the EventBridge door
	// by it (CloudTrail names it as the starter).
	StartRole awsiam.Role
}

// NewIntake creates the request bus, its rule and the rule's dead-letter queue.
func NewIntake(scope constructs.Construct, id string, props *IntakeProps) *Intake {
	c := constructs.NewConstruct(scope, jsii.String(id))
	bus := awsevents.NewEventBus(c, jsii.String("Bus"), &awsevents.EventBusProps{
		Description: jsii.String("rootwindow: requests for root access windows (source " + RequestSource + ")"),
	})
	// Nobody but the named integrations may put events on this bus, not even a principal of this
	// account whose IAM policy allows events:PutEvents (an explicit deny in the bus policy wins),
	// and they only requests. aws:PrincipalArn is the role's ARN for a role's sessions.
	deny := awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OnlyIntegrationsPutRequests"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("events:PutEvents"),
		Resources:  jsii.Strings(*bus.EventBusArn()),
	})
	if len(props.Integrations) > 0 {
		deny.AddCondition(jsii.String("ArnNotEquals"), map[string]any{"aws:PrincipalArn": props.Integrations})
		principals := make([]awsiam.IPrincipal, len(props.Integrations))
		for i, arn := range props.Integrations {
			principals[i] = awsiam.NewArnPrincipal(jsii.String(arn))
		}
		bus.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("IntegrationsPutRequests"),
			Principals: &principals,
			Actions:    jsii.Strings("events:PutEvents"),
			Resources:  jsii.Strings(*bus.EventBusArn()),
			Conditions: &map[string]any{"StringEquals": map[string]any{
				"events:source": contract.RequestSource, "events:detail-type": contract.RequestDetailType,
			}},
		}))
	}
	bus.AddToResourcePolicy(deny)
	// Nor may anyone but the deployment manage the bus's rules: a principal of this account who
	// could point the request rule at another target, or add a rule of their own on this bus,
	// would decide what starts rootwindow's executions. A bus policy governs PutRule, PutTargets,
	// DeleteRule, RemoveTargets, DisableRule and EnableRule for the rules on it (EventBridge User
	// Guide, "Permissions for event buses in Amazon EventBridge").
	bus.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OnlyTheDeploymentManagesRules"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("events:PutRule", "events:DeleteRule", "events:PutTargets", "events:RemoveTargets", "events:DisableRule", "events:EnableRule"),
		Resources: &[]*string{awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":events:"),
			awscdk.Stack_Of(c).Region(), jsii.String(":"), awscdk.Stack_Of(c).Account(), jsii.String(":rule/"), bus.EventBusName(), jsii.String("/*")})},
		Conditions: &map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": props.DeploymentRole}},
	}))
	dlq := awssqs.NewQueue(c, jsii.String("DeadLetters"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	suppress(dlq, "AwsSolutions-SQS3", "This queue is itself the dead-letter queue of the request rule and the safety-net rules; its depth raises an alarm")
	rule := awsevents.NewRule(c, jsii.String("Requests"), &awsevents.RuleProps{
		Description: jsii.String("rootwindow: start a root access window workflow for each request"),
		EventBus:    bus,
		EventPattern: &awsevents.EventPattern{
			Source: jsii.Strings(RequestSource), DetailType: jsii.Strings(RequestDetailType),
		},
	})
	// The execution's name is chosen by EventBridge, so the event ID travels in the origin: the
	// Validate step recognises a second delivery of the same event by it.
	// EventBridge assumes it for a rule on the request bus of this account, and for no other rule
	// (aws:SourceArn, aws:SourceAccount: IAM User Guide, "The confused deputy problem"): a rule of
	// someone else's, on another bus, cannot start executions as the EventBridge door. (The rule's
	// own ARN would make a cycle: the rule names the role.)
	st := awscdk.Stack_Of(c)
	rulesOnTheBus := awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":events:"), st.Region(),
		jsii.String(":"), st.Account(), jsii.String(":rule/"), bus.EventBusName(), jsii.String("/*")})
	startRole := awsiam.NewRole(c, jsii.String("StartRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil).WithConditions(&map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": st.Account()},
			"ArnLike":      map[string]any{"aws:SourceArn": rulesOnTheBus},
		}),
		Description: jsii.String("rootwindow: the request rule starts executions with this role, and only it"),
	})
	rule.AddTarget(awseventstargets.NewSfnStateMachine(props.StateMachine, &awseventstargets.SfnStateMachineProps{
		Role: startRole,
		Input: awsevents.RuleTargetInput_FromObject(map[string]any{
			"request": awsevents.EventField_FromPath(jsii.String("$.detail")),
			"origin": map[string]any{
				"channel": contract.ChannelEventBridge, "eventId": awsevents.EventField_EventId(),
				"sourceAccount": awsevents.EventField_Account(),
			},
		}),
		DeadLetterQueue: dlq,
		RetryAttempts:   jsii.Number(24),
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(24)),
	}))
	return &Intake{Construct: c, Bus: bus, Rule: rule, DeadLetters: dlq, StartRole: startRole}
}
