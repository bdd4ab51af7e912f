// Package testenv starts the loopback emulators that wire-level tests run the real AWS SDK
// clients against: the project's Organizations emulator and dynalite for DynamoDB.
package testenv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/dynamofake"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/rootemu"
	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/directory"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/lambdaenv"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/notify"
	"github.com/rootwindow/rootwindow/pkg/rootaccess"
	"github.com/rootwindow/rootwindow/pkg/rootevents"
	"github.com/rootwindow/rootwindow/pkg/stepfunctions"
	"github.com/rootwindow/rootwindow/pkg/trail"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// AWSConfig is an SDK config with fixed test credentials: requests are signed as usual.
func AWSConfig() aws.Config {
	return aws.Config{
		Region:      guardrail.Region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", ""),
	}
}

// Organizations starts org on a loopback port for the test and returns the real SDK client for it.
func Organizations(t testing.TB, org *orgemu.Server) *organizations.Client {
	t.Helper()
	url := org.Start()
	t.Cleanup(org.Close)
	return guardrail.NewClient(AWSConfig(), func(o *organizations.Options) { o.BaseEndpoint = aws.String(url) })
}

// TopicARN is the operators' topic in tests.
const TopicARN = "arn:aws:sns:us-east-1:999999999999:rootwindow-operators"

// Notifier starts emu on a loopback port for the test and returns a publisher to its default bus
// and TopicARN through the real EventBridge and SNS clients, which retry only a dropped connection.
func Notifier(t testing.TB, emu *awsemu.Server, now func() time.Time) *notify.Publisher {
	t.Helper()
	url := emu.Start()
	t.Cleanup(emu.Close)
	cfg := AWSConfig()
	cfg.Retryer = ConnectionRetries
	return notify.New(
		eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(url) }), "default",
		sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(url) }), TopicARN, now)
}

// Sample reads a sample payload from events/.
func Sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(), "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// DecodeSample decodes a sample payload from events/ into v strictly: a field v does not have
// fails the test, so samples cannot drift from the types they document.
func DecodeSample(t testing.TB, name string, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(Sample(t, name)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("events/%s: %v", name, err)
	}
}

// The emulated organization the package tests share: its management account, and the pattern of
// its administrators (IAM Identity Center's AdministratorAccess permission set).
const (
	Management   = "999999999999"
	AdminPattern = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_*/*"
)

// Who starts executions in tests, as CloudTrail names them: the state machine, the request rule's
// role (the EventBridge door) and the api function's role (the API door).
const (
	StateMachineARN = "arn:aws:states:us-east-1:999999999999:stateMachine:rootwindow"
	// StateMachineRoleARN is the role that state machine runs as: the steps bind themselves to
	// its executions.
	StateMachineRoleARN = "arn:aws:iam::999999999999:role/rootwindow/RootWindow-WorkflowStateMachineRole"
	EventsRoleARN       = "arn:aws:iam::999999999999:role/rootwindow-IntakeStartRole"
	APIRoleARN          = "arn:aws:iam::999999999999:role/rootwindow-FunctionsApiRole"
	// Integration is the configured EventBridge integration: a ticketing system's role in account
	// 111111111111, the account the sample events come from.
	Integration = "arn:aws:iam::111111111111:role/ticketing-rootwindow"
)

// EventsRule is a session of the request rule's role, the EventBridge door's starter.
var EventsRule = awsemu.Identity{ARN: "arn:aws:sts::999999999999:assumed-role/rootwindow-IntakeStartRole/0a1b2c3d", IssuerARN: EventsRoleARN}

// Person is someone who starts an execution from the console, as CloudTrail names them: arn is
// the session ARN of an assumed role (its role is the session's issuer) or an IAM user's ARN.
func Person(arn string) awsemu.Identity {
	who := awsemu.Identity{ARN: arn}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 && strings.HasPrefix(parts[5], "assumed-role/") {
		role := strings.SplitN(strings.TrimPrefix(parts[5], "assumed-role/"), "/", 2)[0]
		who.IssuerARN = "arn:aws:iam::" + parts[4] + ":role/" + role
	}
	return who
}

// Started records in emu's CloudTrail that by started execution name at at, and returns the
// Validate payload the state machine passes for it.
func Started(emu *awsemu.Server, name string, input json.RawMessage, by awsemu.Identity, at time.Time) contract.ValidateInput {
	arn := ExecutionARN(name)
	emu.Started(arn, by, at)
	emu.StateMachine(StateMachineARN, StateMachineRoleARN)
	emu.Ran(StateMachineARN, name, input, "RUNNING")
	return contract.ValidateInput{Input: input, Execution: name, ExecutionARN: arn, StartedAt: at.UTC().Format(time.RFC3339Nano)}
}

// ExecutionARN is the ARN of StateMachineARN's execution named name.
func ExecutionARN(name string) string {
	return strings.Replace(StateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

// ConnectionRetries retries a dropped loopback connection, as the SDK's standard retryer does in
// production (a loaded machine resets one now and then), but no answer of the emulator's: an
// injected failure or a throttle reaches the code under test on the first attempt.
func ConnectionRetries() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 10 * time.Millisecond, nil })
	})
}

// StepFunctions is the real Step Functions client for emu.
func StepFunctions(emu *awsemu.Server) *sfn.Client {
	cfg := AWSConfig()
	cfg.Retryer = ConnectionRetries
	return sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.BaseEndpoint = aws.String(emu.URL()) })
}

// Trail is the real CloudTrail client for emu's event history.
func Trail(emu *awsemu.Server) *cloudtrail.Client {
	cfg := AWSConfig()
	cfg.Retryer = ConnectionRetries
	return cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.BaseEndpoint = aws.String(emu.URL()) })
}

// Deps is what the window service works with as a Lambda would build it, against the given
// emulators: org through the real Organizations client, a fresh ledger table on db,
// notifications to emu; administrators match AdminPattern; the clock is now. A test changes what
// it needs before building the service (window.New).
func Deps(t testing.TB, org *orgemu.Server, emu *awsemu.Server, db DB, table string, now func() time.Time) window.Deps {
	t.Helper()
	LedgerTable(t, db, table)
	emu.StateMachine(StateMachineARN, StateMachineRoleARN) // the steps bind themselves to its executions
	orgs := Organizations(t, org)
	return window.Deps{
		Config: config.Runtime{
			TableName: table, EventBus: "default", EventsRoleARN: EventsRoleARN, APIRoleARN: APIRoleARN, StateMachineRoleARN: StateMachineRoleARN,
			Settings: config.Settings{GuardrailPolicyID: orgemu.GuardrailID, OwnerTagKey: "owner",
				AdminPrincipals: []string{AdminPattern}, MaxAccountsPerRequest: 50, BookingHorizonDays: 7, OrganizationID: orgemu.OrganizationID,
				EventIntegrations: []string{Integration}, DriftScanMinutes: 60, RootScanMinutes: 60},
		},
		Tree: orgs,
		Guardrail: guardrail.New(orgs, orgemu.GuardrailID,
			guardrail.Options{Backoff: guardrail.Backoff{Attempts: 4, Base: time.Millisecond, Max: 2 * time.Millisecond}, Deployment: table, Rates: guardrail.Unpaced}),
		Ledger:     ledger.New(db, table, now, nil),
		Notify:     Notifier(t, emu, now),
		Starters:   trail.New(Trail(emu)),
		Decisions:  stepfunctions.New(StepFunctions(emu)),
		Executions: stepfunctions.New(StepFunctions(emu)),
		Clock:      now,
		Log:        slog.New(slog.DiscardHandler),
	}
}

// RepoRoot is the module's root folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// SkipWithoutNode skips a test that needs Node (dynalite, jsii, the local state machine runner)
// under -short.
func SkipWithoutNode(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Node: skipped under -short")
	}
}

// Dynalite starts dynalite (npm, installed by `make tools`) on a free loopback port for the test and
// returns the real DynamoDB client for it.
func Dynalite(t testing.TB) *dynamodb.Client {
	t.Helper()
	url, stop, err := StartDynalite()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return DynamoDB(url)
}

// DB is the DynamoDB the package tests keep the ledger in: dynalite through the real SDK client,
// or under -short the in-process fake.
type DB interface {
	ledger.DynamoDBAPI
	ledger.TableCreator
	dynamodb.DescribeTableAPIClient
	DeleteTable(ctx context.Context, in *dynamodb.DeleteTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteTableOutput, error)
}

// LedgerTable creates a ledger table on db and waits until it is ACTIVE.
func LedgerTable(t testing.TB, db DB, name string) {
	t.Helper()
	ctx := context.Background()
	if err := ledger.CreateTable(ctx, db, name); err != nil {
		t.Fatal(err)
	}
	w := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 10 * time.Millisecond })
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
}

// DynamoDB is the real SDK client for a DynamoDB endpoint.
func DynamoDB(url string) *dynamodb.Client {
	return dynamodb.NewFromConfig(AWSConfig(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(url) })
}

// MainWithDynamoDB runs a test package's tests with one DynamoDB for them all, which it passes to
// use before the tests start: dynalite (Node) through the real SDK client, or under -short the
// in-process fake, so that logic tests run on a machine without Node. Call it from TestMain and
// exit with its code.
func MainWithDynamoDB(m *testing.M, use func(DB)) int {
	flag.Parse()
	if testing.Short() {
		use(dynamofake.New())
		return m.Run()
	}
	url, stop, err := StartDynalite()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stop()
	use(DynamoDB(url))
	return m.Run()
}

// StartDynalite runs dynalite in memory on a free loopback port until stop is called.
func StartDynalite() (url string, stop func(), err error) {
	bin := filepath.Join(RepoRoot(), "tools", "node_modules", ".bin", "dynalite")
	if _, err := os.Stat(bin); err != nil {
		return "", nil, fmt.Errorf("dynalite is not installed at %s: run `make tools` (npm ci in tools/)", bin)
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--port", fmt.Sprint(port), "--host", "127.0.0.1",
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return "", nil, err
	}
	cmd.Stderr = os.Stderr
	dieWithParent(cmd) // never outlive the tests
	if err := cmd.Start(); err != nil {
		cancel()
		return "", nil, fmt.Errorf("start dynalite: %w", err)
	}
	stop = func() { cancel(); _ = cmd.Wait() }
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening") {
				ready <- true
			}
		}
		close(ready)
	}()
	select {
	case ok := <-ready:
		if !ok {
			stop()
			return "", nil, fmt.Errorf("dynalite exited before listening")
		}
	case <-time.After(30 * time.Second):
		stop()
		return "", nil, fmt.Errorf("dynalite did not start within 30s")
	}
	return fmt.Sprintf("http://127.0.0.1:%d", port), stop, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RootAccess is a root-access checker whose real STS and IAM clients talk to emu (started here).
func RootAccess(t testing.TB, emu *rootemu.Server) *rootaccess.Checker {
	t.Helper()
	url := emu.Start()
	t.Cleanup(emu.Close)
	cfg := AWSConfig()
	return &rootaccess.Checker{
		STS: sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(url) }),
		IAM: func(creds aws.CredentialsProvider) rootaccess.IAMAPI {
			return iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint, o.Credentials = aws.String(url), creds })
		},
		Region: "us-east-1",
	}
}

// Adapters wires into a Lambda instance every adapter that any function's main wires (a local
// run plays every function in one process) and returns the Step Functions client the api function
// starts executions with.
func Adapters(in *lambdaenv.Instance) *sfn.Client {
	client := stepfunctions.Client(in.AWS, in.Endpoint("SFN"))
	lookup := trail.FromConfig(in.AWS, in.Endpoint("CloudTrail"))
	in.Deps.Starters = lookup
	in.Deps.Decisions = stepfunctions.New(client)
	in.Deps.Executions = stepfunctions.New(client)
	if in.Config.CentralizedRoot {
		in.Deps.Root = rootaccess.FromConfig(in.AWS, in.Endpoint("STS"), in.Endpoint("IAM"), in.Config.AssumeRootRegion())
	}
	if in.Config.IdentityStoreID != "" {
		in.Deps.Groups = directory.FromConfig(in.AWS, in.Endpoint("identitystore"), in.Config.IdentityStoreID)
	}
	in.Deps.RootActivity = rootevents.FromConfig(in.AWS, in.Endpoint, in.Config.TrailEventDataStore, in.Config.TrailLogGroup, in.Sleep)
	if in.Config.CentralizedRoot && in.Deps.RootActivity != nil {
		in.Deps.RootSessions = lookup
	}
	return client
}

// Decided is the Detach step's input for request id as its execution carries it: Validate's
// decision, read here from the record (a lift without one is refused).
func Decided(t testing.TB, store *ledger.Store, id string) contract.DetachInput {
	t.Helper()
	rec, err := store.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("read request %s for its decision: %v", id, err)
	}
	return contract.DetachInput{RequestID: id, ExecutionARN: ExecutionARN(id), AccountIDs: rec.AccountIDs, Hours: rec.Hours, ConfirmedBy: rec.ConfirmedBy,
		NeedsApproval: !rec.ApproveBy.IsZero(), ApprovedBy: rec.ApprovedBy}
}
