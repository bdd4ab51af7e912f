// Package workflow is the root access window's state machine steps: the typed input and output of
// each Lambda task, the named errors the state machine matches with Retry and Catch, and the
// handlers that validate a request, lift the guardrail, and restore it.
package workflow

import "encoding/json"

// Task names, used by the CDK stack for state names and by the functions for their handlers.
const (
	TaskValidate = "validate"
	TaskDetach   = "detach"
	TaskReattach = "reattach"
)

// Envelope is the state machine's execution input for every channel.
type Envelope struct {
	Request json.RawMessage `json:"request"`
	Origin  *OriginInput    `json:"origin,omitempty"`
}

// OriginInput says how a request arrived; the console channel may leave it out.
type OriginInput struct {
	Channel string `json:"channel"`
	Detail  string `json:"detail,omitempty"`
}

// ValidateInput is the Validate task's payload: the whole execution input and the execution name,
// which is the request ID.
type ValidateInput struct {
	Input     json.RawMessage `json:"input"`
	Execution string          `json:"execution"`
}

// Window is the Validate task's output: the accepted, normalised request.
type Window struct {
	RequestID   string   `json:"requestId"`
	AccountIDs  []string `json:"accountIds"`
	Hours       int      `json:"hours"`
	StartAt     string   `json:"startAt"` // RFC 3339, UTC: the Wait state's TimestampPath
	StartsLater bool     `json:"startsLater"`
}

// DetachInput is the Detach task's payload.
type DetachInput struct {
	RequestID string `json:"requestId"`
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
)

// ReattachInput is the Reattach task's payload.
type ReattachInput struct {
	RequestID string `json:"requestId"`
	Mode      string `json:"mode"`
	// Cause is the failure that led to compensation, as Step Functions caught it.
	Cause string `json:"cause,omitempty"`
}

// Restored is the Reattach task's output.
type Restored struct {
	RequestID string `json:"requestId"`
	Status    string `json:"status"`
	ClosedAt  string `json:"closedAt,omitempty"`
}
