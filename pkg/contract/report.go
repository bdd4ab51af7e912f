package contract

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// RootEvent is one thing a member account's root user did, as CloudTrail recorded it (an event
// whose userIdentity.type is Root: API calls, sign-ins, denied calls included).
type RootEvent struct {
	EventID   string    `json:"eventId" dynamodbav:"eventId"`
	Time      time.Time `json:"time" dynamodbav:"time"`
	AccountID string    `json:"accountId" dynamodbav:"accountId"` // recipientAccountId: the account it happened in
	Name      string    `json:"name" dynamodbav:"name"`           // eventName, e.g. ConsoleLogin, UpdateAccountEmailAddress
	Source    string    `json:"source" dynamodbav:"source"`       // eventSource, e.g. signin.amazonaws.com
	Region    string    `json:"region,omitempty" dynamodbav:"region,omitempty"`
	// Error is the call's errorCode, or for a failed sign-in its errorMessage: "" when it succeeded.
	Error    string `json:"error,omitempty" dynamodbav:"error,omitempty"`
	SourceIP string `json:"sourceIp,omitempty" dynamodbav:"sourceIp,omitempty"`
	// AccessKeyID is userIdentity.accessKeyId: for a root session of centralized root access, the
	// access key its sts:AssumeRoot call gave; "" for a sign-in with the root user's password.
	AccessKeyID string `json:"accessKeyId,omitempty" dynamodbav:"accessKeyId,omitempty"`
}

// SignIn reports whether the event is a sign-in to the console.
func (e RootEvent) SignIn() bool { return e.Name == "ConsoleLogin" }

// WindowReport is what a window's accounts' root users did during the window, read from
// CloudTrail Lake or an organization trail's log group once CloudTrail has had time to deliver it (see package window). Problem says
// why there is no report ("no report source": none configured); Source names the event data store
// or log group and Query is the statement that produced it, for a person to run again.
type WindowReport struct {
	MadeAt  time.Time `json:"madeAt" dynamodbav:"madeAt"`
	Problem string    `json:"problem,omitempty" dynamodbav:"problem,omitempty"`
	Source  string    `json:"source,omitempty" dynamodbav:"source,omitempty"`
	QueryID string    `json:"queryId,omitempty" dynamodbav:"queryId,omitempty"`
	Query   string    `json:"query,omitempty" dynamodbav:"query,omitempty"`
	// From and To bound the window: from the lift to the guardrail back.
	From time.Time `json:"from" dynamodbav:"from"`
	To   time.Time `json:"to" dynamodbav:"to"`
	// Events counts every root event found; SignIns the console sign-ins among them, Errors
	// those that failed (denied calls, failed sign-ins).
	Events  int `json:"events" dynamodbav:"events"`
	SignIns int `json:"signIns" dynamodbav:"signIns"`
	Errors  int `json:"errors" dynamodbav:"errors"`
	// ByName and ByAccount count the events by event name and by account.
	ByName    map[string]int `json:"byName,omitempty" dynamodbav:"byName,omitempty"`
	ByAccount map[string]int `json:"byAccount,omitempty" dynamodbav:"byAccount,omitempty"`
	First     time.Time      `json:"first,omitzero" dynamodbav:"first,omitempty"`
	Last      time.Time      `json:"last,omitzero" dynamodbav:"last,omitempty"`
	// Listed are the events in time order, at most MaxReportListed of them (the counts above
	// count them all; the query finds the rest).
	Listed []RootEvent `json:"listed,omitempty" dynamodbav:"listed,omitempty"`
}

// MaxReportListed bounds the events a report lists, so that the record stays far below
// DynamoDB's 400 KB item and a notification below EventBridge's 256 KB event.
const MaxReportListed = 100

// NoReportSource is a report's Problem when no CloudTrail Lake event data store is configured.
const NoReportSource = "no report source: neither an organization trail's log group (trailLogGroupArn) nor a CloudTrail Lake event data store (trailEventDataStoreArn) is configured"

// Summarize counts events (in time order) into r and lists the first MaxReportListed.
func (r *WindowReport) Summarize(events []RootEvent) {
	r.Events, r.SignIns, r.Errors = len(events), 0, 0
	r.ByName, r.ByAccount, r.Listed = map[string]int{}, map[string]int{}, nil
	r.First, r.Last = time.Time{}, time.Time{}
	for i, e := range events {
		r.ByName[e.Name]++
		r.ByAccount[e.AccountID]++
		if e.SignIn() {
			r.SignIns++
		}
		if e.Error != "" {
			r.Errors++
		}
		if i == 0 || e.Time.Before(r.First) {
			r.First = e.Time
		}
		if e.Time.After(r.Last) {
			r.Last = e.Time
		}
		if len(r.Listed) < MaxReportListed {
			r.Listed = append(r.Listed, e)
		}
	}
}

// Tally writes counts as "name 3, other 1", the largest first.
func Tally(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(keys, func(a, b string) int { return m[b] - m[a] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
