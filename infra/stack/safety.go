package stack

import (
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// SweepEvery is how often the sweeper runs.
const SweepEvery = 5 // minutes

// SafetyNetProps configures the safety net.
type SafetyNetProps struct {
	Functions     *Functions
	StateMachine  sfn.StateMachine
	Notifications *Notifications
	DeadLetters   awssqs.IQueue
	// GuardrailPolicyID is the guardrail whose changes are checked at once.
	GuardrailPolicyID string
	// Watched are rootwindow's own resources whose changes by anyone but the deployment alarm.
	Watched *Watched
}

// SafetyNet restores the guardrail whatever happens to one execution, and raises alarms a person
// cannot miss: a rule on the state machine's failed, timed-out and aborted executions, the
// sweeper's schedule, and CloudWatch alarms to the operators' topic.
type SafetyNet struct {
	constructs.Construct
	StatusRule, Schedule, ChangeRule awsevents.Rule
	// WatchRules send changes to rootwindow's own resources to the sweeper (ResourcesChanged).
	WatchRules []awsevents.Rule
	Alarms     map[string]awscloudwatch.Alarm
}

// NewSafetyNet creates the rules and the alarms.
func NewSafetyNet(scope constructs.Construct, id string, props *SafetyNetProps) *SafetyNet {
	c := constructs.NewConstruct(scope, jsii.String(id))
	sm, sweeper := props.StateMachine, props.Functions.Sweeper
	target := func() awsevents.IRuleTarget {
		return awseventstargets.NewLambdaFunction(sweeper, &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: props.DeadLetters, RetryAttempts: jsii.Number(24), MaxEventAge: awscdk.Duration_Hours(jsii.Number(24)),
		})
	}
	statusRule := awsevents.NewRule(c, jsii.String("ExecutionEnded"), &awsevents.RuleProps{
		Description: jsii.String("rootwindow: restore the guardrail when an execution fails, times out or is stopped"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.states"),
			DetailType: jsii.Strings(contract.DetailTypeStatusChange),
			Detail: &map[string]any{
				"status":          []string{"FAILED", "TIMED_OUT", "ABORTED"},
				"stateMachineArn": []*string{sm.StateMachineArn()},
			},
		},
	})
	statusRule.AddTarget(target())
	// A rescue whose invocation fails past Lambda's own retries is not dropped: it goes to the
	// dead-letter queue, whose depth is alarmed (EventBridge's retries and DLQ cover delivery; this
	// covers the function failing once delivered).
	sweeper.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		OnFailure:     awslambdadestinations.NewSqsDestination(props.DeadLetters),
		RetryAttempts: jsii.Number(2),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(6)),
	})
	// Someone else changing the guardrail (its document, or its attachments) is checked at once.
	// Organizations is served from us-east-1 and its CloudTrail events reach EventBridge there,
	// and only with a CloudTrail trail logging management events ("To record events with a
	// detail-type value of AWS API Call via CloudTrail, a CloudTrail trail with logging enabled
	// is required", EventBridge User Guide); elsewhere, or without a trail, the five-minute sweep
	// still checks the document and the attachments.
	changes := awsevents.NewRule(c, jsii.String("GuardrailChanges"), &awsevents.RuleProps{
		Description: jsii.String("rootwindow: check the guardrail at once when someone changes it or its attachments"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(contract.SourceOrganizations),
			DetailType: jsii.Strings(contract.DetailTypeAPICall),
			Detail: &map[string]any{
				"eventSource":       []string{"organizations.amazonaws.com"},
				"eventName":         []string{"UpdatePolicy", "DeletePolicy", "DetachPolicy", "AttachPolicy"},
				"requestParameters": map[string]any{"policyId": []string{props.GuardrailPolicyID}},
			},
		},
	})
	changes.AddTarget(target())
	schedule := awsevents.NewRule(c, jsii.String("Sweep"), &awsevents.RuleProps{
		Description: jsii.String("rootwindow: restore windows that are over, send pending notifications, report drift"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(SweepEvery))),
	})
	schedule.AddTarget(target())
	watchRules := watchResources(c, target, props.Functions, props.Notifications, props.Watched)

	action := awscloudwatchactions.NewSnsAction(props.Notifications.Topic)
	five := awscdk.Duration_Minutes(jsii.Number(5))
	custom := func(name string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(contract.MetricsNamespace), MetricName: jsii.String(name),
			Statistic: jsii.String("Sum"), Period: five,
		})
	}
	sum := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: five}
	alarms := map[string]awscloudwatch.Alarm{}
	alarm := func(name, description string, metric awscloudwatch.IMetric, periods float64) {
		a := awscloudwatch.NewAlarm(c, jsii.String(name), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String("rootwindow: " + description),
			Metric:             metric,
			Threshold:          jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			EvaluationPeriods:  jsii.Number(periods),
			DatapointsToAlarm:  jsii.Number(periods),
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
		alarms[name] = a
	}
	// An early end stops the window's execution on purpose (recorded in the ledger): only a stop
	// that no early end explains alarms, as the sweeper finds it.
	alarm("ExecutionsAborted", "an execution was stopped other than by an early end through rootwindow; the safety net restores its window, check that it did", custom(contract.MetricUnexpectedStop), 1)
	alarm("ExecutionsTimedOut", "an execution timed out; the safety net restores its window, check that it did", sm.MetricTimedOut(sum), 1)
	alarm("ExecutionsFailed", "an execution failed for a reason other than a rejected request", custom(contract.MetricUnexpectedFailure), 1)
	alarm("RestoreFailed", "THE GUARDRAIL COULD NOT BE RESTORED: attach it by hand now (see the Restore Failed notification)", custom(contract.MetricRestoreFailed), 1)
	alarm("DriftDetected", "the guardrail is missing from an account with no open window (see the Drift Detected notification)", custom(contract.MetricDriftDetected), 1)
	alarm("GuardrailChanged", "the guardrail's document is not the pinned one, or holds statements besides the root deny: rootwindow refuses to lift it; see the Drift Detected notification", custom(contract.MetricGuardrailChanged), 1)
	alarm("RootPasswordsLeft", "a root password rootwindow allowed for a window could not be deleted after it: delete it (rootwindow status <id> shows the command) and find why", custom(contract.MetricRootPasswordLeft), 1)
	alarm("WindowCutShort", "an open window's lift was undone outside rootwindow (its window SCP or exemption gone, the guardrail back): the sweeper closed it; find who changed the organization (CloudTrail)", custom(contract.MetricWindowCutShort), 1)
	alarm("LedgerTampered", "a ledger item disagreed with its execution or a lease named no window holding it: rootwindow refused to lift or restored anyway; find who wrote the table (CloudTrail)", custom(contract.MetricLedgerTampered), 1)
	alarm("OperatorsUnreachable", "the operators' email subscription is gone, unconfirmed, or was confirmed by the link in SNS's message (a forwarded notification's unsubscribe link would remove it): see the sweeper's log and README, \"Operators' email\"", custom(contract.MetricOperatorsUnreachable), 1)
	alarm("BreakGlassUnreviewed", "a break-glass window (no approval) has not been reviewed by another administrator yet: rootwindow review <id> --note TEXT (the sweeper's log names the requests)", custom(contract.MetricBreakGlassUnreviewed), 1)
	alarm("ResourcesChanged", "one of rootwindow's own resources (a function, the state machine, the table or its policy, a rule, the request bus, the topic, the key, a role) was changed by someone other than its deployment: whoever did can make rootwindow lift; the sweeper's log names the call and who made it (RUNBOOK.md)", custom(contract.MetricResourcesChanged), 1)
	alarm("RootOutsideWindow", "a protected account's root user acted when no window of it was open (CloudTrail Lake): find who and how (see the Root Outside Window notification, RUNBOOK.md)", custom(contract.MetricRootOutsideWindow), 1)
	alarm("SweeperErrors", "the sweeper failed; windows that are over may not be restored", sweeper.MetricErrors(sum), 1)
	// Reattach errors are retried for hours; alarm when they persist for 15 minutes.
	alarm("ReattachErrors", "restoring the guardrail keeps failing", props.Functions.Reattach.MetricErrors(sum), 3)
	alarm("DeadLetters", "a request or a safety-net event could not be delivered: see the dead-letter queue",
		props.DeadLetters.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: five}), 1)

	// One page for operators: windows lifted and restored, executions, what went wrong, drift,
	// and every alarm's state (RUNBOOK.md says what each means and what to do).
	hour := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String(contract.MetricsNamespace), MetricName: jsii.String(contract.MetricWindowsOpened), Statistic: jsii.String("Sum"), Period: awscdk.Duration_Hours(jsii.Number(1))})
	perHour := func(name string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(contract.MetricsNamespace), MetricName: jsii.String(name),
			Statistic: jsii.String("Sum"), Period: awscdk.Duration_Hours(jsii.Number(1)),
		})
	}
	graph := func(title string, metrics ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Left: &metrics, Width: jsii.Number(12), Height: jsii.Number(6)})
	}
	hourly := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: awscdk.Duration_Hours(jsii.Number(1))}
	alarmList := make([]interfacesawscloudwatch.IAlarmRef, 0, len(alarms))
	for _, name := range sortedKeys(alarms) {
		alarmList = append(alarmList, alarms[name])
	}
	dashboard := awscloudwatch.NewDashboard(c, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DefaultInterval: awscdk.Duration_Days(jsii.Number(7)),
	})
	dashboard.AddWidgets(
		awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{Title: jsii.String("rootwindow alarms (RUNBOOK.md)"), Alarms: &alarmList, Width: jsii.Number(24)}),
	)
	dashboard.AddWidgets(
		graph("Windows lifted and restored (per hour)", hour, perHour(contract.MetricWindowsClosed)),
		graph("Executions (per hour)", sm.MetricStarted(hourly), sm.MetricSucceeded(hourly), sm.MetricFailed(hourly), sm.MetricAborted(hourly), sm.MetricTimedOut(hourly)),
	)
	dashboard.AddWidgets(
		graph("Failures: restore, rescue, unexpected (per hour)", perHour(contract.MetricRestoreFailed), perHour(contract.MetricRescued), perHour(contract.MetricUnexpectedFailure)),
		graph("Drift, guardrail changed, ledger tampered (per hour)", perHour(contract.MetricDriftDetected), perHour(contract.MetricGuardrailChanged), perHour(contract.MetricLedgerTampered), perHour(contract.MetricWindowCutShort)),
	)
	dashboard.AddWidgets(
		graph("Root used outside any window, rootwindow changed outside its deployment (per hour)", perHour(contract.MetricRootOutsideWindow), perHour(contract.MetricResourcesChanged)),
	)
	return &SafetyNet{Construct: c, StatusRule: statusRule, Schedule: schedule, ChangeRule: changes, WatchRules: watchRules, Alarms: alarms}
}

func sortedKeys(m map[string]awscloudwatch.Alarm) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
