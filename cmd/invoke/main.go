// Command invoke runs one rootwindow function's handler on this machine, with Lambda's own JSON
// handling, on an event (by default its sample in events/), against loopback emulators: an
// emulated organization, dynalite for the ledger, and EventBridge/SNS/Step Functions stand-ins
// (`make invoke-<function>`). A step that acts on an existing request (detach, reattach) has the
// steps before it run first on their samples, so that the request exists; each is printed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/api"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/lambdaenv"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/workflow"
)

// samples are each function's event in events/, and the functions that must run before it.
var samples = map[string]struct {
	event  string
	before []string
}{
	"validate": {event: "validate.json"},
	"detach":   {event: "detach.json", before: []string{"validate"}},
	"reattach": {event: "reattach.json", before: []string{"validate", "detach"}},
	"api":      {event: "api-post-request.json"},
	"sweeper":  {event: "sweep-schedule.json"},
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fn := fs.String("function", "", "the function to run: validate, detach, reattach, api or sweeper")
	event := fs.String("event", "", "the event file (default: the function's sample in events/)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sample, ok := samples[*fn]
	if !ok {
		names := make([]string, 0, len(samples))
		for n := range samples {
			names = append(names, n)
		}
		slices.Sort(names)
		return fmt.Errorf("-function must be one of %s, got %q", strings.Join(names, ", "), *fn)
	}
	if *event == "" {
		*event = filepath.Join(testenv.RepoRoot(), "events", sample.event)
	}
	payload, err := os.ReadFile(*event)
	if err != nil {
		return fmt.Errorf("-event: %w", err)
	}

	ctx := context.Background()
	handlers, emu, stop, err := start(ctx)
	if err != nil {
		return err
	}
	defer stop()
	for _, prior := range sample.before {
		b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "events", samples[prior].event))
		if err != nil {
			return err
		}
		if prior == "validate" {
			if b, err = startedNow(emu, b); err != nil {
				return err
			}
		}
		res, err := handlers[prior].Invoke(ctx, b)
		fmt.Fprintf(out, "first %s on events/%s: %s\n", prior, samples[prior].event, answer(res, err))
		if err != nil {
			return fmt.Errorf("%s, run first so that the request exists, failed", prior)
		}
	}
	if *fn == "validate" {
		if payload, err = startedNow(emu, payload); err != nil {
			return fmt.Errorf("-event: %w", err)
		}
	}
	res, err := handlers[*fn].Invoke(ctx, payload)
	fmt.Fprintf(out, "%s on %s: %s\n", *fn, *event, answer(res, err))
	return err
}

// startedNow records in the emulated CloudTrail that the request's requester started the
// execution of a Validate payload just now (as a console user asking for themselves), and
// returns the payload with that start time.
func startedNow(emu *awsemu.Server, payload []byte) ([]byte, error) {
	var in contract.ValidateInput
	if err := json.Unmarshal(payload, &in); err != nil {
		return nil, err
	}
	var env struct {
		Request struct {
			Requester string `json:"requester"`
		} `json:"request"`
	}
	_ = json.Unmarshal(in.Input, &env)
	started := testenv.Started(emu, in.Execution, in.Input, testenv.Person(env.Request.Requester), time.Now())
	return json.Marshal(started)
}

func answer(res []byte, err error) string {
	if err != nil {
		var ie *messages.InvokeResponse_Error
		if errors.As(err, &ie) {
			return fmt.Sprintf("error %s: %s", ie.Type, ie.Message)
		}
		return "error: " + err.Error()
	}
	var pretty any
	if json.Unmarshal(res, &pretty) == nil {
		b, _ := json.MarshalIndent(pretty, "", "  ")
		return string(b)
	}
	return string(res)
}

// start runs the emulators and builds every function's handler as its main does, configured
// only through the environment variables the stack sets.
func start(ctx context.Context) (map[string]lambda.Handler, *awsemu.Server, func(), error) {
	org := orgemu.Standard(testenv.Management, "alice@example.com", "111111111111", "222222222222", "333333333333")
	orgURL := org.Start()
	emu := awsemu.New()
	emuURL := emu.Start()
	dbURL, stopDB, err := testenv.StartDynalite()
	stop := func() {
		org.Close()
		emu.Close()
		if stopDB != nil {
			stopDB()
		}
	}
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	const table = "rootwindow-ledger"
	if err := ledger.CreateTable(ctx, testenv.DynamoDB(dbURL), table); err != nil {
		stop()
		return nil, nil, nil, err
	}
	env := map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDLOCAL", "AWS_SECRET_ACCESS_KEY": "local",
		"AWS_ENDPOINT_URL_ORGANIZATIONS": orgURL, "AWS_ENDPOINT_URL_DYNAMODB": dbURL,
		"AWS_ENDPOINT_URL_EVENTBRIDGE": emuURL, "AWS_ENDPOINT_URL_SNS": emuURL, "AWS_ENDPOINT_URL_SFN": emuURL,
		"AWS_ENDPOINT_URL_CLOUDTRAIL": emuURL, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": emuURL, contract.EnvEventsRoleARN: testenv.EventsRoleARN, contract.EnvAPIRoleARN: testenv.APIRoleARN,
		contract.EnvTableName: table, contract.EnvGuardrailPolicyID: orgemu.GuardrailID,
		contract.EnvAdminPrincipals: testenv.AdminPattern, contract.EnvOrganizationID: orgemu.OrganizationID, contract.EnvTopicARN: testenv.TopicARN,
		contract.EnvStateMachineARN: testenv.StateMachineARN, contract.EnvStateMachineRoleARN: testenv.StateMachineRoleARN,
	}
	getenv := func(k string) string { return env[k] }
	instance, err := lambdaenv.Load(ctx, lambdaenv.Options{Getenv: getenv, Env: getenv})
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	sfn := testenv.Adapters(instance)
	svc := instance.Service()
	steps := workflow.New(svc)
	return map[string]lambda.Handler{
		"validate": lambda.NewHandler(steps.Validate),
		"detach":   lambda.NewHandler(steps.Detach),
		"reattach": lambda.NewHandler(steps.Reattach),
		"sweeper":  lambda.NewHandler(steps.SafetyNet),
		"api":      lambda.NewHandler(api.New(svc, sfn, instance.Config.StateMachineARN).Handle),
	}, emu, stop, nil
}
