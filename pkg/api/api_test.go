package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/api"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	rwrequest "github.com/rootwindow/rootwindow/pkg/request"
	"github.com/rootwindow/rootwindow/pkg/window"
	"github.com/rootwindow/rootwindow/pkg/workflow"
)

const (
	alice        = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/alice@example.com"
	bob          = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/bob@example.com"
	mallory      = "arn:aws:iam::999999999999:user/mallory"
	stateMachine = testenv.StateMachineARN
)

var (
	members = []string{"111111111111", "222222222222", "333333333333"}
	db      testenv.DB
	tables  atomic.Int32
	t0      = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
)

func TestMain(m *testing.M) {
	os.Exit(testenv.MainWithDynamoDB(m, func(c testenv.DB) { db = c }))
}

type env struct {
	org   *orgemu.Server
	emu   *awsemu.Server // EventBridge, SNS and Step Functions
	steps *workflow.Steps
	deps  window.Deps // what steps and api work with; change it with with
	sfn   *sfn.Client
	api   *api.Handler
	table string
	clock time.Time // the handlers' clock, t0 unless a test moves it
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{org: orgemu.Standard(testenv.Management, "alice@example.com", members...), emu: awsemu.New(), clock: t0}
	e.table = fmt.Sprintf("api-%d", tables.Add(1))
	e.deps = testenv.Deps(t, e.org, e.emu, db, e.table, func() time.Time { return e.clock })
	cfg := testenv.AWSConfig()
	cfg.Retryer = testenv.ConnectionRetries
	url := e.emu.Start() // the notifier's server: one emulator serves all three services
	e.sfn = sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.BaseEndpoint = aws.String(url) })
	e.with(func(*window.Deps) {})
	return e
}

// with changes what the steps and the API work with and builds them again over it.
func (e *env) with(change func(*window.Deps)) {
	change(&e.deps)
	svc := window.New(e.deps)
	e.steps, e.api = workflow.New(svc), api.New(svc, e.sfn, stateMachine)
}

// sample reads an API Gateway event from events/, strictly.
func sample(t *testing.T, name string) events.APIGatewayProxyRequest {
	t.Helper()
	var r events.APIGatewayProxyRequest
	testenv.DecodeSample(t, name, &r)
	return r
}

// post is the sample POST /requests with body (a JSON document or raw text), as caller.
func post(t *testing.T, caller string, body any) events.APIGatewayProxyRequest {
	t.Helper()
	r := sample(t, "api-post-request.json")
	r.RequestContext.Identity.UserArn = caller
	delete(r.Headers, "Idempotency-Key")
	switch b := body.(type) {
	case string:
		r.Body = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r.Body = string(j)
	}
	return r
}

// on is the sample POST /requests/{id}/end made into method and resource for id, as caller.
func on(t *testing.T, method, resource, id, caller string) events.APIGatewayProxyRequest {
	t.Helper()
	r := sample(t, "api-end-request.json")
	r.HTTPMethod, r.Resource = method, resource
	r.PathParameters = map[string]string{"id": id}
	if id == "" {
		r.PathParameters = nil
	}
	r.RequestContext.Identity.UserArn = caller
	return r
}

type answer struct {
	status int
	header map[string]string
	body   map[string]any
	raw    string
}

func (e *env) call(t *testing.T, r events.APIGatewayProxyRequest) answer {
	t.Helper()
	res, err := e.api.Handle(context.Background(), r)
	if err != nil {
		t.Fatalf("the handler returned an error (API Gateway would answer 502): %v", err)
	}
	a := answer{status: res.StatusCode, header: res.Headers, raw: res.Body}
	if err := json.Unmarshal([]byte(res.Body), &a.body); err != nil {
		t.Fatalf("body is not a JSON object: %q", res.Body)
	}
	if res.Headers["Content-Type"] != "application/json" || res.Headers["X-Correlation-Id"] != r.RequestContext.RequestID {
		t.Errorf("headers %v", res.Headers)
	}
	if a.status >= 400 && a.body["correlationId"] != r.RequestContext.RequestID {
		t.Errorf("error without its correlation ID: %s", res.Body)
	}
	return a
}

func (a answer) problems() []string {
	var out []string
	ps, _ := a.body["problems"].([]any)
	for _, p := range ps {
		m := p.(map[string]any)
		out = append(out, fmt.Sprintf("%s: %s", m["field"], m["message"]))
	}
	return out
}

func request(accounts ...string) map[string]any {
	return map[string]any{"accountIds": accounts, "hours": 2, "reason": "Enable MFA delete (SEC-1234)"}
}

func (e *env) accept(t *testing.T, accounts ...string) string {
	t.Helper()
	a := e.call(t, post(t, alice, request(accounts...)))
	if a.status != http.StatusAccepted {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	return a.body["requestId"].(string)
}

func TestSubmit(t *testing.T) {
	t.Run("202 accepted, execution started, Scheduled announced", func(t *testing.T) {
		e := newEnv(t)
		asked := request(members[1], members[0])
		asked["task"] = "s3-mfa-delete" // every field of the request reaches the execution
		a := e.call(t, post(t, alice, asked))
		if a.status != http.StatusAccepted {
			t.Fatalf("%d %s", a.status, a.raw)
		}
		id := a.body["requestId"].(string)
		wantURL := "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1/requests/" + id
		if !strings.HasPrefix(id, "api-") || a.body["status"] != "SCHEDULED" || a.body["statusUrl"] != wantURL || a.header["Location"] != wantURL {
			t.Errorf("answer %s", a.raw)
		}
		execs := e.emu.Executions()
		if len(execs) != 1 || execs[0].Name != id || execs[0].StateMachineARN != stateMachine {
			t.Fatalf("executions %+v", execs)
		}
		var env contract.Envelope
		if err := json.Unmarshal(execs[0].Input, &env); err != nil {
			t.Fatal(err)
		}
		var gotReq map[string]any
		_ = json.Unmarshal(env.Request, &gotReq)
		wantReq := map[string]any{"accountIds": []any{"111111111111", "222222222222"}, "hours": 2.0, "startAt": "2026-11-23T10:00:00Z",
			"reason": "Enable MFA delete (SEC-1234)", "requester": alice, "task": "s3-mfa-delete"}
		if !reflect.DeepEqual(gotReq, wantReq) || !reflect.DeepEqual(*env.Origin, contract.Origin{Channel: "api", Caller: alice}) {
			t.Errorf("execution input %s", execs[0].Input)
		}
		// The execution asks for what the API booked: Validate takes it as the same request.
		out, err := e.steps.Validate(context.Background(), testenv.Started(e.emu, id, execs[0].Input, testenv.Person(alice), t0))
		if err != nil || out.RequestID != id {
			t.Errorf("Validate of the API's execution: %+v %v", out, err)
		}
		rec, err := e.deps.Ledger.Get(context.Background(), id)
		if err != nil || rec.Status != ledger.Scheduled || rec.History[0].Actor != "rootwindow:api" {
			t.Errorf("ledger %+v %v", rec, err)
		}
		if ev := e.emu.Events(); len(ev) != 1 || ev[0].DetailType != "Root Access Window Scheduled" {
			t.Errorf("events %+v", ev)
		}
	})

	e := newEnv(t)
	held := e.accept(t, members[2])
	big := request(members[0])
	big["reason"] = strings.Repeat("x", 17*1024)
	for _, c := range []struct {
		name     string
		caller   string
		body     any
		status   int
		problems []string
		message  string
	}{
		{name: "every field error at once", caller: alice, body: map[string]any{"accountIds": []string{"12345"}, "hours": 5, "reason": " "}, status: 400,
			problems: []string{
				`accountIds[0]: "12345" is not a 12-digit account ID`,
				`hours: must be from 1 to 4, got 5`,
				`reason: must not be blank`,
			}},
		{name: "not JSON", caller: alice, body: "accountIds=111111111111", status: 400, problems: []string{"request: is not valid JSON"}},
		{name: "claims another requester", caller: alice, body: map[string]any{"accountIds": []string{members[0]}, "hours": 1, "reason": "r", "requester": bob}, status: 400},
		{name: "oversized", caller: alice, body: big, status: 413, message: "at most 16384 are accepted"},
		{name: "not an administrator", caller: mallory, body: request(members[0]), status: 403,
			problems: []string{`requester: "` + mallory + `" is not an administrator: only principals matching the configured adminPrincipals may ask for a window`}},
		{name: "not an owner", caller: bob, body: request(members[0]), status: 403,
			problems: []string{`accountIds[0]: "` + bob + `" is not an owner of 111111111111 (not listed in its "owner" tag)`}},
		{name: "account held by another window", caller: alice, body: request(members[0], members[2]), status: 409,
			problems: []string{"accountIds[1]: 333333333333 already has a window: request " + held + " holds it until 2026-11-23T12:00:00Z"}},
		{name: "not in the organization", caller: alice, body: request("444444444444"), status: 400},
	} {
		t.Run(fmt.Sprintf("%d %s", c.status, c.name), func(t *testing.T) {
			before := len(e.emu.Executions())
			a := e.call(t, post(t, c.caller, c.body))
			if a.status != c.status {
				t.Fatalf("status %d, want %d: %s", a.status, c.status, a.raw)
			}
			if c.problems != nil && strings.Join(a.problems(), "\n") != strings.Join(c.problems, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(a.problems(), "\n"), strings.Join(c.problems, "\n"))
			}
			if c.problems == nil && c.message == "" && len(a.problems()) == 0 {
				t.Errorf("no problem named: %s", a.raw)
			}
			if c.message != "" && !strings.Contains(a.body["message"].(string), c.message) {
				t.Errorf("message %q", a.body["message"])
			}
			if len(e.emu.Executions()) != before {
				t.Error("a rejected request started an execution")
			}
		})
	}
	if n := len(e.org.Calls()); n == 0 {
		t.Error("the organization was never asked")
	}
	recs, _, _ := e.deps.Ledger.List(context.Background(), ledger.Filter{}, 100, "")
	if len(recs) != 1 {
		t.Errorf("rejections changed the ledger: %d records", len(recs))
	}
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	r := post(t, alice, request(members[0]))
	r.Headers["Idempotency-Key"] = "SEC-1234-attempt-1"
	first := e.call(t, r)
	again := e.call(t, r)
	if first.status != 202 || again.status != 202 || first.body["requestId"] != again.body["requestId"] || again.header["Idempotent-Replayed"] != "true" {
		t.Fatalf("first %d %s\nagain %d %s", first.status, first.raw, again.status, again.raw)
	}
	if n := len(e.emu.Executions()); n != 1 {
		t.Errorf("%d executions for one request", n)
	}
	if n := len(e.emu.Events()); n != 1 {
		t.Errorf("%d notifications for one request", n)
	}
	// Another caller's key of the same name is another request.
	other := post(t, bob, request(members[1]))
	other.Headers["Idempotency-Key"] = "SEC-1234-attempt-1"
	if a := e.call(t, other); a.body["requestId"] == first.body["requestId"] {
		t.Error("two callers share a request through the key")
	}
	changed := post(t, alice, request(members[1]))
	changed.Headers["idempotency-key"] = "SEC-1234-attempt-1"
	if a := e.call(t, changed); a.status != http.StatusUnprocessableEntity {
		t.Errorf("key reused for another request: %d %s", a.status, a.raw)
	}
	bad := post(t, alice, request(members[1]))
	bad.Headers["Idempotency-Key"] = "no spaces please"
	if a := e.call(t, bad); a.status != 400 || a.problems()[0] != "Idempotency-Key: must be 1 to 128 letters, digits, '.', '_', ':' or '-'" {
		t.Errorf("bad key: %d %s", a.status, a.raw)
	}
}

func TestStartFailureLeavesNothingReserved(t *testing.T) {
	e := newEnv(t)
	e.emu.Fail(awsemu.OpStartExecution, 1)
	a := e.call(t, post(t, alice, request(members[0])))
	if a.status != http.StatusServiceUnavailable || strings.Contains(a.raw, "injected") {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	if leases, _ := e.deps.Ledger.Leases(context.Background(), members); len(leases) != 0 {
		t.Errorf("leases left behind: %v", leases)
	}
	recs, _, _ := e.deps.Ledger.List(context.Background(), ledger.Filter{Status: ledger.Failed}, 10, "")
	if len(recs) != 1 {
		t.Errorf("the failed start is not on record: %v", recs)
	}
	if a := e.call(t, post(t, alice, request(members[0]))); a.status != 202 {
		t.Errorf("a new request after the failure: %d %s", a.status, a.raw)
	}
}

// An admission that would run past the api function's deadline less the time to start the
// execution and answer is cut short: 503, try again, nothing reserved, nothing started; not a
// 504 from API Gateway while the work goes on behind it.
func TestAnAdmissionTooSlowForTheGatewayIsCutShort(t *testing.T) {
	e := newEnv(t)
	e.org.SetLatency(400 * time.Millisecond) // Organizations slow: a dozen reads take seconds
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second+time.Second)
	defer cancel()
	res, err := e.api.Handle(ctx, post(t, alice, request(members...)))
	answeredInTime := ctx.Err() == nil // the gateway's deadline not yet passed
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(res.Body, "try again") {
		t.Fatalf("%d %s", res.StatusCode, res.Body)
	}
	if !answeredInTime {
		t.Error("answered after the deadline: the admission was not cut short a reserve before it")
	}
	if leases, _ := e.deps.Ledger.Leases(context.Background(), members); len(leases) != 0 {
		t.Errorf("leases left behind: %v", leases)
	}
	if n := len(e.emu.Executions()); n != 0 {
		t.Errorf("%d executions started", n)
	}
	// With the time, the same request goes through.
	e.org.SetLatency(0)
	ctx, cancel = context.WithTimeout(context.Background(), 29*time.Second)
	defer cancel()
	if res, err := e.api.Handle(ctx, post(t, alice, request(members...))); err != nil || res.StatusCode != http.StatusAccepted {
		t.Fatalf("%v %d %s", err, res.StatusCode, res.Body)
	}
}

func TestReadAndList(t *testing.T) {
	e := newEnv(t)
	first := e.accept(t, members[0])
	second := e.accept(t, members[1])
	if _, err := e.steps.Cancel(context.Background(), first, alice); err != nil {
		t.Fatal(err)
	}
	a := e.call(t, on(t, "GET", "/requests/{id}", first, alice))
	if a.status != 200 || a.body["status"] != "CANCELLED" || len(a.body["history"].([]any)) != 2 || a.body["requester"] != alice {
		t.Errorf("get: %d %s", a.status, a.raw)
	}
	for _, c := range []struct {
		name   string
		r      events.APIGatewayProxyRequest
		status int
	}{
		{"unknown request", on(t, "GET", "/requests/{id}", "api-nope", alice), 404},
		{"bad id", on(t, "GET", "/requests/{id}", "a b", alice), 400},
		{"neither requester nor administrator: the same answer as an unknown request", on(t, "GET", "/requests/{id}", first, mallory), 404},
		{"list by a non-administrator", on(t, "GET", "/requests", "", mallory), 403},
		{"no caller (IAM auth missing)", on(t, "GET", "/requests/{id}", first, ""), 403},
		{"unknown method", on(t, "DELETE", "/requests/{id}", first, alice), 404},
	} {
		if a := e.call(t, c.r); a.status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, a.status, a.raw, c.status)
		}
	}

	list := func(q map[string]string) answer {
		r := on(t, "GET", "/requests", "", alice)
		r.QueryStringParameters = q
		return e.call(t, r)
	}
	ids := func(a answer) []string {
		var out []string
		for _, r := range a.body["requests"].([]any) {
			out = append(out, r.(map[string]any)["requestId"].(string))
		}
		return out
	}
	if a := list(map[string]string{"accountId": members[1]}); a.status != 200 || fmt.Sprint(ids(a)) != fmt.Sprint([]string{second}) {
		t.Errorf("by account: %s", a.raw)
	}
	if a := list(map[string]string{"status": "CANCELLED"}); fmt.Sprint(ids(a)) != fmt.Sprint([]string{first}) {
		t.Errorf("by status: %s", a.raw)
	}
	page := list(map[string]string{"limit": "1"})
	next, _ := page.body["nextToken"].(string)
	if len(ids(page)) != 1 || next == "" {
		t.Fatalf("first page: %s", page.raw)
	}
	if a := list(map[string]string{"limit": "1", "nextToken": next}); len(ids(a)) != 1 || ids(a)[0] == ids(page)[0] {
		t.Errorf("second page: %s", a.raw)
	}
	a = list(map[string]string{"accountId": "1234", "status": "DONE", "limit": "0", "nextToken": "zz", "acount": "x"})
	if a.status != 400 || len(a.problems()) != 4 {
		t.Errorf("bad parameters: %s", a.raw)
	}
	if a := list(map[string]string{"nextToken": "zz"}); a.status != 400 || a.problems()[0] != "nextToken: not a page token from an earlier answer" {
		t.Errorf("bad token: %s", a.raw)
	}
}

// rescueEnded plays what follows an early end in AWS: Step Functions' status change of the
// stopped execution delivered to the safety net, which puts the guardrail back.
func (e *env) rescueEnded(t *testing.T, id string) {
	t.Helper()
	e.with(func(d *window.Deps) { d.Config.StateMachineARN = stateMachine })
	if err := testenv.EndedEarly(t, e.steps, id); err != nil {
		t.Fatal(err)
	}
}

func TestEndAndCancel(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	open := e.accept(t, members[0])
	if _, err := e.steps.Detach(ctx, testenv.Decided(t, e.deps.Ledger, open)); err != nil {
		t.Fatal(err)
	}
	scheduled := e.accept(t, members[1])
	for _, c := range []struct {
		name   string
		r      events.APIGatewayProxyRequest
		status int
		want   string
	}{
		{"cancel an open window", on(t, "POST", "/requests/{id}/cancel", open, alice), 409, "end it instead"},
		{"end by someone else: as if unknown", on(t, "POST", "/requests/{id}/end", open, mallory), 404, ""},
		{"end a window that has not started", on(t, "POST", "/requests/{id}/end", scheduled, alice), 409, "cancel it instead"},
		{"end an unknown request", on(t, "POST", "/requests/{id}/end", "api-nope", alice), 404, ""},
		// An early end stops the execution (202, CLOSING); the safety net restores (below).
		{"end early", on(t, "POST", "/requests/{id}/end", open, bob), 202, `"status":"CLOSING"`},
		{"end again", on(t, "POST", "/requests/{id}/end", open, alice), 202, `"status":"CLOSING"`},
		{"cancel before the start", on(t, "POST", "/requests/{id}/cancel", scheduled, alice), 200, `"status":"CANCELLED"`},
		{"cancel again", on(t, "POST", "/requests/{id}/cancel", scheduled, alice), 200, `"status":"CANCELLED"`},
	} {
		a := e.call(t, c.r)
		if a.status != c.status || !strings.Contains(a.raw, c.want) {
			t.Errorf("%s: %d %s, want %d with %s", c.name, a.status, a.raw, c.status, c.want)
		}
	}
	if stops := e.emu.Stops(); len(stops) != 2 || stops[0].ExecutionARN != testenv.ExecutionARN(open) || stops[0].Error != contract.ErrEndedEarly || !strings.Contains(stops[0].Cause, bob) {
		t.Errorf("stops %+v", stops)
	}
	e.rescueEnded(t, open)
	if !e.org.IsAttached(members[0], orgemu.GuardrailID) {
		t.Error("ending early left the guardrail off")
	}
	if a := e.call(t, on(t, "POST", "/requests/{id}/end", open, alice)); a.status != 200 || !strings.Contains(a.raw, `"status":"CLOSED"`) {
		t.Errorf("end once closed: %d %s", a.status, a.raw)
	}
}

func TestEndDuringTheLift(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	id := e.accept(t, members[0], members[1])
	// Organizations holds the lift's writes, so the lift is under way when the end arrives.
	release := e.org.Gate("CreatePolicy", "AttachPolicy", "DetachPolicy", "UpdatePolicy")
	t.Cleanup(release)
	done := make(chan error)
	go func() {
		_, err := e.steps.Detach(ctx, testenv.Decided(t, e.deps.Ledger, id))
		done <- err
	}()
	for {
		rec, _ := e.deps.Ledger.Get(ctx, id)
		if rec.Status == ledger.Opening {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	a := e.call(t, on(t, "POST", "/requests/{id}/end", id, alice))
	if a.status != 409 || !strings.Contains(a.raw, "is opening") {
		t.Errorf("end during the lift: %d %s", a.status, a.raw)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if a := e.call(t, on(t, "POST", "/requests/{id}/end", id, alice)); a.status != 202 {
		t.Errorf("end once open: %d %s", a.status, a.raw)
	}
	e.rescueEnded(t, id)
	for _, m := range members {
		if !e.org.IsAttached(m, orgemu.GuardrailID) {
			t.Errorf("guardrail missing from %s", m)
		}
	}
}

// Cancel and the workflow's start race through the ledger's conditional transitions: whichever
// wins, the end state is consistent.
func TestCancelAtTheMomentOfStart(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	outcomes := map[string]int{}
	for i := range 12 {
		account := members[i%len(members)]
		id := e.accept(t, account)
		var wg sync.WaitGroup
		var cancel answer
		var opened contract.Opened
		var derr error
		wg.Add(2)
		go func() { defer wg.Done(); cancel = e.call(t, on(t, "POST", "/requests/{id}/cancel", id, alice)) }()
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i%4) * time.Millisecond) // stagger, so that either may win
			opened, derr = e.steps.Detach(ctx, testenv.Decided(t, e.deps.Ledger, id))
		}()
		wg.Wait()
		if derr != nil {
			t.Fatal(derr)
		}
		rec, _ := e.deps.Ledger.Get(ctx, id)
		switch {
		case cancel.status == 200 && !opened.Opened:
			outcomes["cancel won"]++
			if rec.Status != ledger.Cancelled || !e.org.IsAttached(account, orgemu.GuardrailID) {
				t.Errorf("cancel won but the request is %s, guardrail attached %v", rec.Status, e.org.IsAttached(account, orgemu.GuardrailID))
			}
		case cancel.status == 409 && opened.Opened:
			outcomes["start won"]++
			if rec.Status != ledger.Open || e.org.IsAttached(account, orgemu.GuardrailID) {
				t.Errorf("start won but the request is %s", rec.Status)
			}
			if _, err := e.steps.End(ctx, id, alice); err != nil {
				t.Fatal(err)
			}
			e.rescueEnded(t, id)
		default:
			t.Fatalf("inconsistent: cancel %d %s, detach opened=%v, ledger %s", cancel.status, cancel.raw, opened.Opened, rec.Status)
		}
	}
	t.Logf("outcomes: %v", outcomes)
}

func TestInternalErrorsDoNotLeak(t *testing.T) {
	e := newEnv(t)
	if _, err := db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(e.table)}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []events.APIGatewayProxyRequest{
		on(t, "GET", "/requests/{id}", "api-1", alice),
		post(t, alice, request(members[0])),
	} {
		a := e.call(t, r)
		if a.status < 500 || strings.Contains(a.raw, "ResourceNotFound") || strings.Contains(a.raw, e.table) {
			t.Errorf("%s %s: %d %s", r.HTTPMethod, r.Resource, a.status, a.raw)
		}
	}
}

// An early end whose StopExecution fails is answered 503 (nothing internal said), and the window
// stays CLOSING, still holding its account; asked again, it stops the execution.
func TestEndWhoseStopFails(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	id := e.accept(t, members[0])
	if _, err := e.steps.Detach(ctx, testenv.Decided(t, e.deps.Ledger, id)); err != nil {
		t.Fatal(err)
	}
	e.emu.Fail(awsemu.OpStopExecution, 1)
	a := e.call(t, on(t, "POST", "/requests/{id}/end", id, alice))
	if a.status != http.StatusServiceUnavailable || strings.Contains(a.raw, "injected") || !strings.Contains(a.raw, "ask again") {
		t.Errorf("%d %s", a.status, a.raw)
	}
	rec, _ := e.deps.Ledger.Get(ctx, id)
	if rec.Status != ledger.Closing {
		t.Errorf("the window must stay CLOSING: %s", rec.Status)
	}
	if leases, _ := e.deps.Ledger.Leases(ctx, members); leases[members[0]].RequestID != id {
		t.Errorf("lease %v", leases)
	}
	if a := e.call(t, on(t, "POST", "/requests/{id}/end", id, alice)); a.status != http.StatusAccepted || len(e.emu.Stops()) != 1 {
		t.Errorf("asked again: %d %s, stops %+v", a.status, a.raw, e.emu.Stops())
	}
	e.rescueEnded(t, id)
	if rec, _ := e.deps.Ledger.Get(ctx, id); rec.Status != ledger.Closed || !e.org.IsAttached(members[0], orgemu.GuardrailID) {
		t.Errorf("after the stop: %s", rec.Status)
	}
}

// Fifty administrators ask for the same account at once, against dynalite's conditional writes:
// exactly one window is granted.
func TestFiftyConcurrentRequestsForOneAccount(t *testing.T) {
	e := newEnv(t)
	const n = 50
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.api.Handle(context.Background(), post(t, alice, request(members[0])))
			if err != nil {
				t.Error(err)
			}
			statuses[i] = res.StatusCode
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	t.Logf("answers: %v", count)
	if count[http.StatusAccepted] != 1 || count[http.StatusConflict] != n-1 {
		t.Errorf("answers %v, want one 202 and %d 409", count, n-1)
	}
	if execs := e.emu.Executions(); len(execs) != 1 {
		t.Errorf("%d executions started", len(execs))
	}
	leases, _ := e.deps.Ledger.AllLeases(context.Background())
	if len(leases) != 1 {
		t.Errorf("leases %v", leases)
	}
}

// A limit reached is a 429 naming it, and changes nothing.
func TestLimitReachedIs429(t *testing.T) {
	e := newEnv(t)
	e.with(func(d *window.Deps) { d.Config.MaxConcurrentPerRequester = 1 })
	if a := e.call(t, post(t, alice, request(members[0]))); a.status != http.StatusAccepted {
		t.Fatalf("first: %d %s", a.status, a.raw)
	}
	a := e.call(t, post(t, alice, request(members[1])))
	if a.status != http.StatusTooManyRequests || !strings.Contains(a.raw, "maxConcurrentWindowsPerRequester") {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	if n := len(e.emu.Executions()); n != 1 {
		t.Errorf("%d executions", n)
	}
}

// No existence oracle: a caller who may not see a request gets the same answer as for one that
// does not exist, whatever the method.
func TestNoExistenceOracle(t *testing.T) {
	e := newEnv(t)
	id := e.accept(t, members[0])
	for _, m := range []struct{ method, resource string }{
		{"GET", "/requests/{id}"}, {"POST", "/requests/{id}/end"}, {"POST", "/requests/{id}/cancel"}, {"POST", "/requests/{id}/confirm"},
		{"POST", "/requests/{id}/approve"}, {"POST", "/requests/{id}/deny"},
	} {
		hidden := e.call(t, on(t, m.method, m.resource, id, mallory))
		unknown := e.call(t, on(t, m.method, m.resource, "api-00000000000000000000000000000000", mallory))
		strip := func(a answer) string {
			return strings.NewReplacer(id, "ID", "api-00000000000000000000000000000000", "ID").Replace(a.raw)
		}
		if hidden.status != unknown.status || strip(hidden) != strip(unknown) {
			t.Errorf("%s %s: someone else's request %d %s; an unknown one %d %s", m.method, m.resource, hidden.status, hidden.raw, unknown.status, unknown.raw)
		}
	}
}

// A retry under an Idempotency-Key gets the first attempt's answer however much later it comes:
// a body whose startAt was "now" is neither "another request" nor "in the past"; a first attempt
// whose workflow never started is answered 503 again, never 202.
func TestIdempotentRetriesReplayTheFirstAnswer(t *testing.T) {
	e := newEnv(t)
	body := request(members[0])
	body["startAt"] = t0.Format(time.RFC3339)
	first := post(t, alice, body)
	first.Headers["Idempotency-Key"] = "SEC-77"
	a := e.call(t, first)
	if a.status != http.StatusAccepted {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	for _, later := range []time.Duration{10 * time.Minute, 30 * time.Hour} {
		e.clock = t0.Add(later)
		if b := e.call(t, first); b.status != http.StatusAccepted || b.header["Idempotent-Replayed"] != "true" || b.body["requestId"] != a.body["requestId"] {
			t.Errorf("%v later: %d %s", later, b.status, b.raw)
		}
	}
	e.clock = t0

	e.emu.Fail(awsemu.OpStartExecution, 1)
	failed := post(t, alice, request(members[1]))
	failed.Headers["Idempotency-Key"] = "SEC-78"
	if a := e.call(t, failed); a.status != http.StatusServiceUnavailable {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	for range 2 {
		if a := e.call(t, failed); a.status != http.StatusServiceUnavailable || !strings.Contains(a.raw, "nothing was reserved") {
			t.Errorf("retry after a failed start: %d %s", a.status, a.raw)
		}
	}
	if n := len(e.emu.Executions()); n != 1 {
		t.Errorf("%d executions started", n)
	}
}

// A first attempt that stopped between its reservation and its start (the function timed out,
// say) is started by its retry; if the start fails then, nothing is left half-done either: the
// reservation is withdrawn and the retry, and every later one, is answered 503.
func TestARetryStartsWhatTheFirstAttemptReserved(t *testing.T) {
	for _, startFails := range []bool{false, true} {
		t.Run(fmt.Sprintf("start fails: %v", startFails), func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			r := post(t, alice, request(members[0]))
			r.Headers["Idempotency-Key"] = "SEC-79"
			// The first attempt, as far as it got: the request ID its key makes, reserved.
			sum := sha256.Sum256([]byte(alice + "\nSEC-79"))
			id := "api-" + hex.EncodeToString(sum[:16])
			req, err := rwrequest.Parse([]byte(r.Body), func() rwrequest.Policy {
				p := e.deps.Config.RequestPolicy(t0)
				p.AuthenticatedCaller = alice
				return p
			}())
			if err != nil {
				t.Fatal(err)
			}
			if _, probs, err := e.steps.Admit(ctx, id, testenv.ExecutionARN(id), req, contract.Origin{Channel: contract.ChannelAPI, Caller: alice}, nil, window.ActorAPI); err != nil || len(probs) > 0 {
				t.Fatal(probs, err)
			}
			if startFails {
				e.emu.Fail(awsemu.OpStartExecution, 1)
			}
			a := e.call(t, r)
			rec, _ := e.deps.Ledger.Get(ctx, id)
			leases, _ := e.deps.Ledger.Leases(ctx, members)
			switch {
			case startFails && (a.status != http.StatusServiceUnavailable || rec.Status != ledger.Failed || len(leases) != 0):
				t.Errorf("start failing: %d %s; %s, leases %v", a.status, a.raw, rec.Status, leases)
			case !startFails && (a.status != http.StatusAccepted || a.header["Idempotent-Replayed"] != "true" || len(e.emu.Executions()) != 1 || !slices.Contains(rec.Notified, "Scheduled")):
				t.Errorf("start working: %d %s; %d executions, notified %v", a.status, a.raw, len(e.emu.Executions()), rec.Notified)
			}
			if startFails {
				if again := e.call(t, r); again.status != http.StatusServiceUnavailable || !strings.Contains(again.raw, "nothing was reserved") {
					t.Errorf("the retry after: %d %s", again.status, again.raw)
				}
			}
		})
	}
}

// Idempotency-Key in any letter case is one header; sent twice with different values (repeated,
// or under two spellings) it is refused, whichever API Gateway would have kept.
func TestIdempotencyKeyHeaders(t *testing.T) {
	e := newEnv(t)
	lower := post(t, alice, request(members[0]))
	lower.Headers["idempotency-key"] = "SEC-90"
	upper := post(t, alice, request(members[0]))
	upper.Headers["IDEMPOTENCY-KEY"] = "SEC-90"
	a, b := e.call(t, lower), e.call(t, upper)
	if a.status != 202 || b.status != 202 || b.header["Idempotent-Replayed"] != "true" || a.body["requestId"] != b.body["requestId"] {
		t.Errorf("one key in two cases: %d %s / %d %s", a.status, a.raw, b.status, b.raw)
	}
	for name, r := range map[string]func() events.APIGatewayProxyRequest{
		"two spellings": func() events.APIGatewayProxyRequest {
			r := post(t, alice, request(members[1]))
			r.Headers["Idempotency-Key"], r.Headers["idempotency-key"] = "SEC-91", "SEC-92"
			return r
		},
		"repeated": func() events.APIGatewayProxyRequest {
			r := post(t, alice, request(members[1]))
			r.Headers["Idempotency-Key"] = "SEC-92"
			r.MultiValueHeaders = map[string][]string{"Idempotency-Key": {"SEC-91", "SEC-92"}}
			return r
		},
	} {
		if a := e.call(t, r()); a.status != 400 || !strings.Contains(a.raw, "was sent more than once with different values") {
			t.Errorf("%s: %d %s", name, a.status, a.raw)
		}
	}
	if n := len(e.emu.Executions()); n != 1 {
		t.Errorf("%d executions", n)
	}
}
