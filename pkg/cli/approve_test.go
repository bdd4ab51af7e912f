package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/rootemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/cli"
	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// requestID is the ID of the newest request.
func (e *env) newest(t *testing.T) string {
	t.Helper()
	recs, _, err := e.deps.Ledger.List(context.Background(), ledger.Filter{}, 1, "")
	if err != nil || len(recs) == 0 {
		t.Fatalf("no request: %v", err)
	}
	return recs[0].RequestID
}

// With approval configured: alice asks and waits; she cannot approve her own request; bob approves
// with the CLI, and the window opens with his name on it.
func TestApproveWithTheCLI(t *testing.T) {
	e := newEnv(t)
	e.with(func(d *window.Deps) { d.Config.Approval, d.Config.ApprovalMinutes = config.ApprovalSecondAdmin, 60 })
	var selfCode, bobCode int
	var selfErr, bobOut string
	sleeps := 0
	e.onSleep = func() {
		sleeps++
		id := e.newest(t)
		switch sleeps {
		case 1:
			selfCode, _, selfErr = e.run(t, e.secret, "approve", id)
			bobCode, bobOut, _ = e.asBob(t, "approve", id, "--reason", "checked SEC-9")
		case 2:
			// The approval reached the waiting execution, which goes on to the lift.
			rec, _ := e.deps.Ledger.Get(context.Background(), id)
			_, _ = e.steps.Detach(context.Background(), contract.DetachInput{RequestID: id, ExecutionARN: testenv.ExecutionARN(id), AccountIDs: rec.AccountIDs, Hours: rec.Hours, NeedsApproval: true, ApprovedBy: rec.ApprovedBy})
		}
	}
	code, out, errOut := e.run(t, e.secret, "request", "--accounts", "111111111111", "--hours", "1", "--reason", "Reset the root password (SEC-9)", "--wait", "--poll", "1s")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s %s (alice approving: %d %s; bob: %d %s)", code, out, errOut, selfCode, selfErr, bobCode, bobOut)
	}
	for _, want := range []string{"for a second administrator (rootwindow approve", "; approved by " + bob, "OPEN [111111111111]: the guardrail is lifted until"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the progress lacks %q:\n%s", want, errOut)
		}
	}
	if selfCode != cli.ExitRefused || !strings.Contains(selfErr, "is yours: another administrator must approve or deny it") {
		t.Errorf("alice approving her own: %d %s", selfCode, selfErr)
	}
	if bobCode != cli.ExitOK || !strings.Contains(bobOut, "approved by "+bob) {
		t.Errorf("bob approving: %d %s", bobCode, bobOut)
	}
}

// A denial, and nobody deciding in time: nothing is lifted, the accounts are released, and
// --wait exits 4 saying why.
func TestDenyAndTimeoutWithTheCLI(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name, cause, want string
	}{
		{"denied", contract.ErrApprovalDenied, "denied by an administrator"},
		{"nobody decided", contract.ErrTimeout, "not approved by a second administrator in time"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.with(func(d *window.Deps) { d.Config.Approval, d.Config.ApprovalMinutes = config.ApprovalSecondAdmin, 60 })
			if code, out, errOut := e.run(t, e.secret, "request", "--accounts", "111111111111", "--hours", "1", "--reason", "x (SEC-1)"); code != cli.ExitOK {
				t.Fatalf("exit %d: %s %s", code, out, errOut)
			}
			id := e.newest(t)
			if tt.cause == contract.ErrApprovalDenied {
				if code, out, errOut := e.asBob(t, "deny", id, "--reason", "no change ticket"); code != cli.ExitOK || !strings.Contains(out, "denied by "+bob) {
					t.Fatalf("bob denying: %d %s %s", code, out, errOut)
				}
			} else {
				e.now = t0.Add(61 * time.Minute) // past the approval deadline
				if code, _, errOut := e.asBob(t, "approve", id); code != cli.ExitRefused || !strings.Contains(errOut, "ran out") {
					t.Fatalf("bob approving late: %d %s", code, errOut)
				}
			}
			// The execution's Catch.
			if _, err := e.steps.Reattach(ctx, contract.ReattachInput{RequestID: id, Mode: contract.ModeCompensate, Cause: tt.cause}); err != nil {
				t.Fatal(err)
			}
			code, _, errOut := e.run(t, e.secret, "status", id, "--wait", "--poll", "1s")
			if code != cli.ExitEnded || !strings.Contains(errOut, "FAILED [111111111111]: "+tt.want) {
				t.Errorf("exit %d: %s", code, errOut)
			}
			if leases, _ := e.deps.Ledger.AllLeases(ctx); len(leases) != 0 {
				t.Errorf("leases kept: %v", leases)
			}
		})
	}
}

// A task centralized root access performs is answered with its command; `help tasks` lists them.
func TestRequestForATaskCentralizedRootAccessPerforms(t *testing.T) {
	e := newEnv(t)
	e.with(func(d *window.Deps) { d.Config.CentralizedRoot = true })
	code, _, errOut := e.run(t, e.secret, "request", "--accounts", "111111111111", "--hours", "1", "--reason", "Delete the root password (SEC-5)", "--task", "delete-root-credentials")
	if code != cli.ExitRefused || !strings.Contains(errOut, "--task-policy-arn arn=arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	code, out, errOut := e.run(t, e.secret, "request", "--accounts", "111111111111", "--hours", "1", "--reason", "Delete the root password (SEC-5)",
		"--task", "delete-root-credentials", "--why-not-assume-root", "the member account must keep its MFA device for audit", "--output", "json")
	if code != cli.ExitOK || !strings.Contains(out, `"requestId"`) {
		t.Errorf("with a reason: exit %d: %s %s", code, out, errOut)
	}
	var help strings.Builder
	code = cli.Run(context.Background(), []string{"help", "tasks"}, cli.Env{Stdout: &help, Stderr: &help})
	out = help.String()
	if code != cli.ExitOK || !strings.Contains(out, "unlock-sqs-queue-policy") || !strings.Contains(out, "sts:AssumeRoot, task policy SQSUnlockQueuePolicy") || !strings.Contains(out, "s3-mfa-delete") {
		t.Errorf("help tasks: %d %s", code, out)
	}
}

// subscribe: an address receives the notifications about the caller's own requests.
func TestSubscribe(t *testing.T) {
	e := newEnv(t)
	if code, _, errOut := e.run(t, e.secret, "subscribe"); code != cli.ExitUsage || !strings.Contains(errOut, "subscribe needs one of --email ADDRESS or --https URL") {
		t.Errorf("no endpoint: %d %s", code, errOut)
	}
	if code, _, errOut := e.run(t, e.secret, "subscribe", "--email", "not an address"); code != cli.ExitRefused || !strings.Contains(errOut, "is not an email address") {
		t.Errorf("a bad address: %d %s", code, errOut)
	}
	code, out, errOut := e.run(t, e.secret, "subscribe", "--email", "alice@example.com")
	if code != cli.ExitOK || !strings.Contains(out, "alice@example.com will receive the notifications about your own requests") {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if subs := e.emu.Subscriptions(); len(subs) != 1 || strings.Join(subs[0].FilterPolicy["requester"], ",") != alice {
		t.Errorf("subscriptions %+v", subs)
	}
}

// status says what signing in as each account's root user takes.
func TestStatusShowsRootSignIn(t *testing.T) {
	e := newEnv(t)
	e.with(func(d *window.Deps) {
		d.Root = testenv.RootAccess(t, rootemu.New(map[string]rootemu.Root{"111111111111": {}}))
	})
	e.with(func(d *window.Deps) { d.Config.CentralizedRoot = true })
	if code, _, errOut := e.run(t, e.secret, "request", "--accounts", "111111111111", "--hours", "1", "--reason", "x (SEC-1)"); code != cli.ExitOK {
		t.Fatal(errOut)
	}
	id := e.newest(t)
	code, out, _ := e.run(t, e.secret, "status", id)
	if code != cli.ExitOK || !strings.Contains(out, "sign in as root on 111111111111: email aws+111111111111@example.com, root password absent, MFA devices 0 (the root user has no password") {
		t.Errorf("%d %s", code, out)
	}
	// Another administrator sees the request, but not its accounts' root email and credential state.
	if code, out, _ := e.asBob(t, "status", id, "--output", "json"); code != cli.ExitOK || strings.Contains(out, "aws+111111111111") || strings.Contains(out, "signIn") {
		t.Errorf("bob's status: %d %s", code, out)
	}
	// Prepared when configured: password recovery allowed at the lift, and said.
	e.with(func(d *window.Deps) { d.Config.PrepareRootSignIn = true })
	if _, err := e.steps.Detach(context.Background(), testenv.Decided(t, e.deps.Ledger, id)); err != nil {
		t.Fatal(err)
	}
	code, out, _ = e.run(t, e.secret, "status", id)
	if code != cli.ExitOK || !strings.Contains(out, "OPEN") || !strings.Contains(out, "password recovery allowed for the window (rootwindow deletes the root password again within five minutes of the window's end (the sweep); should it fail (alarm RootPasswordsLeft): aws sts assume-root") {
		t.Errorf("%d %s", code, out)
	}
}
