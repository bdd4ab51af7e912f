package harness_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rootwindow/rootwindow/infra/stack"
	"github.com/rootwindow/rootwindow/internal/harness"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/notify"
)

// published lists the notifications sent: each event's detail-type, checking that every one has
// its SNS message, in the same order.
func published(t *testing.T) []string {
	t.Helper()
	var kinds []string
	for _, e := range h.AWS.Events() {
		if e.Source != contract.NotificationSource || e.Bus != "default" {
			t.Errorf("event %s from %s on %s", e.DetailType, e.Source, e.Bus)
		}
		kinds = append(kinds, strings.TrimPrefix(e.DetailType, "Root Access Window "))
	}
	msgs := h.AWS.Messages()
	if len(msgs) != len(kinds) {
		t.Fatalf("%d events, %d SNS messages", len(kinds), len(msgs))
	}
	for i, m := range msgs {
		if m.TopicARN != harness.TopicARN || m.Attributes["event"] != "Root Access Window "+kinds[i] {
			t.Errorf("message %d %+v for event %s", i, m, kinds[i])
		}
	}
	return kinds
}

func apiCall(t *testing.T, r events.APIGatewayProxyRequest) (int, map[string]any) {
	t.Helper()
	res, err := h.API().Handle(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(res.Body), &body); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s %s → %d %s", r.HTTPMethod, r.Path, res.StatusCode, res.Body)
	return res.StatusCode, body
}

func apiSample(t testing.TB, name string) events.APIGatewayProxyRequest {
	t.Helper()
	var r events.APIGatewayProxyRequest
	if err := json.Unmarshal(testenv.Sample(t, name), &r); err != nil {
		t.Fatal(err)
	}
	r.RequestContext.Identity.UserArn = harness.Requester
	return r
}

func TestAPIChannel(t *testing.T) {
	s := begin(t)
	post := apiSample(t, "api-post-request.json")
	status, body := apiCall(t, post)
	if status != 202 {
		t.Fatalf("POST /requests: %d %v", status, body)
	}
	id := body["requestId"].(string)
	if status, again := apiCall(t, post); status != 202 || again["requestId"] != id {
		t.Errorf("retry with the same Idempotency-Key: %d %v", status, again)
	}
	if n := len(h.AWS.Executions()); n != 1 {
		t.Fatalf("%d executions started", n)
	}
	res, err := h.RunStarted(s.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "SUCCEEDED" || res.Entered()[len(res.Entered())-1] != stack.StateClosed {
		t.Fatalf("execution %s %s %s, states %v", res.Status, res.Error, res.Cause, res.Entered())
	}
	get := apiSample(t, "api-end-request.json")
	get.HTTPMethod, get.Resource, get.Path, get.PathParameters = "GET", "/requests/{id}", "/requests/"+id, map[string]string{"id": id}
	if status, rec := apiCall(t, get); status != 200 || rec["status"] != "CLOSED" || len(rec["history"].([]any)) != 5 {
		t.Errorf("GET: %d %v", status, rec)
	}
	if got := published(t); !reflect.DeepEqual(got, []string{"Scheduled", "Opened", "Closed"}) {
		t.Errorf("published %v", got)
	}
	s.unchanged()
}

// A request that names its task, through the API: the execution asks for what the API booked,
// task and all, and the window opens and closes.
func TestAPIRequestNamingItsTask(t *testing.T) {
	s := begin(t)
	post := apiSample(t, "api-post-request.json")
	var body map[string]any
	if err := json.Unmarshal([]byte(post.Body), &body); err != nil {
		t.Fatal(err)
	}
	body["task"] = "s3-mfa-delete"
	b, _ := json.Marshal(body)
	post.Body, post.Headers["Idempotency-Key"] = string(b), "SEC-1234-task"
	status, answer := apiCall(t, post)
	if status != 202 {
		t.Fatalf("POST /requests: %d %v", status, answer)
	}
	id := answer["requestId"].(string)
	res, err := h.RunStarted(s.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "SUCCEEDED" || res.Entered()[len(res.Entered())-1] != stack.StateClosed {
		t.Fatalf("execution %s %s %s, states %v", res.Status, res.Error, res.Cause, res.Entered())
	}
	if rec := s.record(id); rec.Task != "s3-mfa-delete" || rec.Status != ledger.Closed {
		t.Errorf("recorded task %q, %s", rec.Task, rec.Status)
	}
	s.unchanged()
}

func TestEndEarlyThroughTheAPIDuringTheWindow(t *testing.T) {
	s := begin(t)
	status, body := apiCall(t, apiSample(t, "api-post-request.json"))
	if status != 202 {
		t.Fatalf("%d %v", status, body)
	}
	id := body["requestId"].(string)
	// The test holds the clock: the execution runs up to its Hold window and stands there, for
	// the test to end the window during it, however long the machine takes to get there.
	hold := h.Clock.Go("test")
	defer hold.Done()
	done := make(chan harness.Result)
	go func() {
		res, err := h.RunStarted(s.ctx, id)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	// Open in the ledger, and the execution asleep in its Hold window (the test's actor the only
	// one awake, a timer pending): a busy machine can record OPEN well before the runner has left
	// the lift's state.
	until(t, "the window is open and held", func() bool {
		rec, err := h.Ledger().Get(s.ctx, id)
		return err == nil && rec.Status == ledger.Open && h.Clock.Awake() == 1 && h.Clock.Pending() > 0
	})
	end := apiSample(t, "api-end-request.json")
	end.Path, end.PathParameters = "/requests/"+id+"/end", map[string]string{"id": id}
	// The API changes nothing in the organization: it records the end and stops the execution.
	attaches := len(calls("AttachPolicy"))
	status, rec := apiCall(t, end)
	if status != 202 || rec["status"] != "CLOSING" || len(calls("AttachPolicy")) != attaches {
		t.Fatalf("end: %d %v", status, rec)
	}
	hold.Done()
	res := <-done
	if res.Status != "ABORTED" || res.Entered()[len(res.Entered())-1] != stack.StateHold {
		t.Fatalf("execution %s %s, states %v", res.Status, res.Cause, res.Entered())
	}
	// Step Functions' status change, through the stack's rule, brings the safety net.
	if delivered, err := h.ExecutionEnded(s.ctx, id, res); err != nil || !delivered {
		t.Fatalf("status change delivered %v: %v", delivered, err)
	}
	missing, err := h.Missing(s.ctx, h.Members())
	if err != nil || len(missing) > 0 {
		t.Errorf("after the end, guardrail missing from %v (%v)", missing, err)
	}
	if r := s.record(id); r.Status != ledger.Closed {
		t.Errorf("request %s", r.Status)
	}
	if got := published(t); !reflect.DeepEqual(got, []string{"Scheduled", "Opened", "Closed"}) {
		t.Errorf("published %v", got)
	}
	var closed notify.Detail
	_ = json.Unmarshal(h.AWS.Events()[2].Detail, &closed)
	if closed.Early == nil || !*closed.Early || !closed.ClosedAt.Before(closed.RestoreAt) {
		t.Errorf("Closed: early %v, closed %v, restoreAt %v", closed.Early, closed.ClosedAt, closed.RestoreAt)
	}
	if n := len(calls("AttachPolicy")); n != 2 {
		t.Errorf("%d attaches: the window's SCP at the lift, the guardrail at the restore", n)
	}
	s.unchanged()
}

// until waits, on the wall clock, for cond: while a test holds the clock (an actor of its own),
// virtual time stands still, so this asks only how long the machine takes to get there.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
	}
}

func TestEventBridgeChannel(t *testing.T) {
	s := begin(t)
	event := testenv.Sample(t, "eventbridge-request.json")
	input, err := h.EventBridgeInput(event)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rule input: %s", input)
	// EventBridge names each execution itself; a second delivery of the event is a second one.
	first := s.run("1d2c3b4a-0000-4000-8000-00000000000a", input)
	if first.Status != "SUCCEEDED" || first.Entered()[len(first.Entered())-1] != stack.StateClosed {
		t.Fatalf("first delivery: %s %s, states %v", first.Status, first.Cause, first.Entered())
	}
	rec := s.record("1d2c3b4a-0000-4000-8000-00000000000a")
	if !reflect.DeepEqual(rec.Origin, contract.Origin{Channel: "eventbridge", EventID: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
		SourceAccount: "111111111111", AssertedBy: []string{testenv.Integration}}) {
		t.Errorf("origin %+v", rec.Origin)
	}
	writes := len(calls("AttachPolicy")) + len(calls("DetachPolicy"))
	second := s.run("1d2c3b4a-0000-4000-8000-00000000000b", input)
	if second.Status != "SUCCEEDED" || !reflect.DeepEqual(second.Entered(), []string{stack.StateValidate, stack.StateNeedsApproval, stack.StateStartsLater, stack.StateDuplicate}) {
		t.Errorf("second delivery: %s, states %v", second.Status, second.Entered())
	}
	if len(calls("AttachPolicy"))+len(calls("DetachPolicy")) != writes {
		t.Error("a duplicate delivery touched the organization")
	}
	if got := published(t); !reflect.DeepEqual(got, []string{"Scheduled", "Opened", "Closed"}) {
		t.Errorf("published %v", got)
	}
	s.unchanged()
}

func TestConsoleRejectionIsReadableAndAnnounced(t *testing.T) {
	s := begin(t)
	res := s.run("console-1", request([]string{"111111111111", "12345"}, 6, nil))
	if res.Status != "FAILED" || res.Error != "RequestRejected" {
		t.Fatalf("%s %s", res.Status, res.Error)
	}
	want := "request rejected:\naccountIds[1]: \"12345\" is not a 12-digit account ID\nhours: must be from 1 to 4, got 6"
	if res.Cause != want {
		t.Errorf("cause as the console shows it:\n%s\nwant:\n%s", res.Cause, want)
	}
	if got := published(t); !reflect.DeepEqual(got, []string{"Rejected"}) {
		t.Errorf("published %v", got)
	}
	s.unchanged()
}

func TestRestoreFailingForGoodRaisesTheAlarm(t *testing.T) {
	s := begin(t)
	// Someone attached a fifth SCP during the window: putting the guardrail back is refused.
	h.Org.Inject(orgemu.Fault{Op: "AttachPolicy", Target: "111111111111", Policy: orgemu.GuardrailID, Code: "ConstraintViolationException"})
	res := s.run("stuck", request([]string{"111111111111"}, 1, nil))
	if res.Status != "FAILED" || res.Error != "RestoreFailed" {
		t.Fatalf("%s %s %s", res.Status, res.Error, res.Cause)
	}
	entered := res.Entered()
	if got := entered[len(entered)-2:]; !reflect.DeepEqual(got, []string{stack.StateAlarm, stack.StateRestoreFailed}) {
		t.Errorf("last states %v", got)
	}
	rec := s.record("stuck")
	if rec.RestoreFailedAt.IsZero() || rec.Status != ledger.Closing {
		t.Errorf("record %+v", rec)
	}
	if leases, _ := h.Ledger().Leases(s.ctx, []string{"111111111111"}); leases["111111111111"].RequestID != "stuck" {
		t.Errorf("the lease must stay for whoever restores it: %v", leases)
	}
	if got := published(t); !reflect.DeepEqual(got, []string{"Scheduled", "Opened", "Restore Failed"}) {
		t.Errorf("published %v", got)
	}
	// Put it back by hand, as the alarm asks, for the next test.
	h.Org.Reset()
	if err := h.Guardrail().Restore(s.ctx, guardrail.Window{RequestID: "stuck", AccountIDs: []string{"111111111111"}}); err != nil {
		t.Fatal(err)
	}
	s.unchanged()
}
