package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/simtime"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/cli"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// Faults the demo can inject into the emulated organization.
var Faults = map[string]string{
	"none":           "no fault",
	"throttle":       "Organizations throttles beyond 10 calls a second and answers TooManyRequestsException to the first 3 detaches",
	"detach-partway": "the last account's detach is denied (AccessDeniedException): the lift fails part-way and is put back",
	"reattach-flaky": "the first account's reattach meets ConcurrentModificationException 8 times, more than one invocation retries",
}

// Layouts of the guardrail the demo can set up in the built-in emulator.
var Layouts = map[string]string{
	"direct": "attached directly to each member beside FullAWSAccess",
	"ou":     "attached to an OU holding the members, not to the members",
	"root":   "attached to the organization's root, not to the members",
	"mixed":  "attached to each member and to the OU holding them",
}

// Demo is one request shown end to end.
type Demo struct {
	Accounts  []string
	Hours     int
	StartAt   time.Time // zero: now
	Fault     string
	Requester string
	Layout    string // a key of Layouts; "" is direct
	Strategy  string // the lift strategy (contract.Strategy*); "" is auto
	// Channel is how the request is made: "console" (an execution started with the request, the
	// default) or "cli" (the rootwindow command, through a local stand-in for API Gateway that
	// checks its SigV4 signature, in front of the real api handler).
	Channel string
	// Task is the root task the request names ("" for none).
	Task string
}

// SetLayout puts the guardrail where the layout says, for the members; it needs the built-in
// emulator, except for direct (the members as given).
func (h *Harness) SetLayout(name string) error {
	if _, ok := Layouts[name]; !ok {
		return fmt.Errorf("unknown layout %q (want direct, ou, root or mixed)", name)
	}
	if name == "direct" {
		return nil
	}
	if h.Org == nil {
		return fmt.Errorf("layout %s needs the built-in Organizations emulator, not an external endpoint", name)
	}
	const ou = "ou-demo-members"
	h.Org.AddOU(ou, h.Org.Root(), orgemu.FullAWSAccessID)
	for _, a := range h.Members() {
		h.Org.MoveAccount(a, ou)
		if name != "mixed" {
			h.Org.Detach(a, h.PolicyID)
		}
	}
	if name == "root" {
		h.Org.Attach(h.Org.Root(), h.PolicyID)
	} else {
		h.Org.Attach(ou, h.PolicyID)
	}
	return nil
}

// verdicts asks the SCP evaluator, over the organization as Organizations holds it now, whether
// the root user of each account is allowed at instant at: in the built-in emulator directly (no
// call, so the demo's own look costs no virtual time and meets no throttle), else through the
// Organizations API.
func (h *Harness) verdicts(ctx context.Context, accounts []string, at time.Time) (map[string]bool, error) {
	out := map[string]bool{}
	for _, a := range accounts {
		if h.Org != nil {
			out[a] = h.Org.RootAllowed(a, at, false)
			continue
		}
		ok, err := h.Guardrail().RootAllowed(ctx, a, at)
		if err != nil {
			return nil, err
		}
		out[a] = ok
	}
	return out, nil
}

// InjectFault sets up a named fault; it needs the harness's own emulator.
func (h *Harness) InjectFault(name string, accounts []string) error {
	if _, ok := Faults[name]; !ok {
		return fmt.Errorf("unknown fault %q (want one of none, throttle, detach-partway, reattach-flaky)", name)
	}
	if name == "none" {
		return nil
	}
	if h.Org == nil {
		return fmt.Errorf("faults need the built-in Organizations emulator, not an external endpoint")
	}
	switch name {
	case "throttle":
		h.Org.SetRateLimit(10, 3)
		h.Org.Inject(orgemu.Fault{Op: "DetachPolicy", Policy: h.PolicyID, Code: "TooManyRequestsException", Times: 3})
	case "detach-partway":
		h.Org.Inject(orgemu.Fault{Op: "DetachPolicy", Target: accounts[len(accounts)-1], Policy: h.PolicyID, Code: "AccessDeniedException"})
	case "reattach-flaky":
		h.Org.Inject(orgemu.Fault{Op: "AttachPolicy", Target: accounts[0], Policy: h.PolicyID, Code: "ConcurrentModificationException", Times: 8})
	}
	return nil
}

// RunDemo submits the request through the synthesized state machine, prints a timeline to w, and
// then asks Organizations whether the guardrail is back on every account. It returns an error
// when it is not.
func (h *Harness) RunDemo(ctx context.Context, w io.Writer, d Demo) error {
	if d.Layout == "" {
		d.Layout = "direct"
	}
	if d.Strategy == "" {
		d.Strategy = contract.StrategyAuto
	}
	if err := h.SetLayout(d.Layout); err != nil {
		return err
	}
	if err := h.Configure(ctx, map[string]string{contract.EnvLiftStrategy: d.Strategy}); err != nil {
		return err
	}
	if err := h.InjectFault(d.Fault, d.Accounts); err != nil {
		return err
	}
	id := fmt.Sprintf("demo-%d", time.Now().Unix())
	var before map[string][]string
	if h.Org != nil {
		before = h.Org.Snapshot()
	}
	// Where the guardrail applies (attached to the account, or above it), asked of an
	// organization we do not hold the whole state of: the run must leave it exactly so.
	var covered map[string]bool
	if h.Org == nil {
		var err error
		if covered, err = h.Guardrail().Covers(ctx, h.Members()); err != nil {
			return fmt.Errorf("ask Organizations where the guardrail applies: %w", err)
		}
	}
	// The root user by the evaluator: now, inside the window and a second after its end as the
	// organization stands just before the restore (what AWS enforces if rootwindow is gone by
	// then), and after the run.
	now, err := h.verdicts(ctx, d.Accounts, h.Clock.Now())
	if err != nil {
		return fmt.Errorf("evaluate the root user's SCPs: %w", err)
	}
	var inside, gone map[string]bool
	var hookErr error
	h.BeforeInvoke(contract.TaskReattach, func(ctx context.Context) {
		rid := id
		if ex := h.AWS.Executions(); len(ex) > 0 {
			rid = ex[len(ex)-1].Name // the execution running now (the API names its own)
		}
		rec, err := h.Ledger().Get(ctx, rid)
		if err != nil || rec.RestoreAt.IsZero() {
			return // the window did not open: nothing to evaluate inside it
		}
		if inside, hookErr = h.verdicts(ctx, d.Accounts, rec.RestoreAt.Add(-time.Minute)); hookErr == nil {
			gone, hookErr = h.verdicts(ctx, d.Accounts, rec.RestoreAt.Add(time.Second))
		}
	})
	req := map[string]any{"accountIds": d.Accounts, "hours": d.Hours, "requester": d.Requester,
		"reason": "rootwindow demo: enable MFA delete on the audit bucket (DEMO-1)"}
	if d.Task != "" {
		req["task"] = d.Task
	}
	start := "now"
	if !d.StartAt.IsZero() {
		req["startAt"] = d.StartAt.UTC().Format(time.RFC3339)
		start = req["startAt"].(string)
	}
	input, err := json.Marshal(map[string]any{"request": req, "origin": map[string]string{"channel": "stepfunctions"}})
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "rootwindow demo: the synthesized state machine, run locally over the real Lambda handlers\n")
	if h.Org != nil {
		fmt.Fprintf(w, "  organization  emulated: management %s; members %s\n", Management, strings.Join(h.Members(), " "))
		fmt.Fprintf(w, "                guardrail %s %s; tag owner=%s\n", h.PolicyID, Layouts[d.Layout], Owner)
	} else {
		fmt.Fprintf(w, "  organization  external endpoint; guardrail %s\n", h.PolicyID)
	}
	fmt.Fprintf(w, "  time          virtual: it stands still while anything works and jumps to the next timer when all wait; UTC\n")
	fmt.Fprintf(w, "  request       %s: %s, %d hour(s), start %s\n", id, strings.Join(d.Accounts, " "), d.Hours, start)
	fmt.Fprintf(w, "  strategy      %s\n", d.Strategy)
	fmt.Fprintf(w, "  fault         %s: %s\n\n", d.Fault, Faults[d.Fault])

	var res Result
	cliOut := &strings.Builder{}
	if d.Channel == "cli" {
		if id, res, err = h.runCLI(ctx, d, cliOut); err != nil {
			return err
		}
	} else if res, err = h.Run(ctx, id, input); err != nil {
		return err
	}
	rec, recErr := h.Ledger().Get(ctx, id)
	for _, line := range timeline(res, rec, h.orgCalls(res), h.AWS.Events(), h.PolicyID) {
		fmt.Fprintln(w, line)
	}
	if cliOut.Len() > 0 {
		fmt.Fprintf(w, "\n  the CLI said:\n")
		for _, l := range strings.Split(strings.TrimRight(cliOut.String(), "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
	fmt.Fprintf(w, "\n  execution     %s", res.Status)
	if res.Status != "SUCCEEDED" {
		fmt.Fprintf(w, " with %s:\n%s", res.Error, indent(errorMessage(res.Cause), "                "))
	}
	fmt.Fprintf(w, "\n                %d state transitions, %d Lambda invocations\n", res.Transitions(), sum(res.Invocations))
	// The wall clock is no part of the timeline (the same on every run): it goes to the log.
	fmt.Fprintf(os.Stderr, "demo: the execution ran in %v of wall clock\n", res.Took.Round(10*time.Millisecond))
	if recErr == nil {
		fmt.Fprintf(w, "  ledger        %s", rec.Status)
		if !rec.OpenedAt.IsZero() {
			by := "the window's SCP"
			if rec.Strategy == contract.StrategyExempt {
				by = "the guardrail's document"
			}
			fmt.Fprintf(w, ": opened %s, window until %s (%d h from the start of the lift; %s denies root from then)", clock(rec.OpenedAt), clock(rec.RestoreAt), rec.Hours, by)
		}
		if !rec.ClosedAt.IsZero() {
			fmt.Fprintf(w, ", closed %s", clock(rec.ClosedAt))
		}
		if rec.LastError != "" {
			fmt.Fprintf(w, "; last error:\n%s", indent(rec.LastError, "                "))
		}
		fmt.Fprintln(w)
	}
	if !rec.OpenedAt.IsZero() { // a request that lifted nothing was lifted by nothing
		fmt.Fprintf(w, "  lifted by     %s\n", rec.Strategy)
	}
	after, err := h.verdicts(ctx, d.Accounts, h.Clock.Now())
	if err != nil {
		return fmt.Errorf("evaluate the root user's SCPs: %w", err)
	}
	fmt.Fprintf(w, "\n  root user     the SCP evaluator (pkg/policy) over the organization as Organizations holds it\n")
	fmt.Fprintf(w, "                %-14s %-8s %-15s %-34s %s\n", "account", "before", "in the window", "after its end, rootwindow gone", "after")
	verdict := func(m map[string]bool, a string) string {
		switch {
		case m == nil:
			return "-"
		case m[a]:
			return "ALLOWED"
		}
		return "denied"
	}
	for _, a := range d.Accounts {
		fmt.Fprintf(w, "                %-14s %-8s %-15s %-34s %s\n", a, verdict(now, a), verdict(inside, a), verdict(gone, a), verdict(after, a))
	}
	if hookErr != nil {
		return hookErr
	}
	var open []string
	for _, a := range d.Accounts {
		if after[a] || gone[a] {
			open = append(open, a)
		}
	}
	if len(open) > 0 {
		fmt.Fprintf(w, "  check         ROOT NOT BLOCKED on %s\n", strings.Join(open, " "))
		return fmt.Errorf("the root user is not blocked on %d account(s)", len(open))
	}
	if before != nil {
		if after := h.Org.Snapshot(); !reflect.DeepEqual(before, after) {
			fmt.Fprintf(w, "  check         THE ORGANIZATION CHANGED: attachments or policies differ from before the run\n")
			return fmt.Errorf("the organization's attachments or policies changed")
		}
		fmt.Fprintf(w, "  check         root blocked on every account; attachments and policies exactly as before the run\n")
		return nil
	}
	// An organization we do not hold the whole state of: the guardrail must apply to every
	// account exactly where it did before the run (attached to it, or above it).
	coveredAfter, err := h.Guardrail().Covers(ctx, h.Members())
	if err != nil {
		return fmt.Errorf("ask Organizations where the guardrail applies: %w", err)
	}
	var changed []string
	for _, a := range h.Members() {
		if covered[a] != coveredAfter[a] {
			changed = append(changed, fmt.Sprintf("%s (%s before, %s after)", a, applies(covered[a]), applies(coveredAfter[a])))
		}
	}
	if len(changed) > 0 {
		fmt.Fprintf(w, "  check         THE GUARDRAIL CHANGED on %s\n", strings.Join(changed, ", "))
		return fmt.Errorf("the guardrail does not apply as before the run on %d account(s)", len(changed))
	}
	fmt.Fprintf(w, "  check         root blocked on every account; Organizations says the guardrail applies to each as before the run: %s\n", strings.Join(h.Members(), " "))
	return nil
}

func applies(on bool) string {
	if on {
		return "applied"
	}
	return "did not apply"
}

// indent puts prefix before every line of s.
func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

func (h *Harness) orgCalls(res Result) []orgemu.Call {
	if h.Org == nil || len(res.Events) == 0 {
		return nil
	}
	var out []orgemu.Call
	for _, c := range h.Org.Calls() {
		if slices.Contains([]string{"DetachPolicy", "AttachPolicy", "CreatePolicy", "DeletePolicy", "UpdatePolicy"}, c.Op) && !c.At.Before(res.Events[0].At) {
			out = append(out, c)
		}
	}
	return out
}

type line struct {
	at   time.Time
	text string
}

// timeline merges the execution's states, the ledger's transitions, the changes to the guardrail
// and to the window's SCP, and the notifications sent.
func timeline(res Result, rec ledger.Record, calls []orgemu.Call, notices []awsemu.Event, guardrailID string) []string {
	var lines []line
	add := func(at time.Time, format string, args ...any) {
		lines = append(lines, line{at: at, text: fmt.Sprintf(format, args...)})
	}
	for _, e := range res.Events {
		switch e.Type {
		case "StateEntered":
			add(e.At, "state     %s", e.State)
		case "StateRetried":
			add(e.At, "state     %s: retry %d", e.State, e.Attempt)
		case "StateCaught":
			add(e.At, "state     %s: failure caught", e.State)
		}
	}
	for _, t := range rec.History {
		note := t.Note
		if note != "" {
			note = ": " + oneLine(note)
		}
		add(t.At, "ledger    %s%s", t.Status, note)
	}
	for _, c := range calls {
		what := "guardrail"
		if c.Policy != guardrailID {
			what = "window SCP " + c.Policy
		}
		switch {
		case c.Op == "UpdatePolicy" && c.Error == "":
			add(c.At, "org       guardrail's document rewritten from the ledger's open windows (UpdatePolicy)")
		case c.Op == "CreatePolicy" && c.Error == "":
			add(c.At, "org       window SCP created: it denies the root user from the window's end, by AWS's clock")
		case c.Op == "DeletePolicy" && c.Error == "":
			add(c.At, "org       %s deleted", what)
		case c.Error == "DuplicatePolicyAttachmentException":
			add(c.At, "org       %s already on %s (%s)", what, c.Target, c.Error)
		case c.Error == "PolicyNotAttachedException":
			add(c.At, "org       %s already off %s (%s)", what, c.Target, c.Error)
		case c.Error == "" && c.Op == "DetachPolicy":
			add(c.At, "org       %s off %s", what, c.Target)
		case c.Error == "" && c.Op == "AttachPolicy":
			add(c.At, "org       %s on %s", what, c.Target)
		default:
			add(c.At, "org       %s %s: %s", c.Op, c.Target, c.Error)
		}
	}
	for _, e := range notices {
		add(e.Received, "notify    %s", e.DetailType)
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].at.Before(lines[j].at) })
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = "  " + clock(l.at) + "  " + l.text
	}
	return out
}

func clock(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

// oneLine puts s on one line, whole: a refusal's advice is part of it.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }

// errorMessage unwraps a Lambda error object, the Cause Step Functions reports for a task error.
func errorMessage(cause string) string {
	var lambdaErr struct{ ErrorMessage string }
	if json.Unmarshal([]byte(cause), &lambdaErr) == nil && lambdaErr.ErrorMessage != "" {
		return lambdaErr.ErrorMessage
	}
	return cause
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// runCLI asks for the window with the rootwindow command through a stand-in API Gateway that
// checks its signature, follows it with --until-closed, and runs the execution the API starts.
// It returns the request ID and the execution's result; what the CLI printed goes to out. The
// CLI is an actor on the virtual clock: its polls (--poll) are timers like the execution's, and
// what the API does for a call waits as the CLI.
func (h *Harness) runCLI(ctx context.Context, d Demo, out *strings.Builder) (string, Result, error) {
	const key, secret = "AKIDDEMO", "demo-secret"
	gw := httptest.NewServer(&testenv.Gateway{Handler: h.API(), Region: "us-east-1",
		Callers: map[string]string{key: d.Requester}, Secrets: map[string]string{key: secret}, Context: h.Clock.Context})
	defer gw.Close()
	args := []string{"request", "--accounts", strings.Join(d.Accounts, ","), "--hours", fmt.Sprint(d.Hours),
		"--reason", "rootwindow demo: enable MFA delete on the audit bucket (DEMO-1)", "--key", fmt.Sprintf("demo-%d", time.Now().UnixNano()),
		"--until-closed", "--poll", "10m", "--endpoint", gw.URL + "/v1/", "--region", "us-east-1"}
	if !d.StartAt.IsZero() {
		args = append(args, "--start", d.StartAt.UTC().Format(time.RFC3339))
	}
	if d.Task != "" {
		args = append(args, "--task", d.Task)
	}
	// Time stands still from here until the execution the API starts is running.
	hold := h.Clock.Go("demo")
	var once sync.Once
	release := func() { once.Do(hold.Done) }
	defer release()
	var mu sync.Mutex
	done := make(chan int, 1)
	cliActor := h.Clock.Go("rootwindow command")
	go func() {
		defer cliActor.Done()
		w := &lockedWriter{b: out, mu: &mu}
		done <- cli.Run(simtime.WithActor(ctx, cliActor), args, cli.Env{Stdout: w, Stderr: w, Getenv: func(string) string { return "" },
			AWS: func(context.Context, string, string) (aws.Config, error) {
				return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")}, nil
			},
			Sleep: cliActor.Sleep, Now: h.Clock.Now,
			HTTP: &http.Client{Transport: h.Clock.Transport(nil)}})
	}()
	// The API starts an execution; run it as Step Functions would.
	deadline := time.Now().Add(time.Minute)
	for len(h.AWS.Executions()) == 0 {
		select {
		case code := <-done:
			return "", Result{}, fmt.Errorf("the CLI ended (exit %d) before any execution started:\n%s", code, out.String())
		default:
		}
		if time.Now().After(deadline) {
			return "", Result{}, fmt.Errorf("no execution was started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	started := h.AWS.Executions()[0]
	res, err := h.RunWith(ctx, started.Name, started.Input, RunOptions{Handover: hold})
	if err != nil {
		return started.Name, res, err
	}
	if code := <-done; code != cli.ExitOK {
		return started.Name, res, fmt.Errorf("the CLI exited %d:\n%s", code, out.String())
	}
	return started.Name, res, nil
}

type lockedWriter struct {
	b  *strings.Builder
	mu *sync.Mutex
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
