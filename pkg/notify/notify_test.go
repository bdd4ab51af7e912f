package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/notify"
	rwrequest "github.com/rootwindow/rootwindow/pkg/request"
)

var update = flag.Bool("update", false, "rewrite the samples in events/notifications")

var (
	t0      = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	request = ledger.Record{
		RequestID: "api-5f0c2b8e9d1a4c3b8e7f6a5b4c3d2e1f",
		Fields: rwrequest.Fields{
			Requester: "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/alice@example.com",
			Reason:    "Enable MFA delete on the audit bucket (SEC-1234)", AccountIDs: []string{"111111111111", "222222222222"},
			Hours: 2, StartAt: t0, Task: "s3-mfa-delete"},
		CreatedAt:    t0,
		ExecutionARN: "arn:aws:states:us-east-1:999999999999:execution:RootWindowWorkflowStateMachine:api-5f0c2b8e9d1a4c3b8e7f6a5b4c3d2e1f",
		Origin:       contract.Origin{Channel: "api", Caller: "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/alice@example.com"},
	}
)

func at(rec ledger.Record, status ledger.Status, minutes int, actor, note string) ledger.Record {
	rec.Status = status
	rec.History = append(append([]ledger.Transition(nil), rec.History...), ledger.Transition{Status: status, At: t0.Add(time.Duration(minutes) * time.Minute), Actor: actor, Note: note})
	return rec
}

// lifecycle builds a request's record at each step of a window ended early.
func lifecycle() map[notify.Kind]ledger.Record {
	scheduled := at(request, ledger.Scheduled, 0, "rootwindow:api", "validated")
	opening := at(scheduled, ledger.Opening, 0, "rootwindow:detach", "lifting the guardrail")
	open := at(opening, ledger.Open, 1, "rootwindow:detach", "guardrail lifted from 2 account(s)")
	open.OpenedAt, open.RestoreAt = t0.Add(time.Minute), t0.Add(2*time.Hour+time.Minute)
	closing := at(open, ledger.Closing, 45, request.Requester, "ended early by "+request.Requester)
	closed := at(closing, ledger.Closed, 45, request.Requester, "guardrail restored")
	closed.ClosedAt = t0.Add(45 * time.Minute)
	stuck := at(open, ledger.Closing, 121, "rootwindow:reattach", "window over")
	stuck.RestoreFailedAt = t0.Add(5 * time.Hour)
	stuck.LastError = "the guardrail could not be restored: ConstraintViolationException: MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"
	rejected := at(request, ledger.Rejected, 0, "rootwindow:validate", "rejected at validation")
	rejected.Problems = []string{"accountIds[1]: 222222222222 already has a window: request api-0a1b2c3d holds it until 2026-11-23T12:00:00Z"}
	cancelled := at(scheduled, ledger.Cancelled, 5, request.Requester, "cancelled by "+request.Requester)
	failed := at(opening, ledger.Failed, 1, "rootwindow:detach", "detach guardrail from 222222222222: AccessDeniedException")
	failed.LastError = failed.History[len(failed.History)-1].Note
	asked := scheduled
	asked.ApproveBy = t0.Add(time.Hour)
	approved := at(asked, ledger.Scheduled, 10, "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/bob@example.com",
		"approved by arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/bob@example.com: checked SEC-1234")
	approved.ApprovedBy, approved.ApprovedAt, approved.Decision = approved.History[len(approved.History)-1].Actor, t0.Add(10*time.Minute), "checked SEC-1234"
	denied := at(asked, ledger.Scheduled, 10, approved.ApprovedBy, "denied by "+approved.ApprovedBy+": no change ticket")
	denied.DeniedBy, denied.DeniedAt, denied.Decision = approved.ApprovedBy, t0.Add(10*time.Minute), "no change ticket"
	reported := closed
	reported.Report = &contract.WindowReport{MadeAt: t0.Add(time.Hour), From: t0, To: t0.Add(45 * time.Minute),
		Source:  "arn:aws:cloudtrail:us-east-1:999999999999:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE",
		QueryID: "0b0a1f9e-6c5d-4e3f-9a8b-7c6d5e4f3a2b",
		Query:   "SELECT eventID, eventTime, recipientAccountId, eventName, eventSource, awsRegion, errorCode, errorMessage, sourceIPAddress FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE WHERE userIdentity.type = 'Root' AND eventTime >= '2026-11-23 10:00:00' AND eventTime <= '2026-11-23 10:45:00' AND recipientAccountId IN ('111111111111', '222222222222') ORDER BY eventTime ASC"}
	reported.Report.Summarize([]contract.RootEvent{
		{EventID: "8e1d5a0c-1b2a-4f3e-9d8c-7b6a5f4e3d2c", Time: t0.Add(3 * time.Minute), AccountID: "111111111111", Name: "ConsoleLogin", Source: "signin.amazonaws.com", Region: "us-east-1", SourceIP: "192.0.2.10"},
		{EventID: "2f3e4d5c-6b7a-4918-8a7b-6c5d4e3f2a1b", Time: t0.Add(5 * time.Minute), AccountID: "111111111111", Name: "PutBucketVersioning", Source: "s3.amazonaws.com", Region: "eu-west-1", SourceIP: "192.0.2.10"},
		{EventID: "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d", Time: t0.Add(7 * time.Minute), AccountID: "222222222222", Name: "ConsoleLogin", Source: "signin.amazonaws.com", Region: "us-east-1", Error: "Failed authentication", SourceIP: "203.0.113.7"},
	})
	return map[notify.Kind]ledger.Record{
		notify.WindowReport:      reported,
		notify.ApprovalRequested: asked, notify.Approved: approved, notify.Denied: denied,
		notify.Scheduled: scheduled, notify.Opened: open, notify.Closed: closed, notify.RestoreFailed: stuck,
		notify.Rejected: rejected, notify.Cancelled: cancelled, notify.Failed: failed,
	}
}

func TestPending(t *testing.T) {
	recs := lifecycle()
	for _, c := range []struct {
		kind     notify.Kind
		notified []string
		want     []notify.Kind
	}{
		{notify.Scheduled, nil, []notify.Kind{notify.Scheduled}},
		{notify.Opened, []string{"Scheduled"}, []notify.Kind{notify.Opened}},
		{notify.Closed, []string{"Scheduled"}, []notify.Kind{notify.Opened, notify.Closed}},
		{notify.Closed, []string{"Scheduled", "Opened", "Closed"}, nil},
		{notify.RestoreFailed, []string{"Scheduled", "Opened"}, []notify.Kind{notify.RestoreFailed}},
		{notify.Rejected, nil, []notify.Kind{notify.Rejected}},
		{notify.Cancelled, nil, []notify.Kind{notify.Scheduled, notify.Cancelled}},
		{notify.Failed, []string{"Scheduled"}, []notify.Kind{notify.Failed}},
		{notify.ApprovalRequested, nil, []notify.Kind{notify.Scheduled, notify.ApprovalRequested}},
		{notify.Approved, []string{"Scheduled", "Approval Requested"}, []notify.Kind{notify.Approved}},
		{notify.Denied, []string{"Scheduled"}, []notify.Kind{notify.ApprovalRequested, notify.Denied}},
		{notify.WindowReport, []string{"Scheduled", "Opened", "Closed"}, []notify.Kind{notify.WindowReport}},
	} {
		rec := recs[c.kind]
		rec.Notified = c.notified
		if got := notify.Pending(rec); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s with %v delivered: pending %v, want %v", c.kind, c.notified, got, c.want)
		}
	}
	// A request rejected after its reservation lost a race is announced only as Rejected.
	raced := at(at(request, ledger.Scheduled, 0, "v", ""), ledger.Rejected, 0, "v", "")
	if got := notify.Pending(raced); !reflect.DeepEqual(got, []notify.Kind{notify.Rejected}) {
		t.Errorf("raced rejection: %v", got)
	}
}

func TestMessage(t *testing.T) {
	recs := lifecycle()
	subject, body := notify.Message(notify.NewDetail(recs[notify.Closed], notify.Closed), notify.Closed)
	if subject != "rootwindow: closed (111111111111 and 1 more)" {
		t.Errorf("subject %q", subject)
	}
	for _, want := range []string{
		"Root access window closed: the guardrail is back",
		"Accounts:   111111111111, 222222222222",
		"Window:     2026-11-23 10:01 UTC to 2026-11-23 12:01 UTC (2 h)",
		"Closed:     2026-11-23 10:45 UTC (ended early)",
		"Notification ID: api-5f0c2b8e9d1a4c3b8e7f6a5b4c3d2e1f/Closed",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	long := recs[notify.RestoreFailed]
	long.AccountIDs = []string{strings.Repeat("1", 200)}
	if s, b := notify.Message(notify.NewDetail(long, notify.RestoreFailed), notify.RestoreFailed); len(s) > 100 || !strings.Contains(b, "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED") {
		t.Errorf("subject of %d characters; body %s", len(s), b)
	}
}

// The samples in events/notifications are generated from the code (go test ./pkg/notify -update)
// and must stay what it produces: they document the detail schema for integrators.
func TestSamplesAreWhatIsPublished(t *testing.T) {
	for kind, rec := range lifecycle() {
		detail, err := json.Marshal(notify.NewDetail(rec, kind))
		if err != nil {
			t.Fatal(err)
		}
		// As an EventBridge rule's target receives it.
		ev := events.CloudWatchEvent{Version: "0", ID: "0e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7", DetailType: kind.DetailType(), Source: contract.NotificationSource,
			AccountID: "999999999999", Time: t0, Region: "us-east-1", Resources: []string{}, Detail: detail}
		sample(t, ev, "events", "notifications", sampleName(kind))
		var back struct {
			notify.Detail
		}
		dec := json.NewDecoder(bytes.NewReader(detail))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&back); err != nil || back.NotificationID != rec.RequestID+"/"+string(kind) {
			t.Errorf("%s: %v %q", kind, err, back.NotificationID)
		}
	}
	if n := len(notify.Kinds); n != len(lifecycle()) {
		t.Errorf("%d kinds but %d samples", n, len(lifecycle()))
	}
}

// The chat form of each notification (what a Slack or Teams channel of Amazon Q Developer in chat
// applications shows) is sampled in events/notifications/chat, generated from the code like the
// events: the custom-notification schema's fields, the request threading the messages, the next
// command to run, nothing but what the text message says.
func TestChatSamplesAreWhatIsPublished(t *testing.T) {
	for kind, rec := range lifecycle() {
		subject, body := notify.Message(notify.NewDetail(rec, kind), kind)
		var chat notify.Chat
		dec := json.NewDecoder(bytes.NewReader(notify.ChatMessage(kind, rec.RequestID, subject, body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&chat); err != nil {
			t.Fatal(err)
		}
		if chat.Version != "1.0" || chat.Source != "custom" || chat.Content.TextType != "client-markdown" || chat.Content.Title == "" ||
			chat.Metadata.ThreadID != rec.RequestID || chat.Metadata.EventType != kind.DetailType() || len(chat.Content.NextSteps) == 0 {
			t.Errorf("%s: %+v", kind, chat)
		}
		for _, line := range strings.Split(strings.TrimSpace(body), "\n")[1:] {
			if !strings.Contains(chat.Content.Description, line) {
				t.Errorf("%s: the chat form lacks %q of the message", kind, line)
			}
		}
		if kind == notify.ApprovalRequested && !strings.Contains(strings.Join(chat.Content.NextSteps, " "), "rootwindow approve "+rec.RequestID) {
			t.Errorf("an approval request without the command: %v", chat.Content.NextSteps)
		}
		sample(t, chat, "events", "notifications", "chat", sampleName(kind))
	}
}

func sampleName(k notify.Kind) string {
	return strings.ToLower(strings.ReplaceAll(string(k), " ", "-")) + ".json"
}

// sample checks that the file at path (under the repository) holds v as indented JSON, or with
// -update writes it there.
func sample(t *testing.T, v any, path ...string) {
	t.Helper()
	want, _ := json.MarshalIndent(v, "", "  ")
	want = append(want, '\n')
	name := filepath.Join(append([]string{testenv.RepoRoot()}, path...)...)
	if *update {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/notify -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what rootwindow publishes (run go test ./pkg/notify -update):\n%s", name, want)
	}
}

// A notification links to the request's execution in the Step Functions console, in the
// partition and region of its ARN.
func TestLinks(t *testing.T) {
	d := notify.NewDetail(request, notify.Scheduled)
	want := "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/" + request.ExecutionARN
	if d.Links == nil || d.Links.Execution != want {
		t.Errorf("links %+v", d.Links)
	}
	gov := request
	gov.ExecutionARN = "arn:aws-us-gov:states:us-gov-west-1:999999999999:execution:sm:x"
	if d := notify.NewDetail(gov, notify.Scheduled); d.Links == nil || !strings.HasPrefix(d.Links.Execution, "https://us-gov-west-1.console.amazonaws-us-gov.com/") {
		t.Errorf("GovCloud links %+v", d.Links)
	}
	none := request
	none.ExecutionARN = "not an arn"
	if d := notify.NewDetail(none, notify.Scheduled); d.Links != nil {
		t.Errorf("links from a bad ARN: %+v", d.Links)
	}
	if _, body := notify.Message(notify.NewDetail(request, notify.Opened), notify.Opened); !strings.Contains(body, "Execution:  "+want) || !strings.Contains(body, "Task:       s3-mfa-delete") {
		t.Errorf("message:\n%s", body)
	}
}

// A drift of thousands of accounts lists the first MaxDriftListed and counts the rest, in the
// event and in the message, so neither comes near its 256 KB limit.
func TestDriftNotificationIsBounded(t *testing.T) {
	emu := awsemu.New()
	p := testenv.Notifier(t, emu, func() time.Time { return t0 })
	ids := make([]string, 3000)
	for i := range ids {
		ids[i] = fmt.Sprintf("5%011d", i)
	}
	if err := p.PublishDrift(context.Background(), notify.Drift{NotificationID: "drift/x", PolicyID: "p-rootguard01", AccountIDs: ids, DetectedAt: t0}); err != nil {
		t.Fatal(err)
	}
	var d notify.Drift
	ev, msg := emu.Events()[0], emu.Messages()[0]
	if err := json.Unmarshal(ev.Detail, &d); err != nil || len(d.AccountIDs) != notify.MaxDriftListed || d.More != 3000-notify.MaxDriftListed {
		t.Errorf("event: %d listed, %d more, %v", len(d.AccountIDs), d.More, err)
	}
	if !strings.Contains(msg.Body, "and 2000 more") || len(ev.Detail) > 64<<10 || len(msg.Body) > 64<<10 {
		t.Errorf("sizes: event %d, message %d bytes", len(ev.Detail), len(msg.Body))
	}
}

// Through the real SNS client: one publish carries the plain text for email (and every other
// protocol) and the chat form for https subscriptions, where a chat channel listens; the text is
// what Message makes, the chat form what ChatMessage makes.
func TestOnePublishForEmailAndChat(t *testing.T) {
	emu := awsemu.New()
	p := testenv.Notifier(t, emu, func() time.Time { return t0 })
	rec := lifecycle()[notify.ApprovalRequested]
	if err := p.Publish(context.Background(), rec, notify.ApprovalRequested); err != nil {
		t.Fatal(err)
	}
	msg := emu.Messages()[0]
	subject, body := notify.Message(notify.NewDetail(rec, notify.ApprovalRequested), notify.ApprovalRequested)
	if msg.For("email") != body || msg.Body != body || msg.For("sqs") != body || msg.Subject != subject {
		t.Errorf("email: %q", msg.For("email"))
	}
	var chat notify.Chat
	if err := json.Unmarshal([]byte(msg.For("https")), &chat); err != nil || chat.Source != "custom" || chat.Metadata.ThreadID != rec.RequestID {
		t.Errorf("https: %v %q", err, msg.For("https"))
	}
}

// Root activity outside any window is announced with the account, the time and the event, as an
// event for integrators (sampled in events/notifications) and a message for people, its chat form
// flagged severe; an announcement of many events lists the first and counts the rest.
func TestRootOutsideWindowNotification(t *testing.T) {
	ro := notify.RootOutside{NotificationID: "root-outside/333333333333/7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", AccountID: "333333333333",
		Events: []contract.RootEvent{{EventID: "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", Time: t0.Add(-20 * time.Minute), AccountID: "333333333333",
			Name: "ConsoleLogin", Source: "signin.amazonaws.com", Region: "us-east-1", SourceIP: "198.51.100.23"}},
		Source:     "arn:aws:cloudtrail:us-east-1:999999999999:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE",
		Query:      "SELECT eventID, eventTime, recipientAccountId, eventName, eventSource, awsRegion, errorCode, errorMessage, sourceIPAddress FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE WHERE userIdentity.type = 'Root' AND eventTime >= '2026-11-23 07:00:00' AND eventTime <= '2026-11-23 10:00:00' ORDER BY eventTime ASC",
		DetectedAt: t0}
	detail, _ := json.Marshal(ro)
	sample(t, events.CloudWatchEvent{Version: "0", ID: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", DetailType: notify.RootOutsideWindow.DetailType(), Source: contract.NotificationSource,
		AccountID: "999999999999", Time: t0, Region: "us-east-1", Resources: []string{}, Detail: detail}, "events", "notifications", "root-outside-window.json")
	subject, body := notify.RootOutsideMessage(ro)
	for _, want := range []string{"333333333333", "2026-11-23T09:40:00Z", "ConsoleLogin", "198.51.100.23", ro.Query} {
		if !strings.Contains(body, want) {
			t.Errorf("message lacks %q:\n%s", want, body)
		}
	}
	var chat notify.Chat
	if err := json.Unmarshal(notify.ChatMessage(notify.RootOutsideWindow, "", subject, body), &chat); err != nil || !strings.HasPrefix(chat.Content.Title, ":rotating_light:") || len(chat.Content.NextSteps) == 0 {
		t.Errorf("chat form %+v %v", chat, err)
	}
	sample(t, chat, "events", "notifications", "chat", "root-outside-window.json")

	emu := awsemu.New()
	p := testenv.Notifier(t, emu, func() time.Time { return t0 })
	many := ro
	for i := range 30 {
		many.Events = append(many.Events, contract.RootEvent{EventID: fmt.Sprint(i), Time: t0.Add(time.Duration(i) * time.Second), AccountID: ro.AccountID, Name: "GetCallerIdentity", Source: "sts.amazonaws.com"})
	}
	if err := p.PublishRootOutside(context.Background(), many); err != nil {
		t.Fatal(err)
	}
	var got notify.RootOutside
	if err := json.Unmarshal(emu.Events()[0].Detail, &got); err != nil || len(got.Events) != 20 || got.More != 11 || emu.Events()[0].DetailType != "Root Access Window Root Outside Window" {
		t.Errorf("event: %d listed, %d more, %v", len(got.Events), got.More, err)
	}
	if m := emu.Messages()[0]; !strings.Contains(m.Body, "and 11 more") || len(m.Subject) > 100 {
		t.Errorf("message %q\n%s", m.Subject, m.Body)
	}
}
