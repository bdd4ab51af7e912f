package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/rootwindow/rootwindow/infra/stack"
	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/cdktest"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/contract"
)

var errNoResult = errors.New("the state machine runner printed no result")

const arnPrefix = "arn:aws:lambda:us-east-1:000000000000:function:rootwindow-"

// synthesize builds the CDK stack in process and returns its state machine definition as plain
// ASL, each Lambda ARN replaced by arnPrefix + task name, and the template.
func synthesize() (map[string]string, []byte, map[string]any, error) {
	template, err := cdktest.Template(awscdk.StackProps{}, config.Settings{
		GuardrailPolicyID: "p-rootguard01", AdminPrincipals: []string{AdminPattern}, OrganizationID: orgemu.OrganizationID,
		OwnerTagKey: "owner", BookingHorizonDays: 7, MaxAccountsPerRequest: 50,
		// The state machine then looks for confirmations; the handlers ask for one only when their
		// environment says so (Configure).
		EventIntegrations: []string{testenv.Integration}, EventConfirmMinutes: ConfirmMinutes,
		// Likewise the approval's wait; the handlers ask for an approval only when configured.
		ApprovalMinutes: ApprovalMinutes,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	tasks := []string{contract.TaskValidate, contract.TaskDetach, contract.TaskReattach}
	byARN := map[string]string{}
	def, err := stack.DefinitionFromTemplate(template, func(logicalID string) string {
		for _, task := range tasks {
			if strings.HasPrefix(strings.ToLower(logicalID), "functions"+task) {
				byARN[arnPrefix+task] = task
				return arnPrefix + task
			}
		}
		return "arn:aws:lambda:us-east-1:000000000000:function:unknown-" + logicalID
	})
	return byARN, def, template, err
}

// ConfirmMinutes is the synthesized eventConfirmationMinutes: configure the handlers with it
// (contract.EnvEventConfirmMinutes) to make EventBridge requests wait for their requester. The
// longest allowed, so that the state machine's compressed retries leave a test time to confirm.
const ConfirmMinutes = 120

// ApprovalMinutes is the synthesized approvalTimeoutMinutes: configure the handlers with it
// (contract.EnvApprovalMinutes) and contract.EnvApproval to make requests wait for a second
// administrator. The longest allowed, so that a test has time to decide.
const ApprovalMinutes = 24 * 60

// validateASL checks the definition with asl-validator.
func validateASL(def []byte) error {
	f, err := os.CreateTemp("", "rootwindow-asl-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(def); err != nil {
		return err
	}
	f.Close()
	bin := filepath.Join(testenv.RepoRoot(), "tools", "node_modules", ".bin", "asl-validator")
	out, err := exec.Command(bin, "--json-path", f.Name()).CombinedOutput()
	if err != nil {
		return fmt.Errorf("asl-validator rejected the synthesized definition: %v\n%s", err, out)
	}
	return nil
}

// invoker answers the runner's Lambda invocations as the Lambda Invoke API does: the function's
// output, or its error object with the X-Amz-Function-Error header.
type invoker struct {
	mu       sync.Mutex
	byARN    map[string]string
	handlers map[string]lambda.Handler
	counts   map[string]int
	timeouts map[string]*invokeTimeout
	running  sync.WaitGroup // invocations in flight, which go on after their execution stops
	timings  []Timing
	before   map[string]func() // run once before the next invocation of a task
	clock    *Clock
	tasks    *awsemu.Server // where an execution's task tokens are answered
	srv      *httptest.Server
}

func newInvoker(byARN map[string]string, clock *Clock, tasks *awsemu.Server) *invoker {
	inv := &invoker{byARN: byARN, counts: map[string]int{}, timeouts: map[string]*invokeTimeout{}, clock: clock, tasks: tasks}
	inv.srv = httptest.NewServer(http.HandlerFunc(inv.serve))
	return inv
}

func (inv *invoker) close() { inv.srv.Close() }

func (inv *invoker) setHandlers(h map[string]lambda.Handler) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.handlers = h
}

func (inv *invoker) invocations() map[string]int {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	out := map[string]int{}
	for k, v := range inv.counts {
		out[k] = v
	}
	return out
}

func (inv *invoker) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/clock" { // the runner is ready: start the clock and share it
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(inv.clock.Resume())
		return
	}
	if strings.HasPrefix(r.URL.Path, "/task/") {
		inv.task(w, r)
		return
	}
	arn, err := url.PathUnescape(strings.TrimPrefix(r.URL.Path, "/invoke/"))
	inv.mu.Lock()
	task := inv.byARN[arn]
	h := inv.handlers[task]
	inv.counts[task]++
	hook := inv.before[task]
	delete(inv.before, task)
	var timeout time.Duration
	if t := inv.timeouts[task]; t != nil && t.left != 0 {
		timeout = t.after
		t.left--
	}
	inv.mu.Unlock()
	if err != nil || h == nil {
		http.Error(w, `{"message":"no such function"}`, http.StatusNotFound)
		return
	}
	inv.running.Add(1)
	defer inv.running.Done()
	if hook != nil {
		hook()
	}
	payload, _ := io.ReadAll(r.Body)
	start := time.Now()
	// Not the request's context: a Lambda goes on when the execution that invoked it is stopped.
	out, herr := invokeWithin(context.WithoutCancel(r.Context()), h, payload, timeout)
	inv.mu.Lock()
	inv.timings = append(inv.timings, Timing{Task: task, Start: start, End: time.Now()})
	inv.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if herr != nil {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		body, _ := json.Marshal(map[string]string{"errorType": errorType(herr), "errorMessage": herr.Error()})
		_, _ = w.Write(body)
		return
	}
	_, _ = w.Write(out)
}

// task serves the runner's task tokens (a .waitForTaskToken state): POST /task/wait registers the
// token the state waits on, GET /task/outcome reads what SendTaskSuccess or SendTaskFailure sent
// the emulator, POST /task/timeout ends it as its TimeoutSeconds does.
func (inv *invoker) task(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if token == "" {
		http.Error(w, `{"message":"no token"}`, http.StatusBadRequest)
		return
	}
	switch r.URL.Path {
	case "/task/wait":
		inv.tasks.WaitTask(token)
	case "/task/timeout":
		inv.tasks.TimeOutTask(token)
	}
	o, _ := inv.tasks.Task(token)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(o)
}

// Timedout is the error Lambda reports for an invocation that ran out of time.
type Timedout struct{ after time.Duration }

func (e *Timedout) Error() string {
	return fmt.Sprintf("Task timed out after %.2f seconds", e.after.Seconds())
}

// invokeWithin runs the handler as Lambda would with a timeout: past it, the invocation fails
// with Sandbox.Timedout and the handler's context is cancelled, cutting its calls short mid-work.
func invokeWithin(ctx context.Context, h lambda.Handler, payload []byte, timeout time.Duration) ([]byte, error) {
	if timeout <= 0 {
		return h.Invoke(ctx, payload)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type answer struct {
		out []byte
		err error
	}
	done := make(chan answer, 1)
	go func() {
		out, err := h.Invoke(ctx, payload)
		done <- answer{out, err}
	}()
	select {
	case a := <-done:
		return a.out, a.err
	case <-ctx.Done():
		return nil, &Timedout{after: timeout}
	}
}

// BeforeInvoke runs fn once, just before the next invocation of task: what someone else does
// between two of rootwindow's steps (edit the ledger, change a tag).
func (h *Harness) BeforeInvoke(task string, fn func()) {
	h.invoker.mu.Lock()
	defer h.invoker.mu.Unlock()
	if h.invoker.before == nil {
		h.invoker.before = map[string]func(){}
	}
	h.invoker.before[task] = fn
}

type invokeTimeout struct {
	after time.Duration
	left  int // invocations still to time out; negative: all
}

// SetInvokeTimeout makes the task's next `times` invocations (every one if times < 1) time out
// after d, as a Lambda whose work outlasts its configured timeout; d = 0 ends that.
func (h *Harness) SetInvokeTimeout(task string, d time.Duration, times int) {
	h.invoker.mu.Lock()
	defer h.invoker.mu.Unlock()
	if times < 1 {
		times = -1
	}
	h.invoker.timeouts[task] = &invokeTimeout{after: d, left: times}
	if d == 0 {
		delete(h.invoker.timeouts, task)
	}
}

// Idle waits until no Lambda invocation is in flight.
func (h *Harness) Idle() { h.invoker.running.Wait() }

// errorType names an error as aws-lambda-go reports it to Lambda (and Lambda a timeout).
func errorType(err error) string {
	if _, ok := err.(*Timedout); ok {
		return "Sandbox.Timedout"
	}
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

// Timing is one Lambda invocation's wall-clock span.
type Timing struct {
	Task       string
	Start, End time.Time
}

// Event is one execution event the runner reported.
type Event struct {
	Type    string    `json:"type"`
	At      time.Time `json:"at"`
	State   string    `json:"state,omitempty"`
	Error   string    `json:"error,omitempty"`
	Cause   string    `json:"cause,omitempty"`
	Attempt int       `json:"attempt,omitempty"`
}

// Result is how an execution ended.
type Result struct {
	Status      string // SUCCEEDED, FAILED or ABORTED
	Output      json.RawMessage
	Error       string
	Cause       string
	Events      []Event
	Invocations map[string]int // Lambda invocations by task
	Timings     []Timing       // each invocation's span, in order of return
	Took        time.Duration  // wall-clock time
}

// Transitions counts state transitions as Step Functions bills them (one per state entered).
func (r Result) Transitions() int {
	n := 0
	for _, e := range r.Events {
		if e.Type == "StateEntered" {
			n++
		}
	}
	return n
}

// Entered lists the states entered, in order.
func (r Result) Entered() []string {
	var names []string
	for _, e := range r.Events {
		if e.Type == "StateEntered" {
			names = append(names, e.State)
		}
	}
	return names
}

// Run executes the synthesized state machine with input under execution name `name`.
func (h *Harness) Run(ctx context.Context, name string, input json.RawMessage) (Result, error) {
	return h.RunWith(ctx, name, input, RunOptions{})
}

// RunOptions change how one execution runs.
type RunOptions struct {
	// AbortAt stops the execution when it enters this state, as a person stopping it in the
	// console would; the result's status is then ABORTED. A task entered is already invoked, and
	// its handler runs on, as a Lambda does.
	AbortAt string
	// StartedBy is who CloudTrail records as having started the execution. Default: the request
	// rule's role for an input whose origin is EventBridge, else the requester the input names
	// (a console user asking for themselves), else Requester.
	StartedBy *awsemu.Identity
}

// starterOf is who starts an execution with input by default (see RunOptions.StartedBy).
func starterOf(input json.RawMessage) awsemu.Identity {
	var env struct {
		Request struct {
			Requester string `json:"requester"`
		} `json:"request"`
		Origin struct {
			Channel string `json:"channel"`
		} `json:"origin"`
	}
	_ = json.Unmarshal(input, &env)
	switch {
	case env.Origin.Channel == contract.ChannelEventBridge:
		return testenv.EventsRule
	case env.Request.Requester != "":
		return testenv.Person(env.Request.Requester)
	}
	return testenv.Person(Requester)
}

// RunWith is Run with options.
func (h *Harness) RunWith(ctx context.Context, name string, input json.RawMessage, o RunOptions) (Result, error) {
	executionARN := strings.Replace(StateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
	cfg, err := json.Marshal(map[string]any{
		"definition": json.RawMessage(h.Definition), "input": input, "executionName": name, "executionArn": executionARN,
		"lambdaEndpoint": h.invoker.srv.URL,
		// The task token of a .waitForTaskToken state ($$.Task.Token): one per execution.
		"taskToken":       "token-" + name,
		"retryIntervalMs": h.opts.RetryInterval.Milliseconds(),
		"abortAt":         o.AbortAt,
	})
	if err != nil {
		return Result{}, err
	}
	f, err := os.CreateTemp("", "rootwindow-run-*.json")
	if err != nil {
		return Result{}, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(cfg); err != nil {
		return Result{}, err
	}
	f.Close()

	// Step Functions knows the execution (the sweep asks it whether a request's execution runs),
	// and CloudTrail who started it, at the instant the frozen clock resumes from.
	h.AWS.Ran(StateMachineARN, name, input, "RUNNING")
	starter := starterOf(input)
	if o.StartedBy != nil {
		starter = *o.StartedBy
	}
	h.AWS.Started(executionARN, starter, h.Clock.Now())
	before := h.invoker.invocations()
	h.invoker.mu.Lock()
	firstTiming := len(h.invoker.timings)
	h.invoker.mu.Unlock()
	start := time.Now()
	h.Clock.Freeze() // the runner resumes it once node has started
	defer h.Clock.Freeze()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(testenv.RepoRoot(), "tools", "sfn-run.mjs"), f.Name())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Result{}, fmt.Errorf("state machine runner: %v\n%s", err, stderr.String())
	}
	res := Result{Took: time.Since(start), Invocations: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var final *struct {
		Status string          `json:"status"`
		Output json.RawMessage `json:"output"`
		Error  string          `json:"error"`
		Cause  string          `json:"cause"`
	}
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.Contains(line, []byte(`"type":"Result"`)) {
			if err := json.Unmarshal(line, &final); err != nil {
				return Result{}, err
			}
			continue
		}
		var e Event
		if err := json.Unmarshal(line, &e); err != nil {
			return Result{}, fmt.Errorf("runner printed %q: %w", line, err)
		}
		res.Events = append(res.Events, e)
	}
	if final == nil {
		return Result{}, errNoResult
	}
	res.Status, res.Output, res.Error, res.Cause = final.Status, final.Output, final.Error, final.Cause
	h.AWS.Ran(StateMachineARN, name, input, res.Status)
	for task, n := range h.invoker.invocations() {
		if d := n - before[task]; d > 0 {
			res.Invocations[task] = d
		}
	}
	h.invoker.mu.Lock()
	res.Timings = append([]Timing(nil), h.invoker.timings[firstTiming:]...)
	h.invoker.mu.Unlock()
	return res, nil
}
