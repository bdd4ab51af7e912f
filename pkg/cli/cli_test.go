package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/api"
	"github.com/rootwindow/rootwindow/pkg/cli"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/window"
	"github.com/rootwindow/rootwindow/pkg/workflow"
)

const (
	alice  = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/alice@example.com"
	bob    = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/bob@example.com"
	region = "eu-west-1"
)

var (
	db     testenv.DB
	tables atomic.Int32
	t0     = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
)

func TestMain(m *testing.M) {
	os.Exit(testenv.MainWithDynamoDB(m, func(c testenv.DB) { db = c }))
}

type env struct {
	steps   *workflow.Steps
	deps    window.Deps // what steps and the API work with; change it with with
	sfn     *sfn.Client
	gateway *testenv.Gateway
	now     time.Time // the service's clock
	url     string
	emu     *awsemu.Server
	secret  string
	onSleep func() // what the workflow does between two looks of --wait
}

func newEnv(t *testing.T) *env {
	t.Helper()
	org := orgemu.Standard(testenv.Management, "alice@example.com", "111111111111", "222222222222")
	e := &env{emu: awsemu.New(), secret: "alice-secret", now: t0}
	e.deps = testenv.Deps(t, org, e.emu, db, fmt.Sprintf("cli-%d", tables.Add(1)), func() time.Time { return e.now })
	e.deps.Config.StateMachineARN = testenv.StateMachineARN // the sweeper confirms a stop with it
	cfg := testenv.AWSConfig()
	url := e.emu.Start()
	e.sfn = sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.BaseEndpoint = aws.String(url) })
	e.gateway = &testenv.Gateway{Region: region, Callers: map[string]string{"AKIDALICE": alice, "AKIDBOB": bob},
		Secrets: map[string]string{"AKIDALICE": e.secret, "AKIDBOB": "bob-secret"}}
	e.with(func(*window.Deps) {})
	srv := httptest.NewServer(e.gateway)
	t.Cleanup(srv.Close)
	e.url = srv.URL + "/v1/"
	return e
}

// with changes what the steps and the API work with and builds them again over it.
func (e *env) with(change func(*window.Deps)) {
	change(&e.deps)
	svc := window.New(e.deps)
	e.steps, e.gateway.Handler = workflow.New(svc), api.New(svc, e.sfn, testenv.StateMachineARN)
}

// run is `rootwindow args...` signed with alice's key (or secret), against the gateway.
func (e *env) run(t *testing.T, secret string, args ...string) (int, string, string) {
	t.Helper()
	return e.runAs(t, "AKIDALICE", secret, args...)
}

// asBob is `rootwindow args...` signed with bob's key: another administrator.
func (e *env) asBob(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return e.runAs(t, "AKIDBOB", "bob-secret", args...)
}

func (e *env) runAs(t *testing.T, key, secret string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	sleeps := 0
	getenv := func(k string) string {
		if k == "ROOTWINDOW_ENDPOINT" {
			return e.url
		}
		return ""
	}
	code := cli.Run(context.Background(), args, cli.Env{
		Stdout: &out, Stderr: &errOut, Getenv: getenv,
		AWS: func(context.Context, string, string) (aws.Config, error) {
			return aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")}, nil
		},
		Sleep: func(ctx context.Context, d time.Duration) error {
			if sleeps++; sleeps > 50 { // a test that would wait forever: give up as --timeout would
				return context.DeadlineExceeded
			}
			if e.onSleep != nil {
				e.onSleep()
			}
			return ctx.Err()
		},
	})
	return code, out.String(), errOut.String()
}

func TestRequestStatusEndThroughASignedAPI(t *testing.T) {
	e := newEnv(t)
	code, out, errOut := e.run(t, e.secret, "request", "--accounts", "111111111111", "--hours", "1", "--reason", "Reset the root password (SEC-9)", "--output", "json")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	var accepted map[string]any
	if err := json.Unmarshal([]byte(out), &accepted); err != nil || accepted["status"] != "SCHEDULED" {
		t.Fatalf("%v %s", err, out)
	}
	id := accepted["requestId"].(string)
	if n := len(e.emu.Executions()); n != 1 {
		t.Errorf("%d executions", n)
	}
	code, out, _ = e.run(t, e.secret, "status", id)
	if code != cli.ExitOK || !strings.Contains(out, id+" SCHEDULED [111111111111]") {
		t.Errorf("status: %d %s", code, out)
	}
	code, out, errOut = e.run(t, e.secret, "cancel", id)
	if code != cli.ExitOK || !strings.Contains(out, "CANCELLED") {
		t.Errorf("cancel: %d %s %s", code, out, errOut)
	}
}

// --wait follows the window until the guardrail is lifted; --until-closed until it is back; a
// request that ends otherwise exits 4.
func TestWaitFollowsTheWindow(t *testing.T) {
	e := newEnv(t)
	var id string
	e.onSleep = func() {
		// The only request so far: the one the CLI just made.
		if recs, _, _ := e.deps.Ledger.List(context.Background(), ledgerFilter(), 1, ""); len(recs) > 0 {
			id = recs[0].RequestID
		}
		_, _ = e.steps.Detach(context.Background(), testenv.Decided(t, e.deps.Ledger, id))
	}
	code, out, errOut := e.run(t, e.secret, "request", "--accounts", "111111111111", "--hours", "1", "--reason", "x (SEC-1)", "--wait", "--poll", "1s")
	if code != cli.ExitOK || !strings.Contains(errOut, "OPEN [111111111111]: the guardrail is lifted until") {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	e.onSleep = func() { // ended early: the execution stops, and the safety net restores
		if _, err := e.steps.End(context.Background(), id, alice); err == nil {
			_ = testenv.EndedEarly(t, e.steps, id)
		}
	}
	if code, out, errOut := e.run(t, e.secret, "status", id, "--until-closed", "--poll", "1s"); code != cli.ExitOK || !strings.Contains(errOut, "CLOSED") {
		t.Errorf("until closed: exit %d: %s %s", code, out, errOut)
	}
	e.onSleep = nil
	code, out, errOut = e.run(t, e.secret, "request", "--accounts", "222222222222", "--hours", "1", "--reason", "x (SEC-2)", "--key", "k2", "--output", "json")
	var accepted struct{ RequestID string }
	if code != cli.ExitOK || json.Unmarshal([]byte(out), &accepted) != nil {
		t.Fatal(errOut, out)
	}
	if _, err := e.steps.Cancel(context.Background(), accepted.RequestID, alice); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := e.run(t, e.secret, "status", accepted.RequestID, "--wait", "--poll", "1s"); code != cli.ExitEnded || !strings.Contains(errOut, "CANCELLED") {
		t.Errorf("a cancelled request: exit %d %s", code, errOut)
	}
}

func ledgerFilter() ledger.Filter { return ledger.Filter{} }

func TestRefusalsAndExitCodes(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		name   string
		secret string
		args   []string
		code   int
		want   string
	}{
		{"a bad signature", "wrong-secret", []string{"status", "api-1"}, cli.ExitRefused, "signature we calculated does not match"},
		// What can be told without a call is told before any (exit 2); the API refuses it too.
		{"hours out of range", "", []string{"request", "--accounts", "111111111111", "--hours", "9", "--reason", "x"}, cli.ExitUsage, "--hours must be from 1 to 4, got 9"},
		{"an account that is not one", "", []string{"request", "--accounts", "111111111111,12345", "--hours", "1", "--reason", "x"}, cli.ExitUsage, `--accounts: "12345" is not a 12-digit account ID`},
		{"a start that is not a time", "", []string{"request", "--accounts", "111111111111", "--hours", "1", "--reason", "x", "--start", "tomorrow"}, cli.ExitUsage, "--start must be an RFC 3339 time"},
		{"an empty start", "", []string{"request", "--accounts", "111111111111", "--hours", "1", "--reason", "x", "--start", ""}, cli.ExitUsage, "--start: empty: give a value"},
		{"a flag given twice", "", []string{"request", "--accounts", "111111111111", "--hours", "1", "--hours", "4", "--reason", "x"}, cli.ExitUsage, "--hours: given more than once"},
		{"a boolean flag given twice", "", []string{"status", "api-1", "--wait", "--wait"}, cli.ExitUsage, "--wait: given more than once"},
		{"a zero timeout", "", []string{"status", "api-1", "--wait", "--timeout", "0s"}, cli.ExitUsage, "--timeout must be more than 0"},
		{"a negative timeout", "", []string{"request", "--accounts", "111111111111", "--hours", "1", "--reason", "x", "--wait", "--timeout", "-1m"}, cli.ExitUsage, "--timeout must be more than 0"},
		{"a negative limit", "", []string{"list", "--limit", "-5"}, cli.ExitUsage, "--limit must be a whole number from 1 to 100"},
		{"a zero limit", "", []string{"list", "--limit", "0"}, cli.ExitUsage, "--limit must be a whole number from 1 to 100"},
		{"a limit too large", "", []string{"list", "--limit", "1000"}, cli.ExitUsage, "--limit must be a whole number from 1 to 100"},
		{"an endpoint that is not https", "", []string{"status", "api-1", "--endpoint", "ftp://example.com/v1/"}, cli.ExitUsage, "must be https://"},
		{"an endpoint that is not a URL", "", []string{"status", "api-1", "--endpoint", "example.com"}, cli.ExitUsage, "is not a URL"},
		{"an endpoint with user information", "", []string{"status", "api-1", "--endpoint", "https://me:pw@example.com/v1/"}, cli.ExitUsage, "holds user information"},
		{"an unknown request", "", []string{"status", "api-nope"}, cli.ExitRefused, "404 Not Found: no request api-nope that you may see"},
		{"a missing argument", "", []string{"status"}, cli.ExitUsage, "status takes one request ID"},
		{"a request ID that is not one", "", []string{"end", "../x"}, cli.ExitUsage, "is not a request ID"},
		{"an unknown command", "", []string{"approve-all"}, cli.ExitUsage, `unknown command "approve-all"`},
		{"an unknown flag", "", []string{"list", "--owner", "x"}, cli.ExitUsage, "--owner is not a flag of list"},
		{"a bad output", "", []string{"list", "--output", "yaml"}, cli.ExitUsage, "--output must be text or json"},
		{"request without a reason", "", []string{"request", "--accounts", "111111111111", "--hours", "1"}, cli.ExitUsage, "request needs --accounts, --hours and --reason"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			secret := tt.secret
			if secret == "" {
				secret = e.secret
			}
			code, out, errOut := e.run(t, secret, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q (stdout %q); want %d with %q", code, errOut, out, tt.code, tt.want)
			}
		})
	}
	if recs, _, _ := e.deps.Ledger.List(context.Background(), ledgerFilter(), 10, ""); len(recs) != 0 {
		t.Errorf("a refused command line made a request: %+v", recs)
	}
	// Help and the version are answers, not mistakes.
	for _, args := range [][]string{{"request", "--help"}, {"list", "-h"}, {"help"}} {
		if code, out, _ := e.run(t, e.secret, args...); code != cli.ExitOK || !strings.Contains(out, "rootwindow request --accounts") {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
	if code, out, _ := e.run(t, e.secret, "--version"); code != cli.ExitOK || !strings.HasPrefix(out, "rootwindow ") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
}

// preflight reads Organizations with the caller's credentials and prints every account's answer.
func TestPreflight(t *testing.T) {
	org := orgemu.New(testenv.Management)
	org.AddOU("ou-pref-guarded", org.Root(), orgemu.FullAWSAccessID, orgemu.GuardrailID)
	org.AddAccount(orgemu.Account{ID: "111111111111", Tags: map[string]string{"owner": "a@example.com"}}, orgemu.FullAWSAccessID, orgemu.GuardrailID)
	org.AddAccount(orgemu.Account{ID: "222222222222", Parent: "ou-pref-guarded", Tags: map[string]string{"owner": "a@example.com"}}, orgemu.FullAWSAccessID)
	org.AddAccount(orgemu.Account{ID: "333333333333"}, orgemu.FullAWSAccessID)
	run := organizationCLI(t, org)
	code, out, errOut := run("preflight", "--policy-id", orgemu.GuardrailID, "--strategy", "auto")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "preflight for the auto strategy (--strategy)") {
		t.Errorf("which strategy: %q", errOut)
	}
	for _, want := range []string{"111111111111  member-111111111111  r-ex01                  detach    ok", "r-ex01/ou-pref-guarded  exempt    ok", "333333333333", "guardrail not applied",
		"4 accounts under 1 OUs: guardrail not applied 1; management account 1; ok 2;"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	// Without --strategy: the stack's default, detach, and said so; with --config, what the
	// deployment's file says (its policy ID too).
	if code, out, errOut := run("preflight", "--policy-id", orgemu.GuardrailID); code != cli.ExitOK ||
		!strings.Contains(errOut, "preflight for the detach strategy (the stack's default; give --strategy, or --config") || !strings.Contains(out, "guardrail only inherited") {
		t.Errorf("the default strategy: exit %d, %q\n%s", code, errOut, out)
	}
	file := filepath.Join(t.TempDir(), "rootwindow.json")
	if err := os.WriteFile(file, []byte(`{"guardrailPolicyId": "`+orgemu.GuardrailID+`", "adminPrincipals": ["arn:aws:iam::999999999999:role/Admin"], "organizationId": "o-exampleorg1",
		"liftStrategy": "exempt", "guardrailContentSha256": "`+strings.Repeat("a", 64)+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run("preflight", "--config", file); code != cli.ExitOK ||
		!strings.Contains(errOut, "preflight for the exempt strategy ("+file+"'s liftStrategy)") || !strings.Contains(out, "r-ex01/ou-pref-guarded  exempt    ok") {
		t.Errorf("--config: exit %d, %q\n%s", code, errOut, out)
	}
	if code, _, errOut := run("preflight", "--config", file+".missing"); code != cli.ExitUsage || !strings.Contains(errOut, "--config") {
		t.Errorf("--config missing: exit %d, %q", code, errOut)
	}
	if code, out, _ := run("preflight", "--policy-id", orgemu.GuardrailID, "--strategy", "detach", "--output", "csv"); code != cli.ExitOK ||
		!strings.Contains(out, "accountId,name,path,strategy,reason,detail\n") || !strings.Contains(out, "222222222222,") || !strings.Contains(out, ",guardrail only inherited,") {
		t.Errorf("csv: %d\n%s", code, out)
	}
	if code, _, errOut := run("preflight", "--policy-id", "scp-1"); code != cli.ExitUsage || !strings.Contains(errOut, "--policy-id must be the guardrail's policy ID") {
		t.Errorf("a bad policy ID: %d %s", code, errOut)
	}
}

// No credentials anywhere: every verb that calls AWS says so in one sentence before its first
// call (exit 2), rather than retrying that call; a configuration that does not load is said too.
func TestNoCredentialsIsSaidBeforeAnyCall(t *testing.T) {
	calls := 0
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { calls++; w.WriteHeader(http.StatusInternalServerError) }))
	t.Cleanup(api.Close)
	for _, tt := range []struct {
		name string
		aws  func(context.Context, string, string) (aws.Config, error)
		want string
	}{
		{"none in the chain", func(context.Context, string, string) (aws.Config, error) {
			return aws.Config{Region: "us-east-1", Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{}, fmt.Errorf("get credentials: %w", errors.New("no EC2 IMDS role found"))
			})}, nil
		}, "no AWS credentials found: sign in first"},
		{"no provider", func(context.Context, string, string) (aws.Config, error) { return aws.Config{Region: "us-east-1"}, nil }, "no AWS credentials found"},
		{"a profile that does not load", func(context.Context, string, string) (aws.Config, error) {
			return aws.Config{}, errors.New("failed to get shared config profile, nope")
		}, `the AWS configuration cannot be loaded for profile "nope"`},
	} {
		for _, args := range [][]string{
			{"status", "req-1", "--endpoint", api.URL, "--profile", "nope"},
			{"preflight", "--policy-id", "p-rootguard01", "--profile", "nope"},
			{"fence", "--account", "111111111111", "--apply", "--profile", "nope"},
		} {
			var out, errOut bytes.Buffer
			code := cli.Run(context.Background(), args, cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }, AWS: tt.aws,
				Sleep: func(context.Context, time.Duration) error { return nil }})
			if code != cli.ExitUsage || !strings.Contains(errOut.String(), tt.want) || strings.Count(strings.TrimSpace(errOut.String()), "\n") != 0 {
				t.Errorf("%s, %s: exit %d, %q", tt.name, args[0], code, errOut.String())
			}
		}
	}
	if calls != 0 {
		t.Errorf("%d calls made", calls)
	}
}

// doctor checks in seconds what a deploy needs from this machine: a configuration file that
// loads (every problem named by its key), credentials and a region; exit 2 with each problem, 0
// when all is there.
func TestDoctor(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.json"), filepath.Join(dir, "bad.json")
	if err := os.WriteFile(good, []byte(`{"guardrailPolicyId": "p-rootguard01", "adminPrincipals": ["arn:aws:iam::999999999999:role/Admin"], "organizationId": "o-exampleorg1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`{"guardrailPolicyId": "p-rootguard01", "liftStrategy": "sideways"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	withCreds := func(context.Context, string, string) (aws.Config, error) {
		return aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}, nil
	}
	noCreds := func(context.Context, string, string) (aws.Config, error) { return aws.Config{Region: "eu-west-1"}, nil }
	for _, tt := range []struct {
		name string
		file string
		aws  func(context.Context, string, string) (aws.Config, error)
		code int
		want []string
	}{
		{"all there", good, withCreds, cli.ExitOK, []string{"configuration  " + good + ": guardrail p-rootguard01, organization o-exampleorg1, strategy detach", "credentials    found; region eu-west-1"}},
		{"no file", filepath.Join(dir, "missing.json"), withCreds, cli.ExitUsage, []string{"missing.json not found: copy config/sample.json"}},
		{"a bad file", bad, withCreds, cli.ExitUsage, []string{"adminPrincipals", "organizationId", "liftStrategy"}},
		{"no credentials", good, noCreds, cli.ExitUsage, []string{"no AWS credentials found"}},
	} {
		var out, errOut bytes.Buffer
		code := cli.Run(context.Background(), []string{"doctor", "--config", tt.file}, cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }, AWS: tt.aws})
		if code != tt.code {
			t.Errorf("%s: exit %d, %s %s", tt.name, code, out.String(), errOut.String())
		}
		for _, w := range tt.want {
			if !strings.Contains(out.String()+errOut.String(), w) {
				t.Errorf("%s: lacks %q: %s %s", tt.name, w, out.String(), errOut.String())
			}
		}
	}
}

// rootwindow request --break-glass asks for an emergency window (where the deployment takes
// them); rootwindow review records another administrator's review with --note, refused to the
// requester.
func TestBreakGlassAndReviewFromTheCommandLine(t *testing.T) {
	e := newEnv(t)
	e.with(func(d *window.Deps) { d.Config.BreakGlass = true })
	code, out, errOut := e.run(t, e.secret, "request", "--accounts", "111111111111", "--hours", "1", "--reason", "Locked out (INC-7)", "--break-glass", "--output", "json")
	var accepted struct {
		RequestID  string
		BreakGlass bool
	}
	if code != cli.ExitOK || json.Unmarshal([]byte(out), &accepted) != nil || !accepted.BreakGlass {
		t.Fatalf("request --break-glass: exit %d, %s %s", code, out, errOut)
	}
	if code, _, errOut := e.run(t, e.secret, "review", accepted.RequestID, "--note", "fine"); code != cli.ExitRefused || !strings.Contains(errOut, "another administrator reviews it") {
		t.Errorf("the requester reviewing: exit %d, %s", code, errOut)
	}
	if code, out, errOut := e.asBob(t, "review", accepted.RequestID, "--note", "password reset; CloudTrail checked (INC-7)", "--output", "json"); code != cli.ExitOK || !strings.Contains(out, `"reviewedBy"`) {
		t.Errorf("bob reviewing: exit %d, %s %s", code, out, errOut)
	}
}
