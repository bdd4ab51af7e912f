package api_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/api"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	rwrequest "github.com/rootwindow/rootwindow/pkg/request"
)

var update = flag.Bool("update", false, "rewrite the samples in events/api-responses")

// The API's answers are generated from the code (go test ./pkg/api -update) and must stay what it
// produces: they document the response schema for callers.
func TestResponseSamples(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	alice := "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/alice@example.com"
	rec := ledger.Record{
		RequestID: "api-5f0c2b8e9d1a4c3b8e7f6a5b4c3d2e1f", Fields: rwrequest.Fields{Requester: alice, Reason: "Enable MFA delete on the audit bucket (SEC-1234)",
			AccountIDs: []string{"111111111111", "222222222222"}, Hours: 2, StartAt: t0},
		Origin: contract.Origin{Channel: contract.ChannelAPI, Caller: alice}, Status: ledger.Closed, CreatedAt: t0,
		OpenedAt: t0.Add(time.Minute), RestoreAt: t0.Add(121 * time.Minute), ClosedAt: t0.Add(45 * time.Minute),
		Notified: []string{"Scheduled", "Opened", "Closed"},
		History: []ledger.Transition{
			{Status: ledger.Scheduled, At: t0, Actor: "rootwindow:api", Note: "validated"},
			{Status: ledger.Opening, At: t0, Actor: "rootwindow:detach", Note: "lifting the guardrail"},
			{Status: ledger.Open, At: t0.Add(time.Minute), Actor: "rootwindow:detach", Note: "guardrail lifted from 2 account(s)"},
			{Status: ledger.Closing, At: t0.Add(45 * time.Minute), Actor: alice, Note: "ended early by " + alice},
			{Status: ledger.Closed, At: t0.Add(45 * time.Minute), Actor: alice, Note: "guardrail restored"},
		},
	}
	// Its report, made 15 minutes after its end: the root sign-in and what root did.
	rec.Report = &contract.WindowReport{MadeAt: t0.Add(time.Hour), From: t0, To: t0.Add(45 * time.Minute),
		Source:  "arn:aws:logs:us-east-1:999999999999:log-group:aws-cloudtrail-logs-o-exampleorg1",
		QueryID: "7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a",
		Query:   `fields eventID, eventTime, recipientAccountId, eventName, eventSource, awsRegion, errorCode, errorMessage, sourceIPAddress | filter userIdentity.type = "Root" and recipientAccountId in ["111111111111", "222222222222"] | sort eventTime asc | limit 100000 (log group arn:aws:logs:us-east-1:999999999999:log-group:aws-cloudtrail-logs-o-exampleorg1, 2026-11-23T10:00:00Z to 2026-11-23T10:45:00Z)`}
	rec.Report.Summarize([]contract.RootEvent{
		{EventID: "8e1d5a0c-1b2a-4f3e-9d8c-7b6a5f4e3d2c", Time: t0.Add(3 * time.Minute), AccountID: "111111111111", Name: "ConsoleLogin", Source: "signin.amazonaws.com", Region: "us-east-1", SourceIP: "192.0.2.10"},
		{EventID: "2f3e4d5c-6b7a-4918-8a7b-6c5d4e3f2a1b", Time: t0.Add(5 * time.Minute), AccountID: "111111111111", Name: "PutBucketVersioning", Source: "s3.amazonaws.com", Region: "eu-west-1", SourceIP: "192.0.2.10"},
	})
	samples := map[string]any{
		"request.json": api.View(rec),
		"page.json":    api.Page{Requests: []api.Request{api.View(rec)}, NextToken: "eyJjcmVhdGVkQXQiOiIuLi4ifQ"},
	}
	for name, v := range samples {
		want, _ := json.MarshalIndent(v, "", "  ")
		want = append(want, '\n')
		path := filepath.Join(testenv.RepoRoot(), "events", "api-responses", name)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./pkg/api -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what the API answers (run go test ./pkg/api -update):\n%s", name, want)
		}
	}
}

// What an answer shows of an error: a classified message, never the error's own text.
func TestPublicErrorHidesInternalText(t *testing.T) {
	for text, want := range map[string]string{
		"": "",
		"detach guardrail failed on 1 account(s): 222222222222 (AccessDeniedException); the guardrail was put back":   "AWS Organizations refused rootwindow's call (access denied); operators have the detail",
		"restore failed: reattach guardrail failed on 1 account(s): 111111111111 (ConstraintViolationException)":      "AWS Organizations refused a change that would break one of its quotas; operators have the detail",
		"start execution: operation error SFN: StartExecution, https response error StatusCode: 500, RequestID: 1f2e": "the workflow could not be started; nothing was reserved",
		"read request x: operation error DynamoDB: GetItem, arn:aws:dynamodb:us-east-1:999999999999:table/ledger":     "an internal error; operators have the detail in the ledger",
	} {
		got := api.PublicError(text)
		if got != want {
			t.Errorf("%q: %q, want %q", text, got, want)
		}
		for _, leak := range []string{"arn:", "999999999999", "RequestID", "StatusCode", "222222222222"} {
			if strings.Contains(got, leak) {
				t.Errorf("%q leaks %q", got, leak)
			}
		}
	}
}
