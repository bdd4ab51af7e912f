package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	tasks "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/fence"
)

// State names, visible in the Step Functions console and matched by the tests.
const (
	StateValidate       = "Validate request"
	StateExplain        = "Explain rejection"
	StateRejected       = "Request rejected"
	StateStartsLater    = "Starts later?"
	StateWaitStart      = "Wait for start"
	StateDetach         = "Lift guardrail"
	StateOpened         = "Window opened?"
	StateCancelled      = "Cancelled before start"
	StateHold           = "Hold window"
	StateReattach       = "Restore guardrail"
	StateClosed         = "Window closed"
	StateCompensate     = "Put guardrail back"
	StateNotOpened      = "Window did not open"
	StateRestoreFailed  = "GUARDRAIL NOT RESTORED"
	StateAlarm          = "Raise the alarm"
	StateDuplicate      = "Duplicate delivery"
	StateNeedsApproval  = "Needs approval?"
	StateWaitApproval   = "Wait for approval"
	restoreErrorPath    = "$.restoreError"
	executionNamePath   = "$$.Execution.Name"
	errorResultPath     = "$.error"
	restoreFailedReason = "The guardrail could not be restored after hours of retries; it may be missing from an account. Restore it by hand and read the request's lastError in the ledger."
)

// retryable are the errors worth another attempt of any task: our own transient ones and every
// Lambda service error.
var retryable = []string{
	contract.ErrThrottled, contract.ErrUnavailable,
	"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
	"Lambda.ClientExecutionTimeoutException",
	"Lambda.TooManyRequestsException", "Lambda.Unknown", "States.Timeout",
}

// WorkflowProps configures the state machine.
type WorkflowProps struct {
	Functions *Functions
	// BookingHorizonDays sizes the execution timeout.
	BookingHorizonDays int
	// EventConfirmMinutes is how long a request through EventBridge waits for its requester's
	// confirmation (0: it does not).
	EventConfirmMinutes int
	// ApprovalMinutes is how long a request that needs a second administrator's approval waits
	// for it (the task token's TimeoutSeconds).
	ApprovalMinutes int
}

// ExecutionTimeout is the longest an execution may run: the wait for an approval, the booking
// horizon, a 4-hour window, and as long again for the restore's retries (about 3.3 hours) and the
// alarm. An execution that hits it ends TIMED_OUT, and the safety net restores its window.
func ExecutionTimeout(bookingHorizonDays, approvalMinutes int) awscdk.Duration {
	return awscdk.Duration_Minutes(jsii.Number(float64(60*(24*bookingHorizonDays+4+4) + approvalMinutes)))
}

// Workflow is the Standard state machine that holds a root access window.
type Workflow struct {
	constructs.Construct
	StateMachine sfn.StateMachine
}

func invoke(scope constructs.Construct, name string, fn awslambda.Function, payload map[string]any, resultPath string) tasks.LambdaInvoke {
	props := &tasks.LambdaInvokeProps{
		LambdaFunction: fn,
		Payload:        sfn.TaskInput_FromObject(&payload),
		// The plain Lambda ARN form: the task's result is the function's own output.
		PayloadResponseOnly: jsii.Bool(true),
		// Each task declares its own retries, Lambda service errors included.
		RetryOnServiceExceptions: jsii.Bool(false),
	}
	if resultPath != "" {
		props.ResultPath = jsii.String(resultPath)
	}
	return tasks.NewLambdaInvoke(scope, jsii.String(name), props)
}

// How long Validate looks for who started an execution: RequesterRetries more times,
// RequesterRetrySeconds apart.
const (
	RequesterRetrySeconds = 60
	RequesterRetries      = 30
	// ConfirmationRetrySeconds is how often Validate looks for the requester's confirmation.
	ConfirmationRetrySeconds = 30
)

// ConfirmationRetries is how many times Validate looks for a confirmation due within minutes: once
// per ConfirmationRetrySeconds, and four more so that the last look finds the time over.
func ConfirmationRetries(minutes int) int { return minutes*60/ConfirmationRetrySeconds + 4 }

// restoreRetry is the reattach budget: 25 retries whose delays double from 10 s up to 10 minutes,
// at most about 3.3 hours in all; full jitter draws each delay between zero and that, so
// typically about half as long. A function, not a package variable: its values come from jsii,
// which must not start (nor need Node) when the package is merely imported.
func restoreRetry() *sfn.RetryProps {
	return &sfn.RetryProps{
		Errors:         &[]*string{sfn.Errors_ALL()},
		Interval:       awscdk.Duration_Seconds(jsii.Number(10)),
		BackoffRate:    jsii.Number(2),
		MaxDelay:       awscdk.Duration_Minutes(jsii.Number(10)),
		MaxAttempts:    jsii.Number(25),
		JitterStrategy: sfn.JitterType_FULL,
	}
}

// NewWorkflow builds the state machine:
//
//	Validate ─rejected─► Explain ► Fail(RequestRejected)
//	   ▼ (other failure ─► Put guardrail back ► Fail; RequesterUnknown and AwaitingConfirmation
//	   ▼  are retried: CloudTrail's delay, and a requester's confirmation)
//	Needs approval? ─yes─► Wait for approval (task token) ─denied, timed out─► Put guardrail back ► Fail
//	   ▼ ◄──────────────────────────┘ approved
//	Starts later? ─yes─► Wait for start ─┐   (─duplicate event─► Succeed)
//	   ▼ ◄────────────────────────────────┘
//	Lift guardrail ─failure─► Put guardrail back ► Fail
//	   ▼
//	Window opened? ─no (cancelled)─► Succeed
//	   ▼
//	Hold window (Wait until restoreAt) ► Restore guardrail ─still failing─► Raise the alarm ► Fail(RestoreFailed)
//	   ▼
//	Window closed (Succeed)
func NewWorkflow(scope constructs.Construct, id string, props *WorkflowProps) *Workflow {
	c := constructs.NewConstruct(scope, jsii.String(id))
	fns := props.Functions

	restoreFailed := sfn.NewFail(c, jsii.String(StateRestoreFailed), &sfn.FailProps{
		Error: jsii.String(contract.ErrRestoreFailed), Cause: jsii.String(restoreFailedReason),
	})
	// The restore has failed for good: record it and tell the operators (Restore Failed), keeping
	// the leases; then fail, whether or not the alarm itself got through.
	alarm := invoke(c, StateAlarm, fns.Reattach, map[string]any{
		"requestId": sfn.JsonPath_StringAt(jsii.String(executionNamePath)),
		"mode":      contract.ModeAlarm,
		"cause":     sfn.JsonPath_StringAt(jsii.String(restoreErrorPath + ".Cause")),
	}, "$.alarm")
	alarm.AddRetry(&sfn.RetryProps{
		Errors: &[]*string{sfn.Errors_ALL()}, Interval: awscdk.Duration_Seconds(jsii.Number(5)),
		BackoffRate: jsii.Number(2), MaxAttempts: jsii.Number(6), JitterStrategy: sfn.JitterType_FULL,
	})
	alarm.AddCatch(restoreFailed, &sfn.CatchProps{ResultPath: jsii.String("$.alarmError")})
	alarm.Next(restoreFailed)

	compensate := invoke(c, StateCompensate, fns.Reattach, map[string]any{
		"requestId": sfn.JsonPath_StringAt(jsii.String(executionNamePath)),
		"mode":      contract.ModeCompensate,
		"cause":     sfn.JsonPath_StringAt(jsii.String("$.error.Error")),
	}, "$.compensation")
	compensate.AddRetry(restoreRetry())
	compensate.AddCatch(alarm, &sfn.CatchProps{ResultPath: jsii.String(restoreErrorPath)})
	compensate.Next(sfn.NewFail(c, jsii.String(StateNotOpened), &sfn.FailProps{
		ErrorPath: jsii.String("$.error.Error"), CausePath: jsii.String("$.error.Cause"),
	}))

	// From the execution's context, which its starter cannot write: Validate finds who started
	// it in CloudTrail by its ARN and start time.
	validate := invoke(c, StateValidate, fns.Validate, map[string]any{
		"input":        sfn.JsonPath_EntirePayload(),
		"execution":    sfn.JsonPath_StringAt(jsii.String(executionNamePath)),
		"executionArn": sfn.JsonPath_StringAt(jsii.String("$$.Execution.Id")),
		"startedAt":    sfn.JsonPath_StringAt(jsii.String("$$.Execution.StartTime")),
	}, "")
	validate.AddRetry(&sfn.RetryProps{
		Errors: jsii.Strings(retryable...), Interval: awscdk.Duration_Seconds(jsii.Number(2)),
		BackoffRate: jsii.Number(2), MaxAttempts: jsii.Number(6), JitterStrategy: sfn.JitterType_FULL,
	})
	// CloudTrail delivers the StartExecution event to its event history some minutes after the
	// call: look again every minute for half an hour, then refuse (nothing is reserved before).
	validate.AddRetry(&sfn.RetryProps{
		Errors: jsii.Strings(contract.ErrRequesterUnknown), Interval: awscdk.Duration_Seconds(jsii.Number(RequesterRetrySeconds)),
		BackoffRate: jsii.Number(1), MaxAttempts: jsii.Number(RequesterRetries),
	})
	// A request an integration asserted waits for its requester to confirm it through the API:
	// Validate answers AwaitingConfirmation until then, and once the time is over withdraws it
	// (RequestRejected). Enough attempts for the whole time and a little more.
	if props.EventConfirmMinutes > 0 {
		validate.AddRetry(&sfn.RetryProps{
			Errors: jsii.Strings(contract.ErrAwaitingConfirm), Interval: awscdk.Duration_Seconds(jsii.Number(ConfirmationRetrySeconds)),
			BackoffRate: jsii.Number(1), MaxAttempts: jsii.Number(float64(ConfirmationRetries(props.EventConfirmMinutes))),
		})
	}
	// The Lambda error's Cause is JSON; show the requester just the list of problems.
	explain := sfn.NewPass(c, jsii.String(StateExplain), &sfn.PassProps{
		Parameters: &map[string]any{"rejection": sfn.JsonPath_StringToJson(sfn.JsonPath_StringAt(jsii.String("$.error.Cause")))},
	})
	explain.Next(sfn.NewFail(c, jsii.String(StateRejected), &sfn.FailProps{
		Error: jsii.String(contract.ErrRequestRejected), CausePath: jsii.String("$.rejection.errorMessage"),
	}))
	validate.AddCatch(explain, &sfn.CatchProps{Errors: jsii.Strings(contract.ErrRequestRejected), ResultPath: jsii.String(errorResultPath)})
	validate.AddCatch(compensate, &sfn.CatchProps{ResultPath: jsii.String(errorResultPath)})

	// The lift and the restore carry what Validate decided (its output is the state from here on),
	// so that the ledger's record, a table others might write, is checked against it.
	detach := invoke(c, StateDetach, fns.Detach, map[string]any{
		"requestId":    sfn.JsonPath_StringAt(jsii.String(executionNamePath)),
		"executionArn": sfn.JsonPath_StringAt(jsii.String("$$.Execution.Id")),
		"accountIds":   sfn.JsonPath_ListAt(jsii.String("$.accountIds")),
		"hours":        sfn.JsonPath_NumberAt(jsii.String("$.hours")),
		"confirmedBy":  sfn.JsonPath_StringAt(jsii.String("$.confirmedBy")),
		// The approval as the execution carries it, checked against the ledger's record.
		"needsApproval": sfn.JsonPath_StringAt(jsii.String("$.needsApproval")),
		"approvedBy":    sfn.JsonPath_StringAt(jsii.String("$.approval.approvedBy")),
	}, "$.window")
	detach.AddRetry(&sfn.RetryProps{
		Errors: jsii.Strings(retryable...), Interval: awscdk.Duration_Seconds(jsii.Number(5)),
		BackoffRate: jsii.Number(2), MaxAttempts: jsii.Number(4), JitterStrategy: sfn.JitterType_FULL,
	})
	detach.AddCatch(compensate, &sfn.CatchProps{ResultPath: jsii.String(errorResultPath)})

	reattach := invoke(c, StateReattach, fns.Reattach, map[string]any{
		"requestId":  sfn.JsonPath_StringAt(jsii.String(executionNamePath)),
		"mode":       contract.ModeClose,
		"accountIds": sfn.JsonPath_ListAt(jsii.String("$.accountIds")),
	}, "$.restored")
	reattach.AddRetry(restoreRetry())
	reattach.AddCatch(alarm, &sfn.CatchProps{ResultPath: jsii.String(restoreErrorPath)})

	hold := sfn.NewWait(c, jsii.String(StateHold), &sfn.WaitProps{
		Time: sfn.WaitTime_TimestampPath(jsii.String("$.window.restoreAt")),
	})
	opened := sfn.NewChoice(c, jsii.String(StateOpened), nil).
		When(sfn.Condition_BooleanEquals(jsii.String("$.window.opened"), jsii.Bool(false)),
			sfn.NewSucceed(c, jsii.String(StateCancelled), nil), nil).
		Otherwise(hold.Next(reattach.Next(sfn.NewSucceed(c, jsii.String(StateClosed), nil))))
	lift := detach.Next(opened)

	waitStart := sfn.NewWait(c, jsii.String(StateWaitStart), &sfn.WaitProps{
		Time: sfn.WaitTime_TimestampPath(jsii.String("$.startAt")),
	})
	startsLater := sfn.NewChoice(c, jsii.String(StateStartsLater), nil).
		When(sfn.Condition_IsPresent(jsii.String("$.duplicateOf")), sfn.NewSucceed(c, jsii.String(StateDuplicate), &sfn.SucceedProps{
			Comment: jsii.String("A second delivery of an EventBridge event: the request it names is handled by another execution"),
		}), nil).
		When(sfn.Condition_BooleanEquals(jsii.String("$.startsLater"), jsii.Bool(true)), waitStart.Next(lift), nil).
		Otherwise(lift)

	// A request that needs a second administrator's approval waits for it on a task token that
	// Validate records in the ledger; the approver's decision (the API) sends it back: the
	// approver (SendTaskSuccess) or ApprovalDenied (SendTaskFailure). Nobody deciding within
	// ApprovalMinutes is States.Timeout. Either failure goes to the compensation: nothing is
	// lifted, the accounts are released, and the record says why.
	waitApproval := tasks.NewLambdaInvoke(c, jsii.String(StateWaitApproval), &tasks.LambdaInvokeProps{
		LambdaFunction:     fns.Validate,
		IntegrationPattern: sfn.IntegrationPattern_WAIT_FOR_TASK_TOKEN,
		Payload: sfn.TaskInput_FromObject(&map[string]any{
			"execution":     sfn.JsonPath_StringAt(jsii.String(executionNamePath)),
			"executionArn":  sfn.JsonPath_StringAt(jsii.String("$$.Execution.Id")),
			"approvalToken": sfn.JsonPath_TaskToken(),
		}),
		ResultPath:               jsii.String("$.approval"),
		TaskTimeout:              sfn.Timeout_Duration(awscdk.Duration_Minutes(jsii.Number(float64(props.ApprovalMinutes)))),
		RetryOnServiceExceptions: jsii.Bool(false),
	})
	waitApproval.AddRetry(&sfn.RetryProps{
		Errors:   jsii.Strings(contract.ErrThrottled, contract.ErrUnavailable, "Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"),
		Interval: awscdk.Duration_Seconds(jsii.Number(2)), BackoffRate: jsii.Number(2), MaxAttempts: jsii.Number(4), JitterStrategy: sfn.JitterType_FULL,
	})
	waitApproval.AddCatch(compensate, &sfn.CatchProps{ResultPath: jsii.String(errorResultPath)})
	needsApproval := sfn.NewChoice(c, jsii.String(StateNeedsApproval), nil).
		When(sfn.Condition_BooleanEquals(jsii.String("$.needsApproval"), jsii.Bool(true)), waitApproval.Next(startsLater), nil).
		Otherwise(startsLater)

	logs := awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_YEAR,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	// Its role is assumed by Step Functions for state machines of this account only (Step
	// Functions Developer Guide, "Creating an IAM role for your state machine": preventing the
	// cross-service confused deputy with aws:SourceArn and aws:SourceAccount; the state machine's
	// own ARN would make a cycle: it names the role), and sits under the fence's path: in a
	// fenced home only rootwindow's roles invoke its functions.
	st := awscdk.Stack_Of(c)
	role := awsiam.NewRole(c, jsii.String("StateMachineRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("states.amazonaws.com"), nil).WithConditions(&map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": st.Account()},
			"ArnLike": map[string]any{"aws:SourceArn": awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("arn:"), awscdk.Aws_PARTITION(),
				jsii.String(":states:"), st.Region(), jsii.String(":"), st.Account(), jsii.String(":stateMachine:*")})},
		}),
		Description: jsii.String("rootwindow: the state machine runs as this role"),
		Path:        jsii.String(fence.RolePath),
	})
	sm := sfn.NewStateMachine(c, jsii.String("StateMachine"), &sfn.StateMachineProps{
		Role:             role,
		StateMachineType: sfn.StateMachineType_STANDARD,
		Comment:          jsii.String("rootwindow: lift the root-user guardrail SCP for 1 to 4 hours, then put it back"),
		DefinitionBody:   sfn.DefinitionBody_FromChainable(validate.Next(needsApproval)),
		Timeout:          ExecutionTimeout(props.BookingHorizonDays, props.ApprovalMinutes),
		TracingEnabled:   jsii.Bool(true),
		Logs: &sfn.LogOptions{
			Destination: logs, Level: sfn.LogLevel_ALL,
			// Execution data holds requests and reasons: keep it out of the logs.
			IncludeExecutionData: jsii.Bool(false),
		},
	})
	suppress(sm.Role(), "AwsSolutions-IAM5", "X-Ray tracing and log delivery actions have no resource to scope to", "Resource::*")
	for _, fn := range []awslambda.Function{fns.Validate, fns.Detach, fns.Reattach} {
		suppress(sm.Role(), "AwsSolutions-IAM5", "lambda:InvokeFunction on the function and its versions (ARN:*), as CDK grants it; only rootwindow's three workflow functions",
			"Resource::<"+*awscdk.Stack_Of(c).GetLogicalId(fn.Node().DefaultChild().(awscdk.CfnElement))+".Arn>:*")
	}
	return &Workflow{Construct: c, StateMachine: sm}
}
