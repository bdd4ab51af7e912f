package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/cli"
	"github.com/rootwindow/rootwindow/pkg/fence"
)

// rootwindow fence prints the home account's fence and changes nothing; --apply creates it and
// attaches it to that account, says each step, and changes nothing when run again; a changed
// command line updates the document; the management account and strangers are refused.
func TestFence(t *testing.T) {
	const home, other = "222222222222", "333333333333"
	org := orgemu.New(testenv.Management)
	org.AddAccount(orgemu.Account{ID: home}, orgemu.FullAWSAccessID)
	org.AddAccount(orgemu.Account{ID: other}, orgemu.FullAWSAccessID)
	run := organizationCLI(t, org)
	writes := func() int {
		return org.CountCalls("CreatePolicy", "") + org.CountCalls("UpdatePolicy", "") + org.CountCalls("AttachPolicy", "")
	}

	code, out, errOut := run("fence", "--account", home)
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var printed struct{ Statement []struct{ Sid string } }
	if err := json.Unmarshal([]byte(out), &printed); err != nil || len(printed.Statement) != 4 {
		t.Fatalf("stdout is not the fence: %v\n%s", err, out)
	}
	if !strings.Contains(errOut, "Nothing was changed") || len(org.Calls()) != 0 {
		t.Errorf("printing called Organizations (%d calls), or did not say so: %s", len(org.Calls()), errOut)
	}

	code, out, errOut = run("fence", "--account", home, "--apply")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var id string
	for _, p := range org.Attached(home) {
		if p != orgemu.FullAWSAccessID {
			id = p
		}
	}
	want, _ := fence.Document(fence.Spec{Account: home, Qualifier: fence.DefaultQualifier})
	if id == "" || org.Content(id) != want {
		t.Fatalf("not attached as printed: %v, %q", org.Attached(home), org.Content(id))
	}
	for _, step := range []string{"created the SCP rootwindow-fence-" + home + " (" + id + ")", "attached " + id + " to " + home, home + " is fenced"} {
		if !strings.Contains(out, step) {
			t.Errorf("the output lacks %q:\n%s", step, out)
		}
	}
	if len(org.Attached(other)) != 1 {
		t.Errorf("another account was fenced: %v", org.Attached(other))
	}

	// Again: nothing to do.
	before := writes()
	code, out, _ = run("fence", "--account", home, "--apply")
	if code != cli.ExitOK || writes() != before || !strings.Contains(out, "is up to date") || !strings.Contains(out, "attached to "+home+" already") {
		t.Errorf("exit %d, %d writes:\n%s", code, writes()-before, out)
	}

	// An operator named: the document is updated in place, still attached once.
	breakGlass := "arn:aws:iam::" + home + ":role/BreakGlass"
	code, out, errOut = run("fence", "--account", home, "--operator", breakGlass, "--apply")
	if code != cli.ExitOK || !strings.Contains(out, "updated the SCP") || !strings.Contains(org.Content(id), breakGlass) || len(org.Attached(home)) != 2 {
		t.Errorf("exit %d: %s%s; attached %v", code, out, errOut, org.Attached(home))
	}

	// Refused, nothing written: the management account (SCPs never bind it), an account not in
	// the organization; bad input, before any call.
	before = writes()
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--account", testenv.Management, "--apply"}, cli.ExitRefused, "is the management account"},
		{[]string{"--account", "444444444444", "--apply"}, cli.ExitRefused, "not a member account"},
		{[]string{"--account", "12345"}, cli.ExitUsage, `account: "12345" is not an account ID`},
		{[]string{}, cli.ExitUsage, "fence needs --account"},
		{[]string{"--account", home, "--deployer", "arn:aws:iam::999999999999:role/x"}, cli.ExitUsage, "is not a role of the home account"},
		{[]string{"--account", home, "extra"}, cli.ExitUsage, "takes no argument"},
	} {
		code, _, errOut := run(append([]string{"fence"}, tt.args...)...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, %q; want %d, %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}
	if writes() != before {
		t.Errorf("%d writes after refusals", writes()-before)
	}
}
