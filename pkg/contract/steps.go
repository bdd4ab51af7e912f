package contract

import "encoding/json"

// Task names, used by the CDK stack for state names and by the functions for their handlers.
const (
	TaskValidate = "validate"
	TaskDetach   = "detach"
	TaskReattach = "reattach"
)

// Channels a request can arrive by.
const (
	ChannelStepFunctions = "stepfunctions"
	ChannelEventBridge   = "eventbridge"
	ChannelAPI           = "api"
)

// APIRequestPrefix starts every request ID the API makes, and no execution name another door may
// use: a console execution cannot take the name a caller's Idempotency-Key will produce.
const APIRequestPrefix = "api-"

// Origin records how a request arrived.
type Origin struct {
	Channel       string `json:"channel" dynamodbav:"channel"`                                 // one of the Channel constants
	EventID       string `json:"eventId,omitempty" dynamodbav:"eventId,omitempty"`             // EventBridge: the event's ID
	SourceAccount string `json:"sourceAccount,omitempty" dynamodbav:"sourceAccount,omitempty"` // EventBridge: the account that sent it
	Caller        string `json:"caller,omitempty" dynamodbav:"caller,omitempty"`               // API: the SigV4 caller's ARN
	// AssertedBy, for EventBridge, are the configured integration principals of sourceAccount:
	// the bus admits no one else, so one of them put the event and asserts its requester.
	AssertedBy []string `json:"assertedBy,omitempty" dynamodbav:"assertedBy,omitempty"`
}

// Envelope is the state machine's execution input for every channel. Origin says how the request
// arrived; the console channel may leave it out.
type Envelope struct {
	Request json.RawMessage `json:"request"`
	Origin  *Origin         `json:"origin,omitempty"`
}

// ValidateInput is the Validate task's payload: the whole execution input, and from the
// execution's context (which its starter cannot write) its name, which is the request ID, its ARN
// and when it started, by which Validate finds who started it.
type ValidateInput struct {
	Input        json.RawMessage `json:"input"`
	Execution    string          `json:"execution"`
	ExecutionARN string          `json:"executionArn,omitempty"`
	StartedAt    string          `json:"startedAt,omitempty"` // RFC 3339
	// ApprovalToken, set only by the "Wait for approval" state, is the task token the execution
	// waits on: Validate then records it and asks the approvers (approval configured), and the
	// approver's decision (the API) sends it back to Step Functions.
	ApprovalToken string `json:"approvalToken,omitempty"`
}

// Window is the Validate task's output: the accepted, normalised request.
type Window struct {
	RequestID   string   `json:"requestId"`
	AccountIDs  []string `json:"accountIds"`
	Hours       int      `json:"hours"`
	StartAt     string   `json:"startAt"` // RFC 3339, UTC: the Wait state's TimestampPath
	StartsLater bool     `json:"startsLater"`
	// DuplicateOf is set, and nothing else, when this execution is a second delivery of an
	// EventBridge event already handled as that request.
	DuplicateOf string `json:"duplicateOf,omitempty"`
	// ConfirmedBy is the requester who confirmed a request an integration asserted, when one had
	// to; always present (the Detach task's payload reads it by path).
	ConfirmedBy string `json:"confirmedBy"`
	// NeedsApproval says the request waits for a second administrator's approval before its
	// lift (configuration: approval); Approval is that approval, always present (the Detach
	// task's payload reads it by path), filled by the "Wait for approval" state.
	NeedsApproval bool     `json:"needsApproval"`
	Approval      Approval `json:"approval"`
}

// Approval is who approved a request ("" when none was needed or given): the output of the
// approval task, sent by the approver's call through Step Functions' SendTaskSuccess.
type Approval struct {
	ApprovedBy string `json:"approvedBy"`
	ApprovedAt string `json:"approvedAt,omitempty"`
}

// DetachInput is the Detach task's payload. AccountIDs and Hours are what Validate decided, as the
// execution carries them; the ledger's record must agree (absent in executions started before
// they were carried, which check nothing).
type DetachInput struct {
	RequestID string `json:"requestId"`
	// ExecutionARN is the execution's own ($$.Execution.Id): Detach binds itself to it.
	ExecutionARN string   `json:"executionArn,omitempty"`
	AccountIDs   []string `json:"accountIds,omitempty"`
	Hours        int      `json:"hours,omitempty"`
	// ConfirmedBy is who confirmed the request, as Validate saw it ("" when none was needed).
	ConfirmedBy string `json:"confirmedBy,omitempty"`
	// NeedsApproval and ApprovedBy are the approval as the execution carries it: the record must
	// name the same approver.
	NeedsApproval bool   `json:"needsApproval,omitempty"`
	ApprovedBy    string `json:"approvedBy,omitempty"`
}

// Opened is the Detach task's output.
type Opened struct {
	RequestID string `json:"requestId"`
	Opened    bool   `json:"opened"` // false when the request was cancelled before it started
	Status    string `json:"status"`
	OpenedAt  string `json:"openedAt,omitempty"`
	RestoreAt string `json:"restoreAt,omitempty"` // openedAt + hours: the Wait state's TimestampPath
}

// Reattach modes.
const (
	ModeClose      = "close"      // the window is over
	ModeCompensate = "compensate" // opening failed: put back whatever was taken
	ModeAlarm      = "alarm"      // restoring failed for good: record it and raise the alarm
)

// ReattachInput is the Reattach task's payload.
type ReattachInput struct {
	RequestID string `json:"requestId"`
	Mode      string `json:"mode"`
	// Cause is the failure that led to compensation or to the alarm, as Step Functions caught it.
	Cause string `json:"cause,omitempty"`
	// AccountIDs are the accounts Validate decided (mode close): restored whatever the ledger says.
	AccountIDs []string `json:"accountIds,omitempty"`
}

// Restored is the Reattach task's output.
type Restored struct {
	RequestID string `json:"requestId"`
	Status    string `json:"status"`
	ClosedAt  string `json:"closedAt,omitempty"`
}

// Functions are rootwindow's five Lambda functions by their folder under functions/ (and their
// bundle's under the asset folder: bin/<name>/bootstrap, as `make build` writes them).
var Functions = []string{"validate", "detach", "reattach", "api", "sweeper"}
