// Package harness runs rootwindow's real workflow on one machine: the state machine definition
// that the CDK stack synthesizes, executed by aws-local-stepfunctions, whose Tasks invoke the real
// Lambda handlers (built from environment variables, with Lambda's JSON handling) using the real
// AWS SDK clients, pointed by AWS_ENDPOINT_URL_* at loopback emulators: the project's
// Organizations emulator and dynalite, or endpoints the caller already runs.
//
// Time is virtual and discrete (internal/simtime): the handlers, the emulators and the state
// machine runner share a clock that stands still while anything works and jumps from timer to
// timer (a Wait state's end, a retry's back-off, a deadline) only when everything waits. So a
// four-hour window passes as soon as the work around it is done, and every run gives the same
// virtual timeline, on a busy machine as on an idle one.
package harness

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/cdktest"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/rootemu"
	"github.com/rootwindow/rootwindow/internal/simtime"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/api"
	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/lambdaenv"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/policy"
	"github.com/rootwindow/rootwindow/pkg/window"
	"github.com/rootwindow/rootwindow/pkg/workflow"
)

// Defaults of the emulated organization.
const (
	Management = "999999999999"
	Owner      = "alice@example.com"
	// Requester is an administrator (matches AdminPattern) who owns every emulated member.
	Requester    = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/alice@example.com"
	AdminPattern = testenv.AdminPattern
	// TopicARN and StateMachineARN are what the handlers are configured with.
	TopicARN        = testenv.TopicARN
	StateMachineARN = testenv.StateMachineARN
	// Deployment is the local rootwindow's name as a deployment (its claim on the guardrail).
	Deployment = "999999999999/us-east-1/RootWindow"
)

// Options configure a harness; zero values mean "start and seed our own".
type Options struct {
	// Start is the virtual time the harness starts at; default the wall clock's, to the second.
	Start time.Time
	// Members are the emulated member accounts (default three), each with the guardrail attached
	// directly beside FullAWSAccess and tagged owner=Owner.
	Members []string
	// OrganizationsEndpoint and DynamoDBEndpoint use emulators the caller runs instead of ours;
	// GuardrailPolicyID then names the guardrail in that organization.
	OrganizationsEndpoint string
	DynamoDBEndpoint      string
	GuardrailPolicyID     string
	// OrganizationID is the organization's ID (default: the built-in emulator's, or with an
	// external endpoint what its DescribeOrganization answers).
	OrganizationID string
	// AdminPattern is who may ask (default AdminPattern).
	AdminPattern string
	// Backoff of the handlers' Organizations retries (default: 4 attempts from 10 ms up to 40 ms,
	// so the pacer spaces calls at most 40 ms apart and a throttled call goes at most 12 times).
	Backoff guardrail.Backoff
}

// Harness is a running local rootwindow.
type Harness struct {
	Org     *orgemu.Server // nil when Options.OrganizationsEndpoint is set
	initial orgemu.State   // Org as Start made it (ResetOrganization)
	// AWS serves EventBridge and SNS (the notifications) and Step Functions' StartExecution (the API).
	AWS *awsemu.Server
	// Root serves STS AssumeRoot and the root user's IAM calls (centralized root access).
	Root       *rootemu.Server
	Clock      *simtime.Clock
	Definition []byte
	PolicyID   string
	// rule is the request rule's input transformer, and safety the status-change rule, as synthesized.
	rule      inputTransformer
	safety    safetyRule
	busPolicy policy.Document

	opts    Options
	db      *dynamodb.Client
	stop    []func()
	invoker *invoker
	mu      sync.Mutex
	steps   *workflow.Steps
	deps    window.Deps // what steps works with (its ledger, its guardrail)
	api     *api.Handler

	tableSeq int
	table    string                     // the current ledger table
	rates    func(string) contract.Rate // what the functions pace Organizations' calls under
	pin      string                     // the guardrail's document's SHA-256, configured
}

// Start brings up the emulators (unless given endpoints), synthesizes the state machine, and
// points the AWS SDK at the emulators through AWS_ENDPOINT_URL_* in this process's environment;
// so one harness per process.
func Start(ctx context.Context, opts Options) (h *Harness, err error) {
	if opts.Start.IsZero() {
		opts.Start = time.Now().Truncate(time.Second)
	}
	if len(opts.Members) == 0 {
		opts.Members = []string{"111111111111", "222222222222", "333333333333"}
	}
	if opts.AdminPattern == "" {
		opts.AdminPattern = AdminPattern
	}
	if opts.Backoff.Attempts == 0 {
		opts.Backoff = guardrail.Backoff{Attempts: 4, Base: 10 * time.Millisecond, Max: 40 * time.Millisecond}
	}
	h = &Harness{opts: opts, Clock: simtime.New(opts.Start), PolicyID: opts.GuardrailPolicyID, rates: guardrail.Unpaced}
	started := h // h itself is nil when Start fails
	defer func() {
		if err != nil {
			started.Close()
		}
	}()

	orgURL := opts.OrganizationsEndpoint
	if orgURL == "" {
		h.Org = orgemu.Standard(Management, Owner, opts.Members...)
		h.Org.SetClock(h.Clock.Now, h.Clock.SleepFor)
		orgURL = h.Org.Start()
		h.stop = append(h.stop, h.Org.Close)
		h.PolicyID = orgemu.GuardrailID
	} else if err := config.ValidPolicyID(h.PolicyID); err != nil {
		return nil, fmt.Errorf("with an external Organizations endpoint, give the guardrail policy ID: %w", err)
	}
	// Every member's root user, for the sign-in audit when a test configures centralized root
	// access (a root user with no password, MFA or keys).
	roots := map[string]rootemu.Root{}
	for _, id := range opts.Members {
		roots[id] = rootemu.Root{}
	}
	h.Root = rootemu.New(roots)
	rootURL := h.Root.Start()
	h.stop = append(h.stop, h.Root.Close)
	h.AWS = awsemu.New()
	h.AWS.StateMachine(StateMachineARN, testenv.StateMachineRoleARN) // the state machine the steps bind themselves to
	h.AWS.SetClock(h.Clock.Now)
	// The handlers sign with this key; CloudTrail names its StartExecution calls as the api
	// function's role, which the API door is known by.
	h.AWS.Identify("AKIDLOCAL", awsemu.Identity{ARN: "arn:aws:sts::999999999999:assumed-role/rootwindow-FunctionsApiRole/api", IssuerARN: testenv.APIRoleARN})
	awsURL := h.AWS.Start()
	h.stop = append(h.stop, h.AWS.Close)
	dbURL := opts.DynamoDBEndpoint
	if dbURL == "" {
		var stop func()
		if dbURL, stop, err = testenv.StartDynalite(); err != nil {
			return nil, err
		}
		h.stop = append(h.stop, stop)
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_ORGANIZATIONS": orgURL, "AWS_ENDPOINT_URL_DYNAMODB": dbURL,
		"AWS_ENDPOINT_URL_EVENTBRIDGE": awsURL, "AWS_ENDPOINT_URL_SNS": awsURL, "AWS_ENDPOINT_URL_SFN": awsURL,
		"AWS_ENDPOINT_URL_CLOUDTRAIL": awsURL, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": awsURL, "AWS_ENDPOINT_URL_STS": rootURL, "AWS_ENDPOINT_URL_IAM": rootURL,
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDLOCAL", "AWS_SECRET_ACCESS_KEY": "local",
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		if err := os.Setenv(k, v); err != nil {
			return nil, err
		}
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	h.db = dynamodb.NewFromConfig(awsCfg)
	orgs := organizations.NewFromConfig(awsCfg)
	if h.opts.OrganizationID == "" {
		h.opts.OrganizationID = orgemu.OrganizationID
		if opts.OrganizationsEndpoint != "" {
			out, err := orgs.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
			if err != nil {
				return nil, fmt.Errorf("ask the organization its ID: %w", err)
			}
			h.opts.OrganizationID = aws.ToString(out.Organization.Id)
		}
	}
	// The guardrail's document is pinned by configuration, as an operator pins it (required under
	// the exempt strategy): its hash as Organizations returns it now.
	content, err := guardrail.New(orgs, h.PolicyID, guardrail.Options{}).Content(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the guardrail's document to pin it: %w", err)
	}
	h.pin = content.SHA256

	fns, def, template, err := synthesize()
	if err != nil {
		return nil, err
	}
	if h.rule, err = requestRule(template); err != nil {
		return nil, err
	}
	if h.safety, err = statusRule(template); err != nil {
		return nil, err
	}
	if h.busPolicy, err = cdktest.BusPolicy(template, BusARN); err != nil {
		return nil, err
	}
	if err := validateASL(def); err != nil {
		return nil, err
	}
	h.Definition = def
	h.invoker = newInvoker(fns, h.Clock, h.AWS)
	// StopExecution (an early end, or a person in the console) stops the run the harness plays.
	h.AWS.OnStop(func(e awsemu.Execution) { h.invoker.stop(e.Name) })
	h.stop = append(h.stop, h.invoker.close)
	if err := h.NewLedger(ctx); err != nil {
		return nil, err
	}
	if h.Org != nil {
		h.initial = h.Org.Save()
	}
	return h, nil
}

// AtDocumentedRates makes the emulated Organizations throttle each operation as AWS documents
// (contract.OrganizationsRates) and the functions pace their calls under the same rates, with
// the same configuration as now, until undo.
func (h *Harness) AtDocumentedRates(ctx context.Context, env map[string]string) (undo func() error, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rates = contract.OrganizationsRate
	h.Org.Throttle(contract.OrganizationsRate)
	undo = func() error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.rates = guardrail.Unpaced
		h.Org.Throttle(nil)
		return h.build(context.Background(), nil)
	}
	return undo, h.build(ctx, env)
}

// Close stops what the harness started.
func (h *Harness) Close() {
	for i := len(h.stop) - 1; i >= 0; i-- {
		h.stop[i]()
	}
	h.stop = nil
}

// ResetOrganization puts the built-in emulated organization back as Start made it (an external
// one is left as it is): a scenario starts from it whatever the one before it left behind, so one
// failure does not fail the scenarios after it.
func (h *Harness) ResetOrganization() {
	if h.Org != nil {
		h.Org.Restore(h.initial)
	}
}

// Members are the emulated member accounts.
func (h *Harness) Members() []string { return h.opts.Members }

// NewLedger gives the following executions a fresh, empty ledger table, and rebuilds the Lambda
// handlers from their environment for it.
func (h *Harness) NewLedger(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tableSeq++
	table := fmt.Sprintf("rootwindow-ledger-%d-%d", time.Now().UnixNano(), h.tableSeq)
	h.table = table
	if err := ledger.CreateTable(ctx, h.db, table); err != nil {
		return err
	}
	w := dynamodb.NewTableExistsWaiter(h.db, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 10 * time.Millisecond })
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 30*time.Second); err != nil {
		return err
	}
	h.AWS.Reset()
	return h.build(ctx, nil)
}

// Configure rebuilds the Lambda handlers with these environment variables over the harness's
// own (a limit, say), keeping the ledger; nil goes back to the harness's own.
func (h *Harness) Configure(ctx context.Context, env map[string]string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.build(ctx, env)
}

// build makes the handlers from their environment, with overrides over the harness's own. It
// runs with h.mu held.
func (h *Harness) build(ctx context.Context, overrides map[string]string) error {
	env := map[string]string{
		contract.EnvTableName: h.table, contract.EnvGuardrailPolicyID: h.PolicyID,
		// One deployment however many ledgers the harness makes (a stack deployed again keeps
		// its name), and from one run to the next against an organization the caller runs.
		contract.EnvDeployment:      Deployment,
		contract.EnvAdminPrincipals: h.opts.AdminPattern, contract.EnvOrganizationID: h.opts.OrganizationID, contract.EnvGuardrailSHA256: h.pin,
		contract.EnvEventsRoleARN: testenv.EventsRoleARN, contract.EnvAPIRoleARN: testenv.APIRoleARN,
		contract.EnvEventIntegrations: testenv.Integration,
		// Scenarios reuse the accounts and the requester within hours: limits as loose as they go
		// (pkg/workflow and pkg/api test each limit).
		contract.EnvCooldownMinutes: "0", contract.EnvMaxConcurrentPerUser: "50", contract.EnvMaxDailyPerUser: "200",
		contract.EnvMaxAccountsAtOnce: "10000",
		contract.EnvTopicARN:          TopicARN, contract.EnvStateMachineARN: StateMachineARN,
		contract.EnvStateMachineRoleARN: testenv.StateMachineRoleARN,
	}
	for k, v := range overrides {
		env[k] = v
	}
	instance, err := lambdaenv.Load(ctx, lambdaenv.Options{
		Getenv: func(k string) string { return env[k] },
		Clock:  h.Clock.Now, Sleep: h.Clock.Sleep,
		// Each call carries its actor to the emulators, which play their latency as its sleep.
		HTTPClient: &http.Client{Transport: h.Clock.Transport(nil)},
		// One Organizations call at a time: calls cost no virtual time, so concurrency buys
		// nothing here, and one worker is one actor whose order of calls, and so timeline, is the
		// same on every run. pkg/guardrail's own tests run the product's concurrency. So does
		// the jitter: a fixed draw.
		// Unpaced unless a test asks for AWS's rates (AtDocumentedRates): a scenario's steps then
		// never wait on a pacer, which a test holding the clock (Clock.Go) relies on.
		Guardrail: guardrail.Options{Backoff: h.opts.Backoff, Concurrency: 1, Jitter: func() float64 { return 0.5 }, Rates: h.rates},
	})
	if err != nil {
		return err
	}
	sfn := testenv.Adapters(instance) // every adapter any function's main wires
	svc := instance.Service()
	steps := workflow.New(svc)
	h.steps, h.deps = steps, instance.Deps
	h.api = api.New(svc, sfn, StateMachineARN)
	h.invoker.setHandlers(map[string]lambda.Handler{
		contract.TaskValidate: lambda.NewHandler(steps.Validate),
		contract.TaskDetach:   lambda.NewHandler(steps.Detach),
		contract.TaskReattach: lambda.NewHandler(steps.Reattach),
	})
	return nil
}

// EditLedger changes one item of the current ledger table directly, as someone with DynamoDB
// access (not rootwindow) would.
func (h *Harness) EditLedger(ctx context.Context, key, update string, values map[string]types.AttributeValue) error {
	h.mu.Lock()
	table := h.table
	h.mu.Unlock()
	_, err := h.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(table), Key: map[string]types.AttributeValue{contract.KeyAttribute: &types.AttributeValueMemberS{Value: key}},
		UpdateExpression: aws.String(update), ExpressionAttributeValues: values,
	})
	return err
}

// Ledger is the current ledger.
func (h *Harness) Ledger() *ledger.Store {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.deps.Ledger
}

// Guardrail acts on the organization the harness uses, through the real SDK client.
func (h *Harness) Guardrail() *guardrail.Guardrail {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.deps.Guardrail
}

// Missing lists the accounts from which the guardrail is missing now, asking Organizations.
func (h *Harness) Missing(ctx context.Context, accounts []string) ([]string, error) {
	var missing []string
	for _, id := range accounts {
		ok, err := h.Guardrail().IsAttached(ctx, id)
		if err != nil {
			return nil, err
		}
		if !ok {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

// API is the REST API's handler, as the api Lambda runs it; the executions it starts are recorded
// by h.AWS (see RunStarted).
func (h *Harness) API() *api.Handler {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.api
}

// RunStarted runs the execution the API started under name, with the input it started it with.
func (h *Harness) RunStarted(ctx context.Context, name string) (Result, error) {
	for _, e := range h.AWS.Executions() {
		if e.Name == name {
			return h.Run(ctx, name, e.Input)
		}
	}
	return Result{}, fmt.Errorf("no execution %s was started", name)
}

// Steps are the handlers the Lambdas run now, for driving one step by hand.
func (h *Harness) Steps() *workflow.Steps {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.steps
}
