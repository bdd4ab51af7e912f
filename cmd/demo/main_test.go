package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/harness"
	"github.com/rootwindow/rootwindow/internal/orgemu"
)

// Every bad make variable is refused before anything is built, started or synthesized, naming
// the variable (the checks return before the harness exists, so each case takes microseconds).
func TestBadVariablesAreRefusedByName(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-hours", "5"}, "(HOURS) must be a whole number of hours from 1 to 4, got 5"},
		{[]string{"-hours", "0"}, "(HOURS) must be a whole number of hours from 1 to 4, got 0"},
		{[]string{"-hours", "two"}, `HOURS must be a whole number, got "two"`},
		{[]string{"-hours", "1.5"}, `HOURS must be a whole number, got "1.5"`},
		{[]string{"-accounts", "0"}, "(ACCOUNTS) must be from 1 to 50, got 0"},
		{[]string{"-accounts", "51"}, "(ACCOUNTS) must be from 1 to 50, got 51"},
		{[]string{"-accounts", "3x"}, `ACCOUNTS must be a whole number, got "3x"`},
		{[]string{"-start-in", "-5m"}, "(START_IN) must not be negative"},
		{[]string{"-start-in", "30"}, "START_IN must be a duration with its unit"},
		{[]string{"-fault", "bogus"}, "(FAULT) must be one of none, throttle"},
		{[]string{"-layout", "tree"}, "(LAYOUT) must be direct, ou, root or mixed"},
		{[]string{"-strategy", "swap"}, "(STRATEGY) must be detach, exempt or auto"},
		{[]string{"-channel", "web"}, "(CHANNEL) must be console or cli"},
	} {
		err := run(tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.args, err, tt.want)
		}
	}
}

// Against an organization the demo does not hold the whole state of (-organizations-endpoint),
// the final check asks whether the guardrail applies to every account exactly as before: after a
// correct exempt lift from an OU, it still applies by inheritance, attached to no account.
func TestDemoAgainstAnExternalOrganization(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the synthesized state machine with Node, jsii and dynalite")
	}
	const management, ou = "999999999999", "ou-ext1-members1"
	org := orgemu.New(management)
	org.AddOU(ou, org.Root(), orgemu.FullAWSAccessID, orgemu.GuardrailID)
	for _, id := range []string{"111111111111", "222222222222"} {
		org.AddAccount(orgemu.Account{ID: id, Parent: ou, Tags: map[string]string{"owner": harness.Owner}}, orgemu.FullAWSAccessID)
	}
	url := org.Start()
	defer org.Close()
	out, err := os.CreateTemp(t.TempDir(), "demo-*.txt")
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = out // the demo writes to standard output
	err = run([]string{"-organizations-endpoint", url, "-account-ids", "111111111111,222222222222", "-policy-id", orgemu.GuardrailID,
		"-strategy", "exempt", "-log", filepath.Join(t.TempDir(), "demo.log")})
	os.Stdout = stdout
	shown, _ := os.ReadFile(out.Name())
	if err != nil {
		t.Fatalf("%v\n%s", err, shown)
	}
	for _, want := range []string{"lifted by     exempt", "the guardrail applies to each as before the run"} {
		if !strings.Contains(string(shown), want) {
			t.Errorf("the demo does not show %q:\n%s", want, shown)
		}
	}
	for _, id := range []string{"111111111111", "222222222222"} {
		if org.IsAttached(id, orgemu.GuardrailID) || org.RootAllowed(id, time.Now(), false) {
			t.Errorf("%s: the guardrail is attached to it, or root is allowed", id)
		}
	}
}
