// Package notify tells owners and operators what happened to a root access window: an
// EventBridge event with source "rootwindow" (for chat, ticketing and SIEM rules) and a message on
// the operators' SNS topic (for email), for each notable change of a request.
//
// A request's ledger record is its own outbox: Pending derives the notifications its history
// calls for, less those already delivered, so a notification that failed to go out is sent by the
// next step that touches the request. Delivery is therefore at least once; consumers deduplicate
// on the detail's notificationId.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/request"
)

// Source is the source of every event rootwindow publishes.
const Source = contract.NotificationSource

// Kind is what happened; the event's detail-type is "Root Access Window " + Kind.
type Kind string

// Kinds of notification.
const (
	Scheduled     Kind = "Scheduled"      // accepted; the window opens at startAt
	Rejected      Kind = "Rejected"       // not accepted: see problems
	Opened        Kind = "Opened"         // the guardrail is lifted until restoreAt
	Closed        Kind = "Closed"         // the guardrail is back; early when ended before restoreAt
	Cancelled     Kind = "Cancelled"      // withdrawn before it started; nothing was lifted
	Failed        Kind = "Failed"         // the window could not open; whatever was lifted is back
	RestoreFailed Kind = "Restore Failed" // the guardrail may be missing: act now
	// ApprovalRequested asks the approvers: the request waits for a second administrator until
	// approveBy; Approved and Denied announce the decision.
	ApprovalRequested Kind = "Approval Requested"
	Approved          Kind = "Approved"
	Denied            Kind = "Denied"
	DriftDetected     Kind = "Drift Detected" // the guardrail is missing where no window is open
	// WindowReport says what the window's root users did during it (CloudTrail Lake), once
	// CloudTrail has delivered it; RootOutsideWindow announces root activity on a protected
	// account that had no window open.
	WindowReport      Kind = "Report"
	RootOutsideWindow Kind = "Root Outside Window"
)

// Kinds lists every kind about one request, in the order a request can go through them.
var Kinds = []Kind{Scheduled, ApprovalRequested, Approved, Denied, Rejected, Opened, Closed, Cancelled, Failed, RestoreFailed, WindowReport}

// DetailType is the EventBridge detail-type of a kind.
func (k Kind) DetailType() string { return "Root Access Window " + string(k) }

var byStatus = map[ledger.Status]Kind{
	ledger.Scheduled: Scheduled, ledger.Rejected: Rejected, ledger.Open: Opened,
	ledger.Closed: Closed, ledger.Cancelled: Cancelled, ledger.Failed: Failed,
}

// Pending lists the notifications rec's history calls for that have not been delivered, in the
// order they happened. A request rejected at once is announced only as Rejected.
func Pending(rec ledger.Record) []Kind {
	var out []Kind
	add := func(k Kind) {
		if !slices.Contains(rec.Notified, string(k)) && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	for _, h := range rec.History {
		k, ok := byStatus[h.Status]
		if !ok || (k == Scheduled && rec.Status == ledger.Rejected) {
			continue
		}
		add(k)
		if k == Scheduled {
			// The approval's request and decision follow the booking.
			if !rec.ApproveBy.IsZero() {
				add(ApprovalRequested)
			}
			if !rec.ApprovedAt.IsZero() {
				add(Approved)
			}
			if !rec.DeniedAt.IsZero() {
				add(Denied)
			}
		}
	}
	if !rec.RestoreFailedAt.IsZero() {
		add(RestoreFailed)
	}
	if rec.Report != nil && rec.Report.Problem == "" {
		add(WindowReport)
	}
	return out
}

// Detail is an event's detail: the request as it was when the notification went out, with the
// notification's own ID (request ID "/" kind). It is a public contract of its own (integrators
// match on it; the samples in events/notifications pin it), apart from the ledger's record, so
// that a field added to the ledger does not change it.
type Detail struct {
	NotificationID string `json:"notificationId"`
	RequestID      string `json:"requestId"`
	// What the requester asked for, every field of it (package request owns them).
	request.Fields
	Origin          contract.Origin `json:"origin"`
	Status          string          `json:"status"`
	CreatedAt       time.Time       `json:"createdAt"`
	OpenedAt        time.Time       `json:"openedAt,omitzero"`
	RestoreAt       time.Time       `json:"restoreAt,omitzero"`
	ClosedAt        time.Time       `json:"closedAt,omitzero"`
	Problems        []string        `json:"problems,omitempty"`
	LastError       string          `json:"lastError,omitempty"`
	RestoreFailedAt time.Time       `json:"restoreFailedAt,omitzero"`
	// ConfirmBy is set on a request an integration asserted: its requester must confirm it by
	// then (POST /requests/{id}/confirm) or nothing is lifted; ConfirmedBy/At once confirmed.
	ConfirmBy   time.Time `json:"confirmBy,omitzero"`
	ConfirmedBy string    `json:"confirmedBy,omitempty"`
	ConfirmedAt time.Time `json:"confirmedAt,omitzero"`
	// ApproveBy is set on a request that needs a second administrator's approval: by then, or
	// nothing is lifted; ApprovedBy/At or DeniedBy/At once decided, with the approver's words.
	ApproveBy  time.Time `json:"approveBy,omitzero"`
	ApprovedBy string    `json:"approvedBy,omitempty"`
	ApprovedAt time.Time `json:"approvedAt,omitzero"`
	DeniedBy   string    `json:"deniedBy,omitempty"`
	DeniedAt   time.Time `json:"deniedAt,omitzero"`
	Decision   string    `json:"decision,omitempty"`
	// ReviewedBy and ReviewNote are another administrator's review of a break-glass request.
	ReviewedBy string `json:"reviewedBy,omitempty"`
	ReviewNote string `json:"reviewNote,omitempty"`
	// SignIn says that what signing in as each account's root user takes was audited (centralized
	// root access); the audit itself (root email, password, MFA, keys) is shown to the requester
	// only, by rootwindow status: never in an event or a message, which others can read.
	SignIn  bool   `json:"signInAudited,omitempty"`
	History []Step `json:"history"`
	// Links are where a person follows the request.
	Links *Links `json:"links,omitempty"`
	// Early is set on Closed: whether the window was ended before restoreAt.
	Early *bool `json:"early,omitempty"`
	// Report is set on Report: what the window's root users did during it.
	Report *contract.WindowReport `json:"report,omitempty"`
}

// Step is one entry of the request's history in a notification.
type Step struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Note   string    `json:"note,omitempty"`
}

// NewDetail builds the detail of a kind of notification about rec.
func NewDetail(rec ledger.Record, k Kind) Detail {
	d := Detail{
		NotificationID: rec.RequestID + "/" + string(k), RequestID: rec.RequestID, Fields: rec.Fields, Origin: rec.Origin,
		Status: string(rec.Status), CreatedAt: rec.CreatedAt, OpenedAt: rec.OpenedAt, RestoreAt: rec.RestoreAt,
		ClosedAt: rec.ClosedAt, Problems: rec.Problems, LastError: rec.LastError, RestoreFailedAt: rec.RestoreFailedAt,
		ConfirmBy: rec.ConfirmBy, ConfirmedBy: rec.ConfirmedBy, ConfirmedAt: rec.ConfirmedAt,
		ApproveBy: rec.ApproveBy, ApprovedBy: rec.ApprovedBy, ApprovedAt: rec.ApprovedAt, DeniedBy: rec.DeniedBy, DeniedAt: rec.DeniedAt,
		Decision: rec.Decision, ReviewedBy: rec.ReviewedBy, ReviewNote: rec.ReviewNote, SignIn: len(rec.SignIn) > 0, Links: linksOf(rec),
	}
	for _, h := range rec.History {
		d.History = append(d.History, Step{Status: string(h.Status), At: h.At, Actor: h.Actor, Note: h.Note})
	}
	if k == Closed {
		early := !rec.ClosedAt.IsZero() && rec.ClosedAt.Before(rec.RestoreAt)
		d.Early = &early
	}
	if k == WindowReport {
		d.Report = rec.Report
	}
	return d
}

// Links are where a person follows a request.
type Links struct {
	// Execution is the request's execution in the Step Functions console.
	Execution string `json:"execution"`
}

// linksOf builds the links from the record's execution ARN (arn:aws:states:<region>:...).
func linksOf(rec ledger.Record) *Links {
	parts := strings.SplitN(rec.ExecutionARN, ":", 5)
	if len(parts) < 5 || parts[2] != "states" || parts[3] == "" {
		return nil
	}
	host := "console.aws.amazon.com"
	switch {
	case strings.HasPrefix(parts[1], "aws-us-gov"):
		host = "console.amazonaws-us-gov.com"
	case strings.HasPrefix(parts[1], "aws-cn"):
		host = "console.amazonaws.cn"
	}
	return &Links{Execution: fmt.Sprintf("https://%s.%s/states/home?region=%s#/v2/executions/details/%s", parts[3], host, parts[3], rec.ExecutionARN)}
}

// EventsAPI is the EventBridge call the publisher makes.
type EventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// TopicAPI is the SNS call the publisher makes.
type TopicAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
	Subscribe(ctx context.Context, in *sns.SubscribeInput, optFns ...func(*sns.Options)) (*sns.SubscribeOutput, error)
	ListSubscriptionsByTopic(ctx context.Context, in *sns.ListSubscriptionsByTopicInput, optFns ...func(*sns.Options)) (*sns.ListSubscriptionsByTopicOutput, error)
	GetSubscriptionAttributes(ctx context.Context, in *sns.GetSubscriptionAttributesInput, optFns ...func(*sns.Options)) (*sns.GetSubscriptionAttributesOutput, error)
}

// Publisher sends notifications to an event bus and, when a topic is given, to an SNS topic.
type Publisher struct {
	events   EventsAPI
	bus      string
	topic    TopicAPI
	topicARN string
	now      func() time.Time
}

// New returns a publisher to bus (a name or ARN) and to topicARN, if not "".
func New(events EventsAPI, bus string, topic TopicAPI, topicARN string, now func() time.Time) *Publisher {
	return &Publisher{events: events, bus: bus, topic: topic, topicARN: topicARN, now: now}
}

// Publish sends one notification about rec: the event first, then the message.
func (p *Publisher) Publish(ctx context.Context, rec ledger.Record, k Kind) error {
	d := NewDetail(rec, k)
	subject, body := Message(d, k)
	if err := p.send(ctx, k, d, subject, body, map[string]string{AttrRequestID: rec.RequestID, AttrRequester: rec.Requester}); err != nil {
		return fmt.Errorf("notify %s of %s: %w", k, rec.RequestID, err)
	}
	return nil
}

// Drift is the detail of a Drift Detected notification.
type Drift struct {
	NotificationID string   `json:"notificationId"`
	PolicyID       string   `json:"policyId"`
	AccountIDs     []string `json:"accountIds"` // the guardrail is missing from these, and no window is open on them
	// More counts the drifted accounts beyond the first MaxDriftListed, left out of AccountIDs so
	// that the event and the message stay far below their 256 KB limits.
	More int `json:"moreAccounts,omitempty"`
	// Released lost the guardrail but carry the rootwindow:unprotected tag: no longer watched.
	Released []string `json:"releasedAccountIds,omitempty"`
	// Content says what is wrong with the guardrail's document itself (changed since it was
	// pinned, or holding statements besides the root deny), if anything.
	Content    string    `json:"content,omitempty"`
	DetectedAt time.Time `json:"detectedAt"`
}

// MaxDriftListed bounds the accounts one drift notification names.
const MaxDriftListed = 1000

// PublishDrift reports accounts from which the guardrail is missing although no window is open.
func (p *Publisher) PublishDrift(ctx context.Context, d Drift) error {
	if len(d.AccountIDs) > MaxDriftListed {
		d.More += len(d.AccountIDs) - MaxDriftListed
		d.AccountIDs = d.AccountIDs[:MaxDriftListed]
	}
	if len(d.Released) > MaxDriftListed {
		d.Released = d.Released[:MaxDriftListed]
	}
	listed := strings.Join(d.AccountIDs, ", ")
	if d.More > 0 {
		listed += fmt.Sprintf(" and %d more", d.More)
	}
	subject := fmt.Sprintf("rootwindow: guardrail missing, no window open (%s)", accountsSummary(d.AccountIDs))
	if len(subject) > 100 {
		subject = subject[:100]
	}
	body := fmt.Sprintf("ACTION NEEDED: the root-user guardrail %s is missing from accounts that have no open window.\n\n"+
		"Accounts:   %s\nDetected:   %s\n\nSomeone or something detached it outside rootwindow: attach it again and find out who (CloudTrail: DetachPolicy).\n\nNotification ID: %s\n",
		d.PolicyID, listed, stamp(d.DetectedAt), d.NotificationID)
	if len(d.AccountIDs) == 0 && d.Content == "" {
		subject = "rootwindow: accounts released from drift detection"
		body = fmt.Sprintf("The root-user guardrail %s no longer applies to these accounts, and each carries the %s tag: rootwindow stops watching them.\n\nDetected:   %s\n\nIf that is not on purpose, attach the guardrail again, remove the tag and find out who did it (CloudTrail: DetachPolicy, TagResource).\n\nNotification ID: %s\n",
			d.PolicyID, contract.TagUnprotected, stamp(d.DetectedAt), d.NotificationID)
	}
	if d.Content != "" {
		subject = "rootwindow: the guardrail's document changed"
		if len(d.AccountIDs) > 0 {
			subject += fmt.Sprintf(", and it is missing (%s)", accountsSummary(d.AccountIDs))
		}
		subject = subject[:min(len(subject), 100)]
		body = fmt.Sprintf("ACTION NEEDED: %s\n\nAccounts without it: %s\nDetected:   %s\n\nFind who changed it (CloudTrail: UpdatePolicy) and put the document back, or re-pin it if the change is yours.\n\nNotification ID: %s\n",
			d.Content, listed, stamp(d.DetectedAt), d.NotificationID)
	}
	if len(d.Released) > 0 {
		body += fmt.Sprintf("\nReleased from drift detection (they carry the %s tag): %s\n", contract.TagUnprotected, strings.Join(d.Released, ", "))
	}
	if err := p.send(ctx, DriftDetected, d, subject, body, nil); err != nil {
		return fmt.Errorf("notify drift: %w", err)
	}
	return nil
}

// send puts the event, then publishes the message (when there is a topic).
func (p *Publisher) send(ctx context.Context, k Kind, detail any, subject, body string, attributes map[string]string) error {
	doc, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	out, err := p.events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String(Source), DetailType: aws.String(k.DetailType()), Detail: aws.String(string(doc)),
		EventBusName: aws.String(p.bus), Time: aws.Time(p.now()),
	}}})
	if err != nil {
		return fmt.Errorf("put event: %w", err)
	}
	if out.FailedEntryCount > 0 {
		code, msg := "", ""
		if len(out.Entries) > 0 {
			code, msg = aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage)
		}
		return fmt.Errorf("put event: EventBridge refused it: %s %s", code, msg)
	}
	if p.topicARN == "" {
		return nil
	}
	attrs := map[string]snstypes.MessageAttributeValue{
		"event": {DataType: aws.String("String"), StringValue: aws.String(k.DetailType())},
	}
	for name, v := range attributes {
		if v != "" {
			attrs[name] = snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	// One message per protocol (SNS MessageStructure json): the chat form to https subscriptions,
	// where a chat channel listens (ChatMessage); the plain text to email and everything else.
	msg, err := json.Marshal(map[string]string{"default": body, "email": body, "https": string(ChatMessage(k, attributes[AttrRequestID], subject, body))})
	if err != nil {
		return err
	}
	_, err = p.topic.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(p.topicARN), Subject: aws.String(subject), Message: aws.String(string(msg)), MessageStructure: aws.String("json"),
		MessageAttributes: attrs,
	})
	if err != nil {
		return fmt.Errorf("publish message: %w", err)
	}
	return nil
}

var headlines = map[Kind]string{
	Scheduled:         "Root access window scheduled",
	Rejected:          "Root access window request rejected",
	Opened:            "Root access window OPEN: the root-user guardrail is lifted",
	Closed:            "Root access window closed: the guardrail is back",
	Cancelled:         "Root access window cancelled before it started",
	Failed:            "Root access window did not open",
	RestoreFailed:     "ACTION NEEDED: the root-user guardrail could not be restored",
	ApprovalRequested: "APPROVAL NEEDED: a root access window waits for a second administrator",
	Approved:          "Root access window approved",
	Denied:            "Root access window denied: nothing will be lifted",
	WindowReport:      "What root did in the window, as CloudTrail recorded it",
}

// Message is the SNS subject (at most 100 characters, as SNS requires) and plain-text body of a
// notification, for people reading email.
func Message(d Detail, k Kind) (subject, body string) {
	rec := d
	subject = fmt.Sprintf("rootwindow: %s (%s)", strings.ToLower(string(k)), accountsSummary(rec.AccountIDs))
	if rec.BreakGlass {
		subject = "rootwindow: " + BreakGlassMark + " " + subject[len("rootwindow: "):]
	}
	if len(subject) > 100 {
		subject = subject[:100]
	}
	var b strings.Builder
	line := func(label, format string, args ...any) { labelled(&b, label, fmt.Sprintf(format, args...)) }
	if rec.BreakGlass {
		b.WriteString(BreakGlassMark + ": ")
	}
	b.WriteString(headlines[k] + "\n\n")
	line("Request", "%s", rec.RequestID)
	line("Accounts", "%s", strings.Join(rec.AccountIDs, ", "))
	line("Requester", "%s", rec.Requester)
	line("Reason", "%s", rec.Reason)
	if rec.Task != "" {
		line("Task", "%s", rec.Task)
	}
	if rec.WhyNotAssumeRoot != "" {
		line("Not AssumeRoot", "%s", rec.WhyNotAssumeRoot)
	}
	switch {
	case !rec.OpenedAt.IsZero():
		line("Window", "%s to %s (%d h)", stamp(rec.OpenedAt), stamp(rec.RestoreAt), rec.Hours)
	case !rec.StartAt.IsZero():
		line("Window", "from %s for %d h", stamp(rec.StartAt), rec.Hours)
	}
	if !rec.ClosedAt.IsZero() {
		closed := stamp(rec.ClosedAt)
		if d.Early != nil && *d.Early {
			closed += " (ended early)"
		}
		line("Closed", "%s", closed)
	}
	line("Status", "%s", rec.Status)
	if rec.BreakGlass {
		reviewed := "not yet: another administrator reviews it: rootwindow review " + rec.RequestID + " --note TEXT"
		if d.ReviewedBy != "" {
			reviewed = "by " + d.ReviewedBy + ": " + d.ReviewNote
		}
		line("Break-glass", "no approval was asked; reviewed %s", reviewed)
	}
	if !rec.ConfirmBy.IsZero() && rec.ConfirmedAt.IsZero() && k == Scheduled {
		line("Confirm", "by %s: the requester confirms with POST /requests/%s/confirm, or nothing is lifted", stamp(rec.ConfirmBy), rec.RequestID)
	}
	if rec.ConfirmedBy != "" {
		line("Confirmed", "by %s at %s", rec.ConfirmedBy, stamp(rec.ConfirmedAt))
	}
	if k == ApprovalRequested {
		line("Approve", "by %s, as an administrator other than the requester: rootwindow approve %s (or deny %s), or nothing is lifted", stamp(rec.ApproveBy), rec.RequestID, rec.RequestID)
	}
	if rec.ApprovedBy != "" {
		line("Approved", "by %s at %s", rec.ApprovedBy, stamp(rec.ApprovedAt))
	}
	if rec.DeniedBy != "" {
		line("Denied", "by %s at %s", rec.DeniedBy, stamp(rec.DeniedAt))
	}
	if rec.Decision != "" {
		line("Decision", "%s", rec.Decision)
	}
	if rec.SignIn {
		line("Sign-in", "what signing in as each account's root user takes: rootwindow status %s, as the requester", rec.RequestID)
	}
	for _, p := range rec.Problems {
		line("Problem", "%s", p)
	}
	if rec.LastError != "" && (k == Failed || k == RestoreFailed) {
		line("Error", "%s", rec.LastError)
	}
	if r := d.Report; k == WindowReport && r != nil {
		reportLines(line, *r)
	}
	if k == RestoreFailed {
		b.WriteString("\nThe guardrail may be missing from these accounts: attach it by hand now. Their leases are kept, so no other window can open on them meanwhile.\n")
	}
	if d.Links != nil {
		line("Execution", "%s", d.Links.Execution)
	}
	fmt.Fprintf(&b, "\nNotification ID: %s\n", d.NotificationID)
	return subject, b.String()
}

func accountsSummary(ids []string) string {
	switch len(ids) {
	case 0:
		return "no accounts"
	case 1:
		return ids[0]
	}
	return fmt.Sprintf("%s and %d more", ids[0], len(ids)-1)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// Message attributes of every message about one request: a subscription filters on them.
const (
	AttrRequestID = "requestId"
	AttrRequester = "requester"
)

// Subscription is a requester's own subscription to the topic.
type Subscription struct {
	Protocol     string              `json:"protocol"` // "email" or "https"
	Endpoint     string              `json:"endpoint"`
	FilterPolicy map[string][]string `json:"filterPolicy"`
	// ARN is the subscription's, or "pending confirmation" until its endpoint confirms it.
	ARN string `json:"subscriptionArn"`
}

// SubscribeRequester subscribes endpoint to the topic with a filter policy on the requester
// attribute, so that it receives the messages about requester's own requests and nothing else
// (a message without the attribute, such as drift, does not match). The subscription is
// rootwindow's: its filter policy is not the requester's to change. Subscribing the same again
// returns the same subscription (SNS's own rule).
func (p *Publisher) SubscribeRequester(ctx context.Context, requester, protocol, endpoint string) (Subscription, error) {
	sub := Subscription{Protocol: protocol, Endpoint: endpoint, FilterPolicy: map[string][]string{AttrRequester: {requester}}}
	if p.topicARN == "" {
		return sub, errors.New("no topic is configured")
	}
	policy, _ := json.Marshal(sub.FilterPolicy)
	out, err := p.topic.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: aws.String(p.topicARN), Protocol: aws.String(protocol), Endpoint: aws.String(endpoint),
		Attributes: map[string]string{"FilterPolicy": string(policy), "FilterPolicyScope": "MessageAttributes"},
	})
	if err != nil {
		return sub, fmt.Errorf("subscribe: %w", err)
	}
	sub.ARN = aws.ToString(out.SubscriptionArn)
	return sub, nil
}

// OperatorsProblem says why the operators may not hear of what rootwindow announces ("" when they
// will): the topic has no subscription of email, it is still pending confirmation, or it was
// confirmed by following the link in SNS's message rather than by an AWS-signed
// ConfirmSubscription with AuthenticateOnUnsubscribe, so that anyone holding a forwarded message
// can unsubscribe it with the link at its foot (SNS API Reference: ConfirmSubscription,
// AuthenticateOnUnsubscribe; GetSubscriptionAttributes, ConfirmationWasAuthenticated).
func (p *Publisher) OperatorsProblem(ctx context.Context, email string) (string, error) {
	if p.topicARN == "" {
		return "", nil
	}
	in := &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(p.topicARN)}
	pending := false
	for {
		out, err := p.topic.ListSubscriptionsByTopic(ctx, in)
		if err != nil {
			return "", fmt.Errorf("list the operators' topic's subscriptions: %w", err)
		}
		for _, sub := range out.Subscriptions {
			if aws.ToString(sub.Protocol) != "email" || !strings.EqualFold(aws.ToString(sub.Endpoint), email) {
				continue
			}
			arn := aws.ToString(sub.SubscriptionArn)
			if !strings.HasPrefix(arn, "arn:") {
				pending = true // "PendingConfirmation"
				continue
			}
			attrs, err := p.topic.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(arn)})
			if err != nil {
				return "", fmt.Errorf("read the operators' subscription: %w", err)
			}
			if attrs.Attributes["ConfirmationWasAuthenticated"] != "true" {
				return fmt.Sprintf("%s was confirmed by the link in SNS's message, so anyone holding a forwarded notification can unsubscribe it: confirm it again with `aws sns confirm-subscription --authenticate-on-unsubscribe true` (README, \"Operators' email\")", email), nil
			}
			return "", nil
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	if pending {
		return email + " has not confirmed its subscription to the operators' topic: nothing rootwindow announces reaches it", nil
	}
	return email + " is not subscribed to the operators' topic (unsubscribed, or never subscribed): nothing rootwindow announces reaches it", nil
}
