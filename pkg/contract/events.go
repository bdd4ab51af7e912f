package contract

// Requests put on the request bus (the EventBridge door) carry this source and detail-type.
const (
	RequestSource     = "rootwindow.requests"
	RequestDetailType = "Root Access Window Requested"
)

// Notifications rootwindow puts on the default bus carry this source; their detail-type is
// NotificationDetailTypePrefix followed by the kind ("Root Access Window Opened").
const (
	NotificationSource           = "rootwindow"
	NotificationDetailTypePrefix = "Root Access Window "
)

// EventBridge events the safety net handles.
const (
	DetailTypeStatusChange = "Step Functions Execution Status Change"
	DetailTypeSchedule     = "Scheduled Event"
	// DetailTypeAPICall is CloudTrail's event for an API call: the safety net gets Organizations'
	// UpdatePolicy, DeletePolicy, AttachPolicy and DetachPolicy calls on the guardrail.
	DetailTypeAPICall   = "AWS API Call via CloudTrail"
	SourceStepFunctions = "aws.states"
	SourceOrganizations = "aws.organizations"
)

// CloudWatch metrics the functions write in Embedded Metric Format, and the stack alarms on.
const (
	MetricsNamespace        = "rootwindow"
	MetricWindowsOpened     = "WindowsOpened" // a window's guardrail lifted
	MetricWindowsClosed     = "WindowsClosed" // a window's guardrail back
	MetricRestoreFailed     = "RestoreFailed"
	MetricDriftDetected     = "DriftDetected"
	MetricUnexpectedFailure = "ExecutionsFailedUnexpectedly"
	// MetricRootPasswordLeft: a root password rootwindow allowed for a window could not be
	// deleted after it (counted at every sweep while it lasts).
	MetricRootPasswordLeft = "RootPasswordsLeft"
	// MetricUnexpectedStop: an execution was stopped other than by an early end through rootwindow.
	MetricUnexpectedStop = "ExecutionsStoppedUnexpectedly"
	MetricRescued        = "WindowsRescued"
	// MetricLedgerTampered: a ledger item disagreed with its execution, or a lease was held by
	// no window that holds it; rootwindow refused to lift, or restored anyway.
	MetricLedgerTampered = "LedgerTampered"
	// MetricGuardrailChanged: the guardrail's document is not the pinned one, or holds statements
	// beyond the root deny that were not allowed; rootwindow refuses to lift it.
	MetricGuardrailChanged = "GuardrailChanged"
	// MetricWindowCutShort: an open window's lift was undone outside rootwindow (its window SCP
	// or exemption gone, the guardrail back): the sweeper closed the window.
	MetricWindowCutShort = "WindowCutShort"
	// MetricOperatorsUnreachable: the operators' email subscription is gone, unconfirmed, or
	// removable by a link in a forwarded message (counted by every sweep while it is so).
	MetricOperatorsUnreachable = "OperatorsUnreachable"
	// MetricBreakGlassUnreviewed: break-glass requests no other administrator has reviewed yet
	// (counted by every sweep until they are).
	MetricBreakGlassUnreviewed = "BreakGlassUnreviewed"
	// MetricRootOutsideWindow: root user activity (a sign-in, a call, a denied call) on an account
	// that had no window open at the time, found in CloudTrail Lake; counted once per event.
	MetricRootOutsideWindow = "RootOutsideWindow"
	// MetricResourcesChanged: one of rootwindow's own resources (a function's code, configuration
	// or policy, the state machine, the table and its policy, a rule and its targets, the request
	// bus's permissions, the topic, the key, a role) was changed by someone other than its
	// deployment (CloudTrail, through EventBridge, to the sweeper).
	MetricResourcesChanged = "ResourcesChanged"
)

// Lift strategies: how the guardrail is lifted from a request's accounts (see package guardrail).
const (
	StrategyDetach = "detach" // swap the guardrail attached to each account for the window's SCP
	StrategyExempt = "exempt" // rewrite the guardrail's document with the window's exemption
	StrategyAuto   = "auto"   // detach where every account allows it, else exempt (configuration only)
)

// A window's own SCP (created by the lift, deleted by the restore) carries these tags: the request
// it bounds, the instant from which it denies the root user, and the deployment that made it (its
// name, contract.EnvDeployment), so that another deployment of rootwindow in the organization never takes
// it for one left behind. The functions' IAM policies admit only SCPs tagged with
// TagWindowRequest as window SCPs.
const (
	TagWindowRequest    = "rootwindow:request"
	TagWindowEnd        = "rootwindow:end"
	TagWindowDeployment = "rootwindow:deployment"
)

// TagGuardrailClaim, followed by the guardrail's policy ID, is the tag on the organization's root by
// which one deployment of rootwindow claims that guardrail (its value: the deployment's name,
// EnvDeployment). A deployment lifts only a guardrail it claims, and claims one nobody claims at its
// first lift; the lifting role may add the tag only where the root does not carry it yet. Two
// deployments sharing a guardrail would undo each other's windows.
const TagGuardrailClaim = "rootwindow:claim:"

// TagUnprotected on an account (any value: say why) releases it from drift detection: an account
// taken out of the guardrail on purpose. Its release is announced with the drift.
const TagUnprotected = "rootwindow:unprotected"

// Organizations' quotas as AWS documents them (AWS Organizations User Guide, "Quotas and service
// limits"): 10 SCPs attached directly to one root, OU or account and 10,240 characters per SCP,
// whitespace counted through the API, since 15 May 2026 (up from 5 and 5,120). The defaults of
// scpsPerTargetQuota and scpSizeQuota, for an organization whose quotas differ to change.
const (
	SCPsPerTargetQuota = 10
	SCPSizeQuota       = 10240
)
