package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/cli"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
)

// organizationCLI runs the CLI against org with the caller's (test) credentials.
func organizationCLI(t *testing.T, org *orgemu.Server) func(args ...string) (int, string, string) {
	url := org.Start()
	t.Cleanup(org.Close)
	return func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := cli.Run(context.Background(), args, cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" },
			AWS: func(context.Context, string, string) (aws.Config, error) {
				cfg := testenv.AWSConfig()
				cfg.BaseEndpoint = aws.String(url)
				return cfg, nil
			}})
		return code, out.String(), errOut.String()
	}
}

// rollout plan prints the calls that make the chosen accounts eligible and changes nothing;
// --apply makes them, paced, stops at a failure, and resumes by running again.
func TestRollout(t *testing.T) {
	const ou, ready, inOU, bare, full, both = "ou-ex01-guarded1", "111111111111", "222222222222", "333333333333", "444444444444", "555555555555"
	org := orgemu.New(testenv.Management)
	org.AddOU(ou, org.Root(), orgemu.FullAWSAccessID, orgemu.GuardrailID)
	owned := map[string]string{"owner": "alice@example.com"}
	org.AddAccount(orgemu.Account{ID: ready, Tags: owned}, orgemu.FullAWSAccessID, orgemu.GuardrailID)
	org.AddAccount(orgemu.Account{ID: inOU, Parent: ou}, orgemu.FullAWSAccessID)
	org.AddAccount(orgemu.Account{ID: bare}, orgemu.FullAWSAccessID)
	// One slot free: the guardrail and a window's SCP need two.
	org.AddAccount(orgemu.Account{ID: full, Tags: owned}, append([]string{orgemu.FullAWSAccessID}, org.AddExtraPolicies(orgemu.MaxSCPs-2)...)...)
	org.AddAccount(orgemu.Account{ID: both, Parent: ou, Tags: owned}, orgemu.FullAWSAccessID, orgemu.GuardrailID)
	run := organizationCLI(t, org)
	before := org.Snapshot()
	writes := func() int { return org.CountCalls("AttachPolicy", "") + org.CountCalls("TagResource", "") }

	// Without --owner: the attachment is planned, the missing owners are left to a person.
	code, out, errOut := run("rollout", "plan", "--policy-id", orgemu.GuardrailID, "--all", "--strategy", "detach")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"1 call(s) would make accounts eligible; 1 selected account(s) are ready already; 5 remain for a person to decide.",
		"  aws organizations attach-policy --policy-id " + orgemu.GuardrailID + " --target-id " + bare + "\n",
		inOU + "  guardrail only inherited", "(use liftStrategy exempt or auto",
		bare + "  owner tag missing", "give --owner to tag it",
		full + "  SCP slots full", "the guardrail needs 2 free of 10",
		both + "  guardrail also inherited",
		"Nothing was changed. Run the same command with --apply",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the plan lacks %q:\n%s", want, out)
		}
	}
	if writes() != 0 || !reflect.DeepEqual(org.Snapshot(), before) {
		t.Fatal("a plan changed the organization")
	}

	// Under auto, with an owner: the OU's account is tagged, the bare one attached and tagged; the
	// full one fits (one slot: auto falls back to exempt). The second tag fails: the apply stops.
	org.Inject(orgemu.Fault{Op: "TagResource", Code: "AccessDeniedException", Times: 1, Skip: 1})
	args := []string{"rollout", "plan", "--policy-id", orgemu.GuardrailID, "--strategy", "auto", "--accounts", strings.Join([]string{inOU, bare, full}, ","), "--owner", "alice@example.com bob@example.com"}
	code, out, errOut = run(append(args, "--apply")...)
	if code != cli.ExitUnavailable || !strings.Contains(errOut, "rollout stopped at step 3 of 4 (aws organizations tag-resource --resource-id "+bare) || !strings.Contains(errOut, "run the same command again to resume") {
		t.Fatalf("a failure part-way: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "[1/4] done: aws organizations tag-resource --resource-id "+inOU+" --tags 'Key=owner,Value=alice@example.com bob@example.com'") ||
		!strings.Contains(out, "[2/4] done: aws organizations attach-policy") || strings.Contains(out, "[3/4]") {
		t.Errorf("progress:\n%s", out)
	}
	// Resumed: only what is left is planned and made.
	code, out, errOut = run(append(args, "--apply")...)
	if code != cli.ExitOK || !strings.Contains(out, "2 call(s) would make accounts eligible; 1 selected account(s) are ready already; 0 remain") ||
		!strings.Contains(out, "[1/2] done: aws organizations tag-resource --resource-id "+bare) ||
		!strings.Contains(out, "[2/2] done: aws organizations attach-policy --policy-id "+orgemu.GuardrailID+" --target-id "+full) || !strings.Contains(out, "Applied 2 call(s).") {
		t.Fatalf("resumed: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = run(append(args, "--output", "json")...)
	var plan guardrail.Plan
	if err := json.Unmarshal([]byte(out), &plan); code != cli.ExitOK || err != nil || len(plan.Steps) != 0 || !reflect.DeepEqual(plan.Ready, []string{inOU, bare, full}) {
		t.Errorf("after the rollout: exit %d %v %+v", code, err, plan)
	}
	if !org.IsAttached(bare, orgemu.GuardrailID) || !org.IsAttached(full, orgemu.GuardrailID) {
		t.Error("the guardrail was not attached")
	}
}

// Every bad command line is refused before Organizations is read, naming the flag.
func TestRolloutRefusesBadInput(t *testing.T) {
	org := orgemu.Standard(testenv.Management, "alice@example.com", "111111111111")
	run := organizationCLI(t, org)
	p := []string{"rollout", "plan", "--policy-id", orgemu.GuardrailID}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"rollout"}, cli.ExitUsage, "rollout takes the word plan first"},
		{[]string{"rollout", "apply"}, cli.ExitUsage, "rollout takes the word plan first"},
		{p, cli.ExitUsage, "exactly one of --accounts"},
		{append(p, "--all", "--ou", "ou-ex01-guarded1"), cli.ExitUsage, "exactly one of --accounts"},
		{append(p, "--accounts", "1111"), cli.ExitUsage, `--accounts: "1111" is not an account ID`},
		{append(p, "--ou", "r-ex01"), cli.ExitUsage, `--ou: "r-ex01" is not an OU ID`},
		{append(p, "--all", "--owner", "alice\u202e"), cli.ExitUsage, "is not a tag value Organizations takes"},
		// A comma is not allowed in an Organizations tag value: the command printed would fail.
		{append(p, "--all", "--owner", "alice@example.com, bob@example.com"), cli.ExitUsage, "separate owners with spaces, not commas"},
		{append(p, "--all", "--owner", strings.Repeat("a", 257)), cli.ExitUsage, "--owner is 257 characters"},
		{append(p, "--all", "--owner-tag", "bad,key"), cli.ExitUsage, "--owner-tag must be a tag key"},
		{append(p, "--all", "--output", "csv"), cli.ExitUsage, "--output must be text or json"},
		{append(p, "--all", "--strategy", "swap"), cli.ExitUsage, "--strategy must be detach, exempt or auto"},
		{[]string{"rollout", "plan", "--policy-id", "p-1", "--all"}, cli.ExitUsage, "--policy-id must be"},
		{append(p, "--all", "extra"), cli.ExitUsage, `takes no argument, got "extra"`},
		{append(p, "--accounts", "999999999998"), cli.ExitRefused, "account 999999999998: not in the organization"},
		{append(p, "--ou", "ou-ex01-missing1"), cli.ExitRefused, "OU ou-ex01-missing1: not in the organization"},
	} {
		code, _, errOut := run(tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: exit %d %q, want %d %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}
	if n := org.CountCalls("AttachPolicy", "") + org.CountCalls("TagResource", ""); n != 0 {
		t.Errorf("%d writes", n)
	}
}

// On a terminal, preflight draws how the scan goes on one line (the tree, then the accounts: how
// many of how many, the calls made), ending it before the table; with --output json, or without a
// terminal, nothing is drawn.
func TestPreflightProgress(t *testing.T) {
	org := orgemu.New(testenv.Management)
	org.AddOU("ou-prog-team1", org.Root(), orgemu.FullAWSAccessID)
	for i := range 6 {
		org.AddAccount(orgemu.Account{ID: fmt.Sprintf("12345678900%d", i), Parent: "ou-prog-team1", Tags: map[string]string{"owner": "a@example.com"}}, orgemu.FullAWSAccessID, orgemu.GuardrailID)
	}
	url := org.Start()
	t.Cleanup(org.Close)
	clock := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	run := func(args ...string) (string, string) {
		var out, errOut, progress bytes.Buffer
		code := cli.Run(context.Background(), args, cli.Env{Stdout: &out, Stderr: &errOut, Progress: &progress, Getenv: func(string) string { return "" },
			Now: func() time.Time { clock = clock.Add(time.Second); return clock },
			AWS: func(context.Context, string, string) (aws.Config, error) {
				cfg := testenv.AWSConfig()
				cfg.BaseEndpoint = aws.String(url)
				return cfg, nil
			}})
		if code != cli.ExitOK {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		return out.String(), progress.String()
	}
	out, progress := run("preflight", "--policy-id", orgemu.GuardrailID)
	for _, want := range []string{"\r\033[Kreading the organization's tree: 2 of 2 parents, ", "\r\033[Kchecking each account: 7 of 7 accounts, ", " calls\n"} {
		if !strings.Contains(progress, want) {
			t.Errorf("progress lacks %q: %q", want, progress)
		}
	}
	if !strings.Contains(progress, "left") || strings.Count(progress, "\n") != 1 {
		t.Errorf("progress: %q", progress)
	}
	if strings.Contains(out, "\r") || !strings.Contains(out, "7 accounts under 1 OUs") {
		t.Errorf("the table: %q", out)
	}
	if _, progress := run("preflight", "--policy-id", orgemu.GuardrailID, "--output", "json"); progress != "" {
		t.Errorf("progress with --output json: %q", progress)
	}
}
