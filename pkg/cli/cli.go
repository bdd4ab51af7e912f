package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/rootwindow/rootwindow/pkg/sleep"
)

// Exit codes, documented in the README and by `rootwindow help`.
const (
	ExitOK          = 0 // done; with --wait, the guardrail is lifted (--until-closed: back)
	ExitRefused     = 1 // rootwindow refused: the message says why and what to do
	ExitUsage       = 2 // the command line is not one rootwindow understands
	ExitUnavailable = 3 // rootwindow, AWS or the network failed; trying again may help
	ExitEnded       = 4 // while waiting, the request ended otherwise (rejected, failed, cancelled, closed)
	ExitTimedOut    = 5 // --wait gave up after --timeout
)

// Env is what a run reads and writes: the process's in a binary, a test's in tests.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// AWS loads the SDK configuration for a profile and region ("" for the defaults).
	AWS func(ctx context.Context, profile, region string) (aws.Config, error)
	// Sleep waits between --wait's polls; default the wall clock's, returning early with ctx.Err().
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the time shown beside each change --wait sees; default the wall clock.
	Now func() time.Time
	// HTTP sends the calls to rootwindow's API; default a client with a 35 s timeout.
	HTTP *http.Client
	// Progress, when set, is where long reads (preflight, rollout) draw how they go: a terminal.
	// Nil (output piped, or not a terminal) keeps them quiet.
	Progress io.Writer
}

const usage = `rootwindow: ask for a root access window, and follow it.

  rootwindow request --accounts ID[,ID...] --hours 1-4 --reason TEXT [--start RFC3339] [--key KEY] [--wait | --until-closed]
                     [--task TASK [--why-not-assume-root TEXT]] [--break-glass]
                            --break-glass: an emergency window without approval (where the deployment
                            takes them): 1 hour, from now, announced to every operator, reviewed after
                            TASK is the root task: ` + "`rootwindow help tasks`" + ` lists them; for one that
                            centralized root access performs, the answer is the sts:AssumeRoot command
  rootwindow status ID [--wait | --until-closed]
  rootwindow report ID      what root did in the window, from CloudTrail (made 15 minutes after its end)
  rootwindow list [--account ID] [--status STATUS] [--limit N] [--next TOKEN]
  rootwindow end ID         put the guardrail back now
  rootwindow cancel ID      withdraw a window that has not started
  rootwindow confirm ID     confirm a request an integration made for you
  rootwindow subscribe (--email ADDRESS | --https URL)
                            receive the notifications about your own requests, and no one else's
  rootwindow approve ID [--reason TEXT]   approve someone else's request, as a second administrator
  rootwindow deny ID [--reason TEXT]      deny it: nothing is lifted
  rootwindow review ID --note TEXT        review someone else's break-glass window (what was done,
                                          and that it was right): its alarm clears
  rootwindow preflight (--policy-id p-... | --config rootwindow.json) [--owner-tag owner]
                      [--strategy detach|exempt|auto] [--output table|json|csv]
                            which accounts could get a window, by which strategy, and if not why
                            (reads Organizations directly: run it with management-account credentials;
                            the strategy is --config's liftStrategy, else detach, the stack's default)
  rootwindow rollout plan (--policy-id p-... | --config FILE) (--accounts ID,... | --ou ou-...,... | --all)
                          [--owner VALUE] [--owner-tag owner] [--strategy detach|exempt|auto] [--apply] [--output text|json]
                            the Organizations calls (attach the guardrail, tag the owner) that would make
                            those accounts eligible; nothing changes without --apply, which makes them,
                            paced; run it again to resume
  rootwindow doctor [--config rootwindow.json] [--profile NAME] [--region REGION]
                            checks, before a deploy, the configuration file (every problem at once)
                            and that AWS credentials and a region are found
  rootwindow fence --account ID [--deployer ROLE-ARN,...] [--operator ROLE-ARN,...] [--qualifier hnb659fds] [--apply]
                            the SCP that fences rootwindow's home account: only the CDK deployment changes
                            rootwindow there, only rootwindow's roles (and --operator) write the
                            organization's policies, only --deployer assumes the deployment's roles;
                            --apply creates it and attaches it to that account (management-account credentials)
  rootwindow help           this text (also: rootwindow <command> --help)
  rootwindow --version

Every command takes:
  --endpoint URL     rootwindow's API (else ROOTWINDOW_ENDPOINT, else the ApiUrl output of --stack)
  --stack NAME       the CloudFormation stack to read ApiUrl from (default RootWindow)
  --profile NAME     the AWS profile to sign with (else the SDK's usual chain: AWS_PROFILE, SSO, ...)
  --region REGION    the API's region (else read from the endpoint, else the profile's)
  --output text|json
  --poll DURATION    how often --wait asks (default 15s); --timeout DURATION (default 6h)

Exit codes: 0 done (with --wait: lifted; --until-closed: back); 1 refused; 2 bad command line;
3 rootwindow, AWS or the network failed (retry); 4 the request ended otherwise while waiting;
5 --wait timed out.
`

type options struct {
	endpoint, stack, profile, region, output string
	poll, timeout                            time.Duration
	wait, untilClosed                        bool
}

// Run runs one command line and returns its exit code.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Sleep == nil {
		env.Sleep = sleep.For
	}
	if len(args) == 2 && args[0] == "help" && args[1] == "tasks" {
		return helpTasks(env)
	}
	if len(args) == 1 && (args[0] == "--version" || args[0] == "version") {
		fmt.Fprintln(env.Stdout, "rootwindow", Version())
		return ExitOK
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(env.Stdout, usage)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	verb, rest := args[0], args[1:]
	switch verb { // the operators' commands read Organizations, not the API
	case "preflight":
		return preflight(ctx, rest, env)
	case "rollout":
		return rollout(ctx, rest, env)
	case "fence":
		return fenceCommand(ctx, rest, env)
	case "doctor":
		return doctor(ctx, rest, env)
	}
	cmd, known := commands[verb]
	if !known {
		return usageError(env, "unknown command %q", verb)
	}
	fs := newFlags("rootwindow " + verb)
	var o options
	fs.StringVar(&o.endpoint, "endpoint", "", "")
	fs.StringVar(&o.stack, "stack", "RootWindow", "")
	fs.StringVar(&o.profile, "profile", "", "")
	fs.StringVar(&o.region, "region", "", "")
	fs.StringVar(&o.output, "output", "text", "")
	fs.DurationVar(&o.poll, "poll", 15*time.Second, "")
	fs.DurationVar(&o.timeout, "timeout", 6*time.Hour, "")
	fs.BoolVar(&o.wait, "wait", false, "")
	fs.BoolVar(&o.untilClosed, "until-closed", false, "")
	a := arguments{verb: verb}
	if cmd.flags != nil {
		cmd.flags(fs, &a)
	}
	// Flags may come after the request ID.
	for {
		if err := parseFlags(fs, rest); err != nil {
			return flagError(env, fs, err)
		}
		if fs.NArg() == 0 {
			break
		}
		a.positional, rest = append(a.positional, fs.Arg(0)), fs.Args()[1:]
	}
	if o.output != "text" && o.output != "json" {
		return usageError(env, "--output must be text or json, got %q", o.output)
	}
	if o.poll < time.Second {
		return usageError(env, "--poll must be at least 1s, got %v", o.poll)
	}
	if o.timeout <= 0 {
		return usageError(env, "--timeout must be more than 0, got %v", o.timeout)
	}
	if o.endpoint != "" {
		if problem := endpointProblem(o.endpoint); problem != "" {
			return usageError(env, "--endpoint %s", problem)
		}
	}
	switch {
	case cmd.takesID && len(a.positional) != 1:
		return usageError(env, "%s takes one request ID", verb)
	case !cmd.takesID && len(a.positional) > 0:
		return usageError(env, "%s takes no argument, got %q", verb, a.positional[0])
	case cmd.takesID && !requestID.MatchString(a.positional[0]):
		return usageError(env, "%q is not a request ID (1 to 80 letters, digits, '-' or '_')", a.positional[0])
	}
	if cmd.check != nil {
		if problem := cmd.check(a); problem != "" {
			return usageError(env, "%s", problem)
		}
	}
	c, err := o.client(ctx, env)
	var mistake *usageMistake
	switch {
	case errors.As(err, &mistake):
		return usageError(env, "%s", mistake.msg)
	case err != nil:
		fmt.Fprintln(env.Stderr, "rootwindow:", err)
		return ExitUnavailable
	}
	return cmd.run(ctx, runner{env: env, o: o, c: c}, a)
}

// command is one verb that calls rootwindow's API: its own flags, what it checks of them before
// any call, and what it does. Each is in a file of its own (request.go, status.go, list.go,
// subscribe.go, decide.go).
type command struct {
	takesID bool // the one positional argument, a request ID
	flags   func(fs *flag.FlagSet, a *arguments)
	check   func(a arguments) string // a usage problem, or ""
	run     func(ctx context.Context, r runner, a arguments) int
}

var commands = map[string]command{
	"request":   requestCommand,
	"status":    statusCommand,
	"list":      listCommand,
	"subscribe": subscribeCommand,
	"end":       decideCommand,
	"cancel":    decideCommand,
	"confirm":   decideCommand,
	"approve":   decideCommand,
	"deny":      decideCommand,
	"review":    decideCommand,
	"report":    reportCommand,
}

// arguments are a command line's own flags and positional arguments.
type arguments struct {
	verb                                                                     string
	positional                                                               []string
	accounts, reason, start, key, account, status, next, task, whyNot, email string
	hook                                                                     string
	limit                                                                    string
	hours                                                                    int
	breakGlass                                                               bool
}

var (
	requestID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
	accountID = regexp.MustCompile(`^[0-9]{12}$`)
)

func usageError(env Env, format string, args ...any) int {
	fmt.Fprintf(env.Stderr, "rootwindow: %s (rootwindow help)\n", fmt.Sprintf(format, args...))
	return ExitUsage
}

// usageMistake is a problem with how rootwindow was told to run (no region, an endpoint that is
// not one, a profile that does not load): the command line or its environment must change, so it
// exits ExitUsage, not ExitUnavailable.
type usageMistake struct{ msg string }

func (m *usageMistake) Error() string { return m.msg }

// endpointProblem says what is wrong with an --endpoint (or ROOTWINDOW_ENDPOINT), or "".
func endpointProblem(endpoint string) string {
	u, err := url.Parse(endpoint)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return fmt.Sprintf("%q is not a URL: give the API's URL, https://<id>.execute-api.<region>.amazonaws.com/<stage>/", endpoint)
	case u.User != nil:
		return fmt.Sprintf("%q holds user information: rootwindow signs its calls with your AWS credentials", endpoint)
	case u.Scheme == "http" && (u.Hostname() == "localhost" || net.ParseIP(u.Hostname()).IsLoopback()):
		return "" // a local emulator
	case u.Scheme != "https":
		return fmt.Sprintf("%q must be https:// (plain http only to this machine)", endpoint)
	}
	return ""
}

// client builds the API client: the endpoint from the flag, the environment or the stack, the
// credentials from the SDK's chain.
func (o options) client(ctx context.Context, env Env) (*Client, error) {
	cfg, err := loadAWS(ctx, env, o.profile, o.region)
	if err != nil {
		return nil, err
	}
	endpoint := o.endpoint
	if endpoint == "" {
		endpoint = env.Getenv("ROOTWINDOW_ENDPOINT")
		if problem := endpointProblem(endpoint); endpoint != "" && problem != "" {
			return nil, &usageMistake{"ROOTWINDOW_ENDPOINT " + problem}
		}
	}
	if endpoint == "" {
		out, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(o.stack)})
		if err != nil {
			return nil, fmt.Errorf("no --endpoint or ROOTWINDOW_ENDPOINT, and the stack %s's outputs cannot be read: %w", o.stack, err)
		}
		for _, s := range out.Stacks {
			for _, op := range s.Outputs {
				if aws.ToString(op.OutputKey) == "ApiUrl" {
					endpoint = aws.ToString(op.OutputValue)
				}
			}
		}
		if endpoint == "" {
			return nil, fmt.Errorf("the stack %s has no ApiUrl output: give --endpoint", o.stack)
		}
	}
	region := o.region
	if m := apiHost.FindStringSubmatch(endpoint); m != nil && region == "" {
		region = m[1]
	}
	if region == "" {
		region = cfg.Region
	}
	if region == "" {
		return nil, &usageMistake{"no region: give --region, or set AWS_REGION or the profile's region"}
	}
	return &Client{Endpoint: endpoint, Region: region, Credentials: cfg.Credentials, HTTP: env.HTTP}, nil
}

// apiHost reads the region from an API Gateway endpoint's host name.
var apiHost = regexp.MustCompile(`^https://[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com`)

type runner struct {
	env Env
	o   options
	c   *Client
}

// show prints v as JSON or text.
func (r runner) show(v any, text string) {
	if r.o.output == "json" {
		b, _ := json.MarshalIndent(v, "", "  ")
		fmt.Fprintln(r.env.Stdout, string(b))
		return
	}
	if text != "" {
		fmt.Fprintln(r.env.Stdout, text)
	}
}

func (r runner) fail(err error) int {
	fmt.Fprintln(r.env.Stderr, "rootwindow:", err)
	switch status := IsAPIError(err); {
	case status >= 500 || status == 0:
		return ExitUnavailable
	default:
		return ExitRefused
	}
}

// follow waits, with --wait or --until-closed, until the window opens or closes.
func (r runner) follow(ctx context.Context, id string) int {
	if !r.o.wait && !r.o.untilClosed {
		return ExitOK
	}
	want := "OPEN"
	if r.o.untilClosed {
		want = "CLOSED"
	}
	ctx, cancel := context.WithTimeout(ctx, r.o.timeout)
	defer cancel()
	last, lastStatus := "", ""
	for {
		var rec map[string]any
		if err := r.c.Do(ctx, "GET", "requests/"+id, nil, nil, nil, &rec); err != nil {
			if ctx.Err() != nil {
				fmt.Fprintf(r.env.Stderr, "rootwindow: still %s after %v: gave up waiting (the request goes on)\n", lastStatus, r.o.timeout)
				return ExitTimedOut
			}
			return r.fail(err)
		}
		status, _ := rec["status"].(string)
		lastStatus = status
		if now := describe(rec); now != last {
			at := time.Now
			if r.env.Now != nil {
				at = r.env.Now
			}
			fmt.Fprintf(r.env.Stderr, "%s  %s\n", at().UTC().Format("15:04:05"), now)
			last = now
		}
		switch {
		case status == want || (want == "OPEN" && (status == "CLOSING" || status == "CLOSED") && rec["openedAt"] != nil):
			if status == want {
				r.show(rec, "")
				return ExitOK
			}
			fmt.Fprintf(r.env.Stderr, "rootwindow: the window already ended\n")
			return ExitEnded
		case status == "REJECTED" || status == "FAILED" || status == "CANCELLED" || (want == "CLOSED" && status == "CLOSED"):
			r.show(rec, "")
			return ExitEnded
		}
		if err := r.env.Sleep(ctx, r.o.poll); err != nil {
			fmt.Fprintf(r.env.Stderr, "rootwindow: still %s after %v: gave up waiting (the request goes on)\n", lastStatus, r.o.timeout)
			return ExitTimedOut
		}
	}
}

// signIn is what signing in as each account's root user takes, one line each ("" when unknown).
func signIn(rec map[string]any) string {
	list, _ := rec["signIn"].([]any)
	var b strings.Builder
	for _, x := range list {
		si, _ := x.(map[string]any)
		fmt.Fprintf(&b, "\n  sign in as root on %v: email %v, root password %v, MFA devices %v", si["accountId"], si["email"], si["rootPassword"], si["mfaDevices"])
		if si["prepared"] == true {
			b.WriteString(", password recovery allowed for the window")
		}
		if si["deleted"] == true {
			b.WriteString("; the root password was deleted again after the window")
		} else if d, ok := si["detail"].(string); ok && d != "" {
			b.WriteString(" (" + d + ")")
		}
	}
	return b.String()
}

// describe is one line about a request.
func describe(rec map[string]any) string {
	id, _ := rec["requestId"].(string)
	status, _ := rec["status"].(string)
	line := fmt.Sprintf("%s %s %v", id, status, rec["accountIds"])
	switch status {
	case "SCHEDULED":
		line += fmt.Sprintf(" from %v for %v h", rec["startAt"], rec["hours"])
		if by, ok := rec["confirmBy"]; ok && rec["confirmedBy"] == nil {
			line += fmt.Sprintf("; confirm by %v (rootwindow confirm %s)", by, id)
		}
		switch by, ok := rec["approveBy"]; {
		case rec["approvedBy"] != nil:
			line += fmt.Sprintf("; approved by %v", rec["approvedBy"])
		case rec["deniedBy"] != nil:
			line += fmt.Sprintf("; denied by %v", rec["deniedBy"])
		case ok:
			line += fmt.Sprintf("; waits until %v for a second administrator (rootwindow approve %s, or deny)", by, id)
		}
	case "OPEN":
		line += fmt.Sprintf(": the guardrail is lifted until %v", rec["restoreAt"])
	case "CLOSING":
		line += fmt.Sprintf(": the guardrail is going back (rootwindow status %s --until-closed)", id)
	case "CLOSED":
		line += fmt.Sprintf(": the guardrail is back since %v", rec["closedAt"])
	case "REJECTED", "FAILED":
		if p, ok := rec["problems"].([]any); ok && len(p) > 0 {
			line += fmt.Sprintf(": %v", p[0])
		} else if e, ok := rec["lastError"].(string); ok {
			line += ": " + e
		}
	}
	return line
}
