// Package identity establishes who started a Step Functions execution from a record the starter
// cannot forge: the management event CloudTrail keeps for the StartExecution call. Step Functions
// records StartExecution as a management event, and CloudTrail's event history keeps management
// events of the last 90 days without any trail being configured, searchable with LookupEvents (at
// most two calls a second per account and Region). An event reaches the event history some time
// after the call, with no documented bound, so a starter not found yet is ErrNotYetRecorded, for
// the caller to try again later.
//
// This package reads the record; package trail looks it up in CloudTrail (the SDK lives there).
package identity

import (
	"encoding/json"
	"errors"
)

// Starter is who started an execution, as CloudTrail recorded it.
type Starter struct {
	// ARN is the principal: an assumed role's session ARN
	// (arn:aws:sts::123456789012:assumed-role/Role/session, the form SigV4 callers have), or an
	// IAM user's ARN.
	ARN string
	// RoleARN is the role a session was issued for (sessionContext.sessionIssuer.arn); "" when
	// the starter is not a role session.
	RoleARN string
}

// ErrNotYetRecorded means no StartExecution event for the execution is in the event history yet.
var ErrNotYetRecorded = errors.New("CloudTrail has not recorded who started the execution yet")

// ErrLookupThrottled means CloudTrail refused the lookup for its rate (LookupEvents: 2 requests a
// second per account and Region): not an outage, and looked for again later, as an event not yet
// recorded is.
var ErrLookupThrottled = errors.New("CloudTrail is throttling event history lookups")

// UserIdentity is the part of a CloudTrail record that says who made the call.
type UserIdentity struct {
	ARN            string `json:"arn"`
	SessionContext struct {
		SessionIssuer struct {
			ARN string `json:"arn"`
		} `json:"sessionIssuer"`
	} `json:"sessionContext"`
}

// Starter is who made the call.
func (u UserIdentity) Starter() Starter {
	return Starter{ARN: u.ARN, RoleARN: u.SessionContext.SessionIssuer.ARN}
}

// record is the part of a CloudTrail record that names the caller and the execution.
type record struct {
	EventSource      string       `json:"eventSource"`
	EventName        string       `json:"eventName"`
	ErrorCode        string       `json:"errorCode"`
	UserIdentity     UserIdentity `json:"userIdentity"`
	ResponseElements struct {
		ExecutionARN string `json:"executionArn"`
	} `json:"responseElements"`
}

// StarterIn reads the starter of executionARN from one CloudTrail record, if it is that
// execution's successful StartExecution call.
func StarterIn(raw, executionARN string) (Starter, bool) {
	var r record
	if json.Unmarshal([]byte(raw), &r) != nil || r.EventSource != "states.amazonaws.com" || r.EventName != "StartExecution" ||
		r.ErrorCode != "" || r.ResponseElements.ExecutionARN != executionARN || r.UserIdentity.ARN == "" {
		return Starter{}, false
	}
	return r.UserIdentity.Starter(), true
}
