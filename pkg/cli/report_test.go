package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/cli"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/rootevents"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// rootwindow report shows a window's report as a table (each event, the counts, the query to run
// again) or as JSON; before the report is made it says when it will be, and exits 1.
func TestReportFromTheCommandLine(t *testing.T) {
	const store = "arn:aws:cloudtrail:us-east-1:999999999999:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"
	e := newEnv(t)
	e.emu.AddEventDataStore(store)
	l := rootevents.NewLake(testenv.Trail(e.emu), store)
	e.with(func(d *window.Deps) { d.RootActivity, d.Config.TrailEventDataStore = l, store })
	code, out, errOut := e.run(t, e.secret, "request", "--accounts", "111111111111", "--hours", "1", "--reason", "Reset the root password (SEC-9)", "--output", "json")
	var accepted struct{ RequestID string }
	if code != cli.ExitOK || json.Unmarshal([]byte(out), &accepted) != nil {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	id := accepted.RequestID
	ctx := context.Background()
	if _, err := e.steps.Detach(ctx, testenv.Decided(t, e.deps.Ledger, id)); err != nil {
		t.Fatal(err)
	}
	e.emu.AddLakeEvents(store,
		awsemu.RootEvent("e-1", "111111111111", "ConsoleLogin", e.now.Add(5*time.Minute), "eventSource", "signin.amazonaws.com", "sourceIPAddress", "192.0.2.10"),
		awsemu.RootEvent("e-2", "111111111111", "DeleteBucketPolicy", e.now.Add(9*time.Minute), "eventSource", "s3.amazonaws.com", "errorCode", "AccessDenied"))
	e.now = e.now.Add(time.Hour)
	if _, err := e.steps.Reattach(ctx, contract.ReattachInput{RequestID: id, Mode: contract.ModeClose}); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := e.run(t, e.secret, "report", id); code != cli.ExitRefused || !strings.Contains(errOut, "has no report yet: it is made 15 minutes after the window ends") {
		t.Errorf("before the report: exit %d, %s", code, errOut)
	}
	e.now = e.now.Add(window.ReportDelay)
	if _, err := e.steps.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := e.run(t, e.secret, "status", id); code != cli.ExitOK || !strings.Contains(out, "report: 2 root event(s), 1 sign-in(s), 1 failed or denied: rootwindow report "+id) {
		t.Errorf("status after the report: exit %d, %s", code, out)
	}
	code, out, errOut = e.run(t, e.secret, "report", id)
	for _, want := range []string{"2 root event(s), 1 sign-in(s), 1 failed or denied", "TIME", "ConsoleLogin", "signin.amazonaws.com", "192.0.2.10",
		"DeleteBucketPolicy", "AccessDenied", "By account: 111111111111 2", "FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"} {
		if code != cli.ExitOK || !strings.Contains(out, want) {
			t.Errorf("report lacks %q: exit %d\n%s%s", want, code, out, errOut)
		}
	}
	// A request never lifted has nothing to report, and says so.
	code, out, errOut = e.run(t, e.secret, "request", "--accounts", "222222222222", "--hours", "1", "--reason", "x (SEC-10)", "--start",
		e.now.Add(2*time.Hour).Format(time.RFC3339), "--output", "json")
	var later struct{ RequestID string }
	if code != cli.ExitOK || json.Unmarshal([]byte(out), &later) != nil {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if code, _, errOut := e.run(t, e.secret, "cancel", later.RequestID); code != cli.ExitOK {
		t.Fatalf("cancel: %s", errOut)
	}
	if code, _, errOut := e.run(t, e.secret, "report", later.RequestID); code != cli.ExitRefused || !strings.Contains(errOut, "was never lifted: there is nothing to report") {
		t.Errorf("a cancelled request's report: exit %d, %s", code, errOut)
	}
	code, out, _ = e.run(t, e.secret, "report", id, "--output", "json")
	var r contract.WindowReport
	if code != cli.ExitOK || json.Unmarshal([]byte(out), &r) != nil || r.Events != 2 || len(r.Listed) != 2 || r.Query == "" {
		t.Errorf("report as JSON: exit %d %s", code, out)
	}
}
