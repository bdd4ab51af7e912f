package lambdart_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/lambdart"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

const (
	requester = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/alice@example.com"
	accounts  = 50
)

var functions = []string{"validate", "detach", "reattach", "api", "sweeper"}

// build compiles each function's bootstrap with `make build`'s own rule, for this machine's
// architecture (to run it) and for arm64 (to weigh what Lambda runs).
func build(b *testing.B, dir, goarch string) map[string]string {
	b.Helper()
	out := map[string]string{}
	for _, fn := range functions {
		cmd := exec.Command("make", "-s", "build-"+fn, "ARCH="+goarch, "BIN="+filepath.Join(dir, goarch))
		cmd.Dir = testenv.RepoRoot()
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("build %s: %v\n%s", fn, err, msg)
		}
		out[fn] = filepath.Join(dir, goarch, fn, "bootstrap")
	}
	return out
}

// BenchmarkColdStart starts each function's bootstrap as Lambda does on a cold start, against a
// loopback Runtime API, and hands it one event of a 50-account request: validate, detach and
// reattach of one window, then a POST /requests through api and one sweep; then once more each,
// cold, with an event that needs one ledger read. It reports, per function, the time from
// process start to its first poll of the Runtime API (init-ms), to its first answer for the light
// event (cold-first-ms) and for the 50-account one (cold-50-ms), its peak resident memory over
// both (peak-MiB), and the arm64 bootstrap's size (arm64-MiB).
func BenchmarkColdStart(b *testing.B) {
	dir := b.TempDir()
	bins := build(b, dir, "amd64")
	arm := build(b, dir, "arm64")
	members := make([]string, accounts)
	for i := range members {
		members[i] = fmt.Sprintf("1000000000%02d", i)
	}
	org := orgemu.Standard("999999999999", "alice@example.com", members...)
	orgURL := org.Start()
	defer org.Close()
	emu := awsemu.New()
	emuURL := emu.Start()
	defer emu.Close()
	testenv.SkipWithoutNode(b)
	dbURL, stop, err := testenv.StartDynalite()
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	db := testenv.DynamoDB(dbURL)
	table := "coldstart"
	if err := ledger.CreateTable(context.Background(), db, table); err != nil {
		b.Fatal(err)
	}
	env := []string{
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDBENCH", "AWS_SECRET_ACCESS_KEY=bench", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_LAMBDA_FUNCTION_NAME=rootwindow-bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128", "AWS_LAMBDA_LOG_FORMAT=JSON",
		"AWS_ENDPOINT_URL_ORGANIZATIONS=" + orgURL, "AWS_ENDPOINT_URL_DYNAMODB=" + dbURL,
		"AWS_ENDPOINT_URL_EVENTBRIDGE=" + emuURL, "AWS_ENDPOINT_URL_SNS=" + emuURL, "AWS_ENDPOINT_URL_SFN=" + emuURL,
		"AWS_ENDPOINT_URL_CLOUDTRAIL=" + emuURL, contract.EnvOrganizationID + "=" + orgemu.OrganizationID,
		contract.EnvCooldownMinutes + "=0", contract.EnvMaxDailyPerUser + "=200",
		contract.EnvTableName + "=" + table, contract.EnvGuardrailPolicyID + "=" + orgemu.GuardrailID,
		contract.EnvAdminPrincipals + "=arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_*/*",
		contract.EnvTopicARN + "=arn:aws:sns:us-east-1:999999999999:ops",
		contract.EnvStateMachineARN + "=" + testenv.StateMachineARN, contract.EnvStateMachineRoleARN + "=" + testenv.StateMachineRoleARN,
	}
	cold := map[string]time.Duration{}
	light := map[string]time.Duration{}
	initd := map[string]time.Duration{}
	launches := map[string]int{}
	peak := map[string]int64{}
	launch := func(fn string, payload any, into map[string]time.Duration) []byte {
		b.Helper()
		raw, err := json.Marshal(payload)
		if err != nil {
			b.Fatal(err)
		}
		rtx, err := lambdart.Start()
		if err != nil {
			b.Fatal(err)
		}
		defer rtx.Close()
		p, err := rtx.Launch(bins[fn], env)
		if err != nil {
			b.Fatal(err)
		}
		defer p.Stop()
		rtx.Queue(raw)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		inv, err := rtx.Next(ctx)
		if err != nil {
			b.Fatalf("%s: %v", fn, err)
		}
		if inv.Failed {
			b.Fatalf("%s failed: %s", fn, inv.Response)
		}
		into[fn] += inv.Answered.Sub(p.Started)
		initd[fn] += rtx.FirstPoll().Sub(p.Started)
		launches[fn]++
		rss, err := p.PeakRSS()
		if err != nil {
			b.Fatal(err)
		}
		peak[fn] = max(peak[fn], rss)
		return inv.Response
	}
	run := func(fn string, payload any) []byte { return launch(fn, payload, cold) }
	store := ledger.New(db, table, time.Now, nil)
	i := 0
	for b.Loop() {
		i++
		id := fmt.Sprintf("bench-%d", i)
		req, _ := json.Marshal(map[string]any{"accountIds": members, "hours": 1, "reason": "cold start benchmark", "requester": requester})
		envelope, _ := json.Marshal(contract.Envelope{Request: req})
		validate := testenv.Started(emu, id, envelope, testenv.Person(requester), time.Now())
		run("validate", validate)
		run("detach", testenv.Decided(b, store, id))
		run("reattach", contract.ReattachInput{RequestID: id, Mode: contract.ModeClose})
		post := events.APIGatewayProxyRequest{
			Resource: "/requests", Path: "/requests", HTTPMethod: "POST",
			Body: fmt.Sprintf(`{"accountIds": %s, "hours": 1, "reason": "cold start benchmark"}`, mustJSON(members)),
		}
		post.RequestContext.Identity.UserArn = requester
		post.RequestContext.RequestID = id
		res := run("api", post)
		var answer events.APIGatewayProxyResponse
		if err := json.Unmarshal(res, &answer); err != nil || answer.StatusCode != 202 {
			b.Fatalf("api: %s", res)
		}
		var accepted struct{ RequestID string }
		_ = json.Unmarshal([]byte(answer.Body), &accepted)
		// Withdraw it, so that the next round finds the accounts free.
		if _, err := store.Transition(context.Background(), accepted.RequestID, ledger.Cancelled, requester, "benchmark", ledger.Change{}); err != nil {
			b.Fatal(err)
		}
		if err := store.Release(context.Background(), accepted.RequestID, members); err != nil {
			b.Fatal(err)
		}
		run("sweeper", events.CloudWatchEvent{Version: "0", ID: id, DetailType: contract.DetailTypeSchedule, Source: "aws.events", Detail: json.RawMessage(`{}`)})

		// Cold starts whose first event needs one ledger read: what the runtime and our init cost.
		launch("validate", validate, light)
		launch("detach", testenv.Decided(b, store, id), light)
		launch("reattach", contract.ReattachInput{RequestID: id, Mode: contract.ModeClose}, light)
		get := events.APIGatewayProxyRequest{Resource: "/requests/{id}", HTTPMethod: "GET", PathParameters: map[string]string{"id": id}}
		get.RequestContext.Identity.UserArn = requester
		launch("api", get, light)
		// A confirmed status change of an execution that holds nothing: one DescribeExecution.
		stopped := "stopped-" + id
		emu.Ran(testenv.StateMachineARN, stopped, json.RawMessage(`{}`), "ABORTED")
		launch("sweeper", events.CloudWatchEvent{Version: "0", ID: id, DetailType: contract.DetailTypeStatusChange, Source: "aws.states",
			Detail: json.RawMessage(mustJSON(map[string]string{"stateMachineArn": testenv.StateMachineARN, "executionArn": testenv.ExecutionARN(stopped),
				"name": stopped, "status": "ABORTED"}))}, light)
	}
	n := float64(b.N)
	for _, fn := range functions {
		st, err := os.Stat(arm[fn])
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(cold[fn].Microseconds())/1000/n, fn+"-cold-50-ms")
		b.ReportMetric(float64(light[fn].Microseconds())/1000/n, fn+"-cold-first-ms")
		b.ReportMetric(float64(initd[fn].Microseconds())/1000/float64(launches[fn]), fn+"-init-ms")
		b.ReportMetric(float64(peak[fn])/(1<<20), fn+"-peak-MiB")
		b.ReportMetric(float64(st.Size())/(1<<20), fn+"-arm64-MiB")
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
