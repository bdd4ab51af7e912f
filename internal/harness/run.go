package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/rootwindow/rootwindow/infra/stack"
	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/cdktest"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/simtime"
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
	// Handover, when set, is an actor of the caller's that held time still until this execution
	// began: it is done once the execution's own actor is awake.
	Handover *simtime.Actor
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
	// The execution is awake from now: starting node costs no virtual time.
	s := h.invoker.open(name)
	defer h.invoker.end(s)
	if o.Handover != nil {
		o.Handover.Done()
	}
	now := h.Clock.Now()
	cfg, err := json.Marshal(map[string]any{
		"definition": json.RawMessage(h.Definition), "input": input, "executionName": name, "executionArn": executionARN,
		"lambdaEndpoint": h.invoker.srv.URL, "session": s.id, "nowNs": strconv.FormatInt(now.UnixNano(), 10),
		// The task token of a .waitForTaskToken state ($$.Task.Token): one per execution.
		"taskToken": "token-" + name,
		"abortAt":   o.AbortAt,
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
	// and CloudTrail who started it, at the instant it starts.
	h.AWS.Ran(StateMachineARN, name, input, "RUNNING")
	starter := starterOf(input)
	if o.StartedBy != nil {
		starter = *o.StartedBy
	}
	h.AWS.Started(executionARN, starter, now)
	before := h.invoker.invocations()
	h.invoker.mu.Lock()
	firstTiming := len(h.invoker.timings)
	h.invoker.mu.Unlock()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(testenv.RepoRoot(), "tools", "sfn-run.mjs"), f.Name())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// Virtual time waits for whoever is awake: if a run outlasts minutes of wall clock, say who.
	watch := time.AfterFunc(2*time.Minute, func() {
		fmt.Fprintf(os.Stderr, "harness: execution %s still running after 2m of wall clock; %s\n", name, h.Clock)
	})
	out, err := cmd.Output()
	watch.Stop()
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
		Sent   int             `json:"sent"` // calls the runner made, every one of which must arrive
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
		return Result{}, fmt.Errorf("%w\n%s", errNoResult, stderr.String())
	}
	res.Status, res.Output, res.Error, res.Cause = final.Status, final.Output, final.Error, final.Cause
	if err := s.waitArrived(final.Sent, time.Minute); err != nil {
		return Result{}, err
	}
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
