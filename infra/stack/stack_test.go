package stack_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/rootwindow/rootwindow/infra/stack"
	"github.com/rootwindow/rootwindow/internal/cdktest"
	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/policy"
)

var sample = config.Settings{
	GuardrailPolicyID:     "p-rootguard01",
	AdminPrincipals:       []string{"arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_*/*"},
	OwnerTagKey:           "owner",
	BookingHorizonDays:    7,
	MaxAccountsPerRequest: 50,
	OrganizationID:        "o-exampleorg1",
}

// template is synthesized once for the package: jsii makes every synth take seconds.
var template map[string]any

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("skipped under -short: every test here synthesizes the stack through jsii (Node)")
		os.Exit(0)
	}
	var err error
	template, err = cdktest.Template(awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("999999999999"), Region: jsii.String("eu-west-1")},
	}, sample)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range template["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

func props(res map[string]any) map[string]any { return res["Properties"].(map[string]any) }

func TestResourceList(t *testing.T) {
	counts := map[string]int{}
	for _, r := range template["Resources"].(map[string]any) {
		counts[r.(map[string]any)["Type"].(string)]++
	}
	var lines []string
	for typ, n := range counts {
		lines = append(lines, fmt.Sprintf("%s × %d", typ, n))
	}
	sort.Strings(lines)
	t.Logf("template resources:\n%s", strings.Join(lines, "\n"))
	for typ, want := range map[string]int{
		"AWS::Lambda::Function": 5, "AWS::DynamoDB::Table": 1, "AWS::StepFunctions::StateMachine": 1,
		// five functions, the state machine, the API access log
		"AWS::Logs::LogGroup": 7,
		// one per function, the state machine's, the request rule target's, API Gateway's logging role
		"AWS::IAM::Role": 8,
		// requests, executions ended, the sweep schedule, changes to the guardrail, and ten
		// watching changes to rootwindow's own resources
		"AWS::SNS::Topic": 1, "AWS::Events::EventBus": 1, "AWS::Events::Rule": 14, "AWS::SQS::Queue": 1,
		"AWS::CloudWatch::Alarm":   16,
		"AWS::ApiGateway::RestApi": 1, "AWS::ApiGateway::Method": 10,
	} {
		if counts[typ] != want {
			t.Errorf("%s: %d, want %d", typ, counts[typ], want)
		}
	}
}

func TestLambdas(t *testing.T) {
	fns := resources("AWS::Lambda::Function")
	for id, fn := range fns {
		p := props(fn)
		if p["Runtime"] != "provided.al2023" || !reflect.DeepEqual(p["Architectures"], []any{"arm64"}) || p["Handler"] != "bootstrap" {
			t.Errorf("%s: runtime %v, architectures %v, handler %v", id, p["Runtime"], p["Architectures"], p["Handler"])
		}
		if lc, _ := p["LoggingConfig"].(map[string]any); lc["LogFormat"] != "JSON" {
			t.Errorf("%s: logs are not JSON: %v", id, p["LoggingConfig"])
		}
		env := p["Environment"].(map[string]any)["Variables"].(map[string]any)
		for k, want := range map[string]any{
			contract.EnvGuardrailPolicyID: "p-rootguard01", contract.EnvAdminPrincipals: sample.AdminPrincipals[0],
			contract.EnvOwnerTagKey: "owner", contract.EnvMaxAccounts: "50", contract.EnvBookingHorizonDays: "7",
		} {
			if env[k] != want {
				t.Errorf("%s: %s = %v, want %v", id, k, env[k], want)
			}
		}
		if _, ok := env[contract.EnvTableName].(map[string]any)["Ref"]; !ok {
			t.Errorf("%s: table name is not a reference to the table: %v", id, env[contract.EnvTableName])
		}
	}
}

// Each function reads the configuration every function reads, and beyond it only what its row
// of the stack's function specs names.
func TestEachFunctionReadsOnlyItsOwnSettings(t *testing.T) {
	beyond := map[string][]string{
		"FunctionsValidate": {contract.EnvAPIRoleARN, contract.EnvEventsRoleARN, contract.EnvStateMachineRoleARN},
		"FunctionsDetach":   {contract.EnvStateMachineRoleARN},
		"FunctionsReattach": {contract.EnvStateMachineRoleARN},
		"FunctionsApi":      {contract.EnvStateMachineARN},
		"FunctionsSweeper":  {contract.EnvDeploymentRoleARN, contract.EnvOwnRoleARNs, contract.EnvRootSessionRoleARNs, contract.EnvStateMachineARN},
	}
	keys := map[string][]string{}
	for id, fn := range resources("AWS::Lambda::Function") {
		for name := range beyond {
			if strings.HasPrefix(id, name) && !strings.HasPrefix(id, name+"Role") {
				for k := range props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any) {
					keys[name] = append(keys[name], k)
				}
			}
		}
	}
	if len(keys) != len(beyond) {
		t.Fatalf("functions found: %v", keys)
	}
	var common []string // what every function reads
	for _, k := range keys["FunctionsReattach"] {
		if !slices.ContainsFunc(slices.Collect(maps.Values(keys)), func(ks []string) bool { return !slices.Contains(ks, k) }) {
			common = append(common, k)
		}
	}
	for name, want := range beyond {
		var extra []string
		for _, k := range keys[name] {
			if !slices.Contains(common, k) {
				extra = append(extra, k)
			}
		}
		slices.Sort(extra)
		if !slices.Equal(extra, want) {
			t.Errorf("%s reads %v beyond the common configuration, want %v", name, extra, want)
		}
		for _, k := range common {
			if !slices.Contains(keys[name], k) {
				t.Errorf("%s lacks %s", name, k)
			}
		}
	}
	if !slices.Contains(common, contract.EnvTableName) || !slices.Contains(common, contract.EnvGuardrailPolicyID) {
		t.Errorf("the common configuration %v", common)
	}
}

func TestLedgerTableIsKeptAndRecoverable(t *testing.T) {
	tables := resources("AWS::DynamoDB::Table")
	if len(tables) != 1 {
		t.Fatalf("%d tables", len(tables))
	}
	for _, tbl := range tables {
		p := props(tbl)
		if tbl["DeletionPolicy"] != "Retain" || tbl["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("table not retained: %v %v", tbl["DeletionPolicy"], tbl["UpdateReplacePolicy"])
		}
		if pitr := p["PointInTimeRecoverySpecification"].(map[string]any); pitr["PointInTimeRecoveryEnabled"] != true {
			t.Errorf("point-in-time recovery off: %v", pitr)
		}
		if p["BillingMode"] != "PAY_PER_REQUEST" || p["DeletionProtectionEnabled"] != true {
			t.Errorf("billing %v, deletion protection %v", p["BillingMode"], p["DeletionProtectionEnabled"])
		}
		if !reflect.DeepEqual(p["KeySchema"], []any{map[string]any{"AttributeName": "pk", "KeyType": "HASH"}}) {
			t.Errorf("key schema %v", p["KeySchema"])
		}
	}
}

// roleStatements maps each Lambda's logical ID prefix to the statements of its role's policies.
func roleStatements(t *testing.T) map[string][]map[string]any {
	t.Helper()
	return roleStatementsOf(t, template)
}

// roleStatementsOf lists each role's policy statements in tmpl.
func roleStatementsOf(t *testing.T, tmpl map[string]any) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for _, r := range tmpl["Resources"].(map[string]any) {
		pol := r.(map[string]any)
		if pol["Type"] != "AWS::IAM::Policy" {
			continue
		}
		p := props(pol)
		roles := p["Roles"].([]any)
		role := roles[0].(map[string]any)["Ref"].(string)
		for _, s := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			out[role] = append(out[role], s.(map[string]any))
		}
	}
	return out
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func TestNoOrganizationsWriteOnEverything(t *testing.T) {
	writes := 0
	for role, stmts := range roleStatements(t) {
		for _, s := range stmts {
			for _, a := range asList(s["Action"]) {
				action := a.(string)
				if !strings.HasPrefix(action, "organizations:") {
					continue
				}
				read := strings.HasPrefix(action, "organizations:Describe") || strings.HasPrefix(action, "organizations:List")
				if read {
					continue
				}
				writes++
				for _, r := range asList(s["Resource"]) {
					b, _ := json.Marshal(r)
					if r == "*" || !strings.Contains(string(b), "organizations") {
						t.Errorf("%s: %s on %s", role, action, b)
					}
				}
			}
		}
	}
	if writes == 0 {
		t.Fatal("no organizations write action found: the check proves nothing")
	}
}

func TestEachFunctionHasOnlyItsActions(t *testing.T) {
	actionsOf := map[string][]string{}
	for role, stmts := range roleStatements(t) {
		for _, s := range stmts {
			for _, a := range asList(s["Action"]) {
				actionsOf[role] = append(actionsOf[role], a.(string))
			}
		}
	}
	find := func(prefix string) []string {
		for role, actions := range actionsOf {
			if strings.HasPrefix(role, "Functions"+prefix) {
				return actions
			}
		}
		t.Fatalf("no role for %s in %v", prefix, actionsOf)
		return nil
	}
	has := func(actions []string, a string) bool { return slices.Contains(actions, a) }
	v, d, r, a, sw := find("Validate"), find("Detach"), find("Reattach"), find("Api"), find("Sweeper")
	if has(v, "organizations:DetachPolicy") || has(v, "organizations:AttachPolicy") {
		t.Errorf("validate can change the organization: %v", v)
	}
	if !has(d, "organizations:DetachPolicy") || !has(d, "organizations:AttachPolicy") {
		t.Errorf("detach: %v", d)
	}
	if !has(d, "organizations:CreatePolicy") || has(r, "organizations:CreatePolicy") || has(a, "organizations:CreatePolicy") || has(sw, "organizations:CreatePolicy") {
		t.Errorf("only detach creates window SCPs: %v", d)
	}
	if !has(r, "organizations:AttachPolicy") || !has(r, "organizations:DeletePolicy") {
		t.Errorf("reattach: %v", r)
	}
	// The API, behind an endpoint every principal of the organization can reach, changes nothing
	// in the organization: it starts executions and stops one a person ended early (the sweeper
	// then restores).
	for _, x := range a {
		if strings.HasPrefix(x, "organizations:") && !strings.HasPrefix(x, "organizations:Describe") && !strings.HasPrefix(x, "organizations:List") {
			t.Errorf("api may change the organization: %s", x)
		}
	}
	if !has(a, "states:StartExecution") || !has(a, "states:StopExecution") || !has(a, "dynamodb:Query") {
		t.Errorf("api: %v", a)
	}
	if !has(sw, "organizations:AttachPolicy") || has(sw, "states:StartExecution") {
		t.Errorf("sweeper may only restore: %v", sw)
	}
	// Reattach, the API and the sweeper may detach (and delete) window SCPs only, never the
	// guardrail: every statement of theirs that allows DetachPolicy is conditioned on the window
	// tag and names no guardrail.
	for role, stmts := range roleStatements(t) {
		if strings.HasPrefix(role, "FunctionsDetach") || !strings.HasPrefix(role, "Functions") {
			continue
		}
		for _, st := range stmts {
			for _, act := range asList(st["Action"]) {
				if act != "organizations:DetachPolicy" && act != "organizations:DeletePolicy" {
					continue
				}
				cond, _ := json.Marshal(st["Condition"])
				res, _ := json.Marshal(st["Resource"])
				if string(cond) != `{"Null":{"aws:ResourceTag/`+contract.TagWindowRequest+`":"false"}}` || strings.Contains(string(res), "p-rootguard01") {
					t.Errorf("%s may %s beyond window SCPs: %s on %s", role, act, cond, res)
				}
			}
		}
	}
	for _, name := range []string{"Validate", "Detach", "Reattach"} {
		if acts := find(name); has(acts, "states:StartExecution") || has(acts, "dynamodb:Query") {
			t.Errorf("%s has the API's actions: %v", name, acts)
		}
	}
	for _, actions := range [][]string{v, d, r, a, sw} {
		if !has(actions, "events:PutEvents") || !has(actions, "sns:Publish") {
			t.Errorf("cannot notify: %v", actions)
		}
		for _, a := range actions {
			if strings.HasSuffix(a, "*") {
				t.Errorf("wildcard action %s", a)
			}
		}
		if has(actions, "dynamodb:Scan") || has(actions, "dynamodb:DeleteTable") {
			t.Errorf("ledger actions too broad: %v", actions)
		}
	}
}

func definition(t *testing.T) map[string]any {
	t.Helper()
	return definitionOf(t, template)
}

func definitionOf(t *testing.T, template map[string]any) map[string]any {
	t.Helper()
	def, err := stack.DefinitionFromTemplate(template, func(id string) string {
		return "arn:aws:lambda:eu-west-1:999999999999:function:" + id
	})
	if err != nil {
		t.Fatal(err)
	}
	var asl map[string]any
	if err := json.Unmarshal(def, &asl); err != nil {
		t.Fatal(err)
	}
	return asl
}

func TestStateMachineStates(t *testing.T) {
	asl := definition(t)
	states := asl["States"].(map[string]any)
	state := func(name string) map[string]any {
		s, ok := states[name].(map[string]any)
		if !ok {
			t.Fatalf("no state %q; states: %v", name, keys(states))
		}
		return s
	}
	if asl["StartAt"] != stack.StateValidate {
		t.Errorf("starts at %v", asl["StartAt"])
	}
	wantTypes := map[string]string{
		stack.StateValidate: "Task", stack.StateExplain: "Pass", stack.StateRejected: "Fail",
		stack.StateStartsLater: "Choice", stack.StateWaitStart: "Wait", stack.StateDetach: "Task",
		stack.StateOpened: "Choice", stack.StateCancelled: "Succeed", stack.StateHold: "Wait",
		stack.StateReattach: "Task", stack.StateClosed: "Succeed", stack.StateCompensate: "Task",
		stack.StateNotOpened: "Fail", stack.StateRestoreFailed: "Fail", stack.StateAlarm: "Task",
		stack.StateDuplicate: "Succeed", stack.StateNeedsApproval: "Choice", stack.StateWaitApproval: "Task",
	}
	if len(states) != len(wantTypes) {
		t.Errorf("states %v", keys(states))
	}
	for name, typ := range wantTypes {
		if got := state(name)["Type"]; got != typ {
			t.Errorf("%s: type %v, want %s", name, got, typ)
		}
	}
	if got := state(stack.StateHold)["TimestampPath"]; got != "$.window.restoreAt" {
		t.Errorf("window held until %v", got)
	}
	if got := state(stack.StateWaitStart)["TimestampPath"]; got != "$.startAt" {
		t.Errorf("start waits until %v", got)
	}
	// Execution input carries no infrastructure: every task is addressed by its own ARN and gets
	// the request ID from the execution name.
	for _, name := range []string{stack.StateValidate, stack.StateDetach, stack.StateReattach, stack.StateCompensate} {
		s := state(name)
		if !strings.HasPrefix(s["Resource"].(string), "arn:aws:lambda:") {
			t.Errorf("%s: resource %v", name, s["Resource"])
		}
		params := s["Parameters"].(map[string]any)
		idKey := "requestId.$"
		if name == stack.StateValidate {
			idKey = "execution.$"
		}
		if params[idKey] != "$$.Execution.Name" {
			t.Errorf("%s: parameters %v", name, params)
		}
	}
	// The lift and the restore carry what Validate decided, to check the ledger against.
	for name, want := range map[string]map[string]any{
		stack.StateDetach:   {"accountIds.$": "$.accountIds", "hours.$": "$.hours", "needsApproval.$": "$.needsApproval", "approvedBy.$": "$.approval.approvedBy"},
		stack.StateReattach: {"accountIds.$": "$.accountIds"},
	} {
		params := state(name)["Parameters"].(map[string]any)
		for k, v := range want {
			if params[k] != v {
				t.Errorf("%s: %s is %v, want %v", name, k, params[k], v)
			}
		}
	}
	if got := state(stack.StateRejected)["Error"]; got != contract.ErrRequestRejected {
		t.Errorf("rejection error %v", got)
	}
	if got := state(stack.StateRejected)["CausePath"]; got != "$.rejection.errorMessage" {
		t.Errorf("rejection cause %v", got)
	}
	// The rejection's Cause is the Lambda error object as JSON; the Pass state parses that path.
	if got := state(stack.StateExplain)["Parameters"].(map[string]any)["rejection.$"]; got != "States.StringToJson($.error.Cause)" {
		t.Errorf("rejection parsed from %v", got)
	}
	if got := state(stack.StateRestoreFailed)["Error"]; got != contract.ErrRestoreFailed {
		t.Errorf("restore failure error %v", got)
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestRetryAndCatch(t *testing.T) {
	states := definition(t)["States"].(map[string]any)
	retryErrors := func(name string) ([]string, map[string]any) {
		s := states[name].(map[string]any)
		retries := s["Retry"].([]any)
		want := 1
		if name == stack.StateValidate {
			want = 2 // and one for RequesterUnknown, below
		}
		if len(retries) != want {
			t.Fatalf("%s: %d retriers", name, len(retries))
		}
		r := retries[0].(map[string]any)
		var errs []string
		for _, e := range r["ErrorEquals"].([]any) {
			errs = append(errs, e.(string))
		}
		return errs, r
	}
	catches := func(name string) [][2]string {
		var out [][2]string
		for _, c := range states[name].(map[string]any)["Catch"].([]any) {
			cm := c.(map[string]any)
			for _, e := range cm["ErrorEquals"].([]any) {
				out = append(out, [2]string{e.(string), cm["Next"].(string)})
			}
		}
		return out
	}
	for _, name := range []string{stack.StateValidate, stack.StateDetach} {
		errs, _ := retryErrors(name)
		for _, want := range []string{contract.ErrThrottled, contract.ErrUnavailable, "Lambda.ServiceException", "Lambda.TooManyRequestsException", "Lambda.Unknown"} {
			if !slices.Contains(errs, want) {
				t.Errorf("%s does not retry %s: %v", name, want, errs)
			}
		}
		if slices.Contains(errs, contract.ErrRequestRejected) || slices.Contains(errs, "States.ALL") {
			t.Errorf("%s retries what it must not: %v", name, errs)
		}
	}
	// Validate looks for who started the execution for half an hour, then gives up.
	who := states[stack.StateValidate].(map[string]any)["Retry"].([]any)[1].(map[string]any)
	if !reflect.DeepEqual(who["ErrorEquals"], []any{contract.ErrRequesterUnknown}) || who["IntervalSeconds"] != float64(60) ||
		who["MaxAttempts"] != float64(30) || who["BackoffRate"] != float64(1) {
		t.Errorf("who started the execution is looked for: %v", who)
	}
	params := states[stack.StateValidate].(map[string]any)["Parameters"].(map[string]any)
	if params["executionArn.$"] != "$$.Execution.Id" || params["startedAt.$"] != "$$.Execution.StartTime" {
		t.Errorf("validate is not given the execution's context: %v", params)
	}
	if got := catches(stack.StateValidate); !reflect.DeepEqual(got, [][2]string{{contract.ErrRequestRejected, stack.StateExplain}, {"States.ALL", stack.StateCompensate}}) {
		t.Errorf("validate catches %v", got)
	}
	if got := catches(stack.StateDetach); !reflect.DeepEqual(got, [][2]string{{"States.ALL", stack.StateCompensate}}) {
		t.Errorf("a failed lift must be compensated: %v", got)
	}
	for _, name := range []string{stack.StateReattach, stack.StateCompensate} {
		errs, r := retryErrors(name)
		if !reflect.DeepEqual(errs, []string{"States.ALL"}) || r["MaxAttempts"].(float64) < 20 || r["JitterStrategy"] != "FULL" {
			t.Errorf("%s: restore must retry everything for hours: %v", name, r)
		}
		if got := catches(name); len(got) != 1 || got[0][1] != stack.StateAlarm {
			t.Errorf("%s: a restore that keeps failing must raise the alarm: %v", name, got)
		}
	}
	// The alarm always ends in the failure, whether or not it got through.
	if got := catches(stack.StateAlarm); !reflect.DeepEqual(got, [][2]string{{"States.ALL", stack.StateRestoreFailed}}) {
		t.Errorf("alarm catches %v", got)
	}
}

// With eventConfirmationMinutes, Validate looks for the requester's confirmation every 30 seconds
// for the whole time and a little more; the lift carries who confirmed. Without it, nothing waits.
func TestConfirmationIsWaitedFor(t *testing.T) {
	if got := definition(t)["States"].(map[string]any)[stack.StateValidate].(map[string]any)["Retry"].([]any); len(got) != 2 {
		t.Errorf("without confirmation, Validate has %d retriers", len(got))
	}
	cfg := sample
	cfg.EventConfirmMinutes = 15
	tmpl, err := cdktest.Template(awscdk.StackProps{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	states := definitionOf(t, tmpl)["States"].(map[string]any)
	retries := states[stack.StateValidate].(map[string]any)["Retry"].([]any)
	if len(retries) != 3 {
		t.Fatalf("validate retriers %v", retries)
	}
	r := retries[2].(map[string]any)
	if !reflect.DeepEqual(r["ErrorEquals"], []any{contract.ErrAwaitingConfirm}) || r["IntervalSeconds"] != float64(30) ||
		r["BackoffRate"] != float64(1) || r["MaxAttempts"] != float64(15*2+4) {
		t.Errorf("the confirmation is looked for: %v", r)
	}
	if p := states[stack.StateDetach].(map[string]any)["Parameters"].(map[string]any); p["confirmedBy.$"] != "$.confirmedBy" {
		t.Errorf("the lift does not carry who confirmed: %v", p)
	}
}

func TestStateMachineLoggingAndTracing(t *testing.T) {
	for _, sm := range resources("AWS::StepFunctions::StateMachine") {
		p := props(sm)
		if p["StateMachineType"] != "STANDARD" {
			t.Errorf("type %v", p["StateMachineType"])
		}
		lc := p["LoggingConfiguration"].(map[string]any)
		if lc["IncludeExecutionData"] != false || lc["Level"] != "ALL" {
			t.Errorf("logging %v", lc)
		}
		if tc := p["TracingConfiguration"].(map[string]any); tc["Enabled"] != true {
			t.Errorf("tracing %v", tc)
		}
	}
	for id, lg := range resources("AWS::Logs::LogGroup") {
		if props(lg)["RetentionInDays"] == nil {
			t.Errorf("%s keeps logs forever", id)
		}
	}
}

// A misspelt key in the configuration file or the context stops synthesis, naming it.
func TestReadConfigRefusesAMisspeltKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rootwindow.json")
	if err := os.WriteFile(path, []byte(`{"guardrailPolicyId":"p-rootguard01","adminPrincipals":["a"],"notificationEmial":"ops@example.com"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := stack.ReadConfig(awscdk.NewApp(nil), path)
	if err == nil || !strings.Contains(err.Error(), `"notificationEmial" is not a configuration key (did you mean "notificationEmail"?)`) {
		t.Errorf("file: %v", err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{
		"guardrailPolicyId": "p-rootguard01", "adminPrincipal": "a", "@aws-cdk/core:someFlag": true,
	}})
	_, err = stack.ReadConfig(app, "")
	if err == nil || !strings.Contains(err.Error(), `"adminPrincipal" is not a configuration key (did you mean "adminPrincipals"?)`) {
		t.Errorf("context: %v", err)
	}
	good, err := stack.ReadConfig(awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{"guardrailPolicyId": "p-rootguard01", "adminPrincipals": "a", "organizationId": "o-exampleorg1"}}), "")
	if err != nil || good.GuardrailPolicyID != "p-rootguard01" {
		t.Errorf("good context: %+v, %v", good, err)
	}
}

// The ledger's items can be written only by rootwindow's function roles: a Deny for everyone
// else in the table's own resource policy.
func TestLedgerIsWrittenOnlyByRootwindow(t *testing.T) {
	_, table := one(t, "AWS::DynamoDB::Table")
	rp, ok := props(table)["ResourcePolicy"].(map[string]any)
	if !ok {
		t.Fatal("the ledger table has no resource policy")
	}
	b, _ := json.Marshal(rp["PolicyDocument"])
	doc := string(b)
	for _, want := range []string{`"Effect":"Deny"`, `"Principal":{"AWS":"*"}`, `"dynamodb:PutItem"`, `"dynamodb:UpdateItem"`,
		`"dynamodb:DeleteItem"`, `"dynamodb:BatchWriteItem"`, `"dynamodb:PartiQLUpdate"`, `"ArnNotEquals":{"aws:PrincipalArn":[`} {
		if !strings.Contains(doc, want) {
			t.Errorf("ledger policy %s lacks %s", doc, want)
		}
	}
	// Exactly the five functions' roles may write.
	roles := 0
	for id := range resources("AWS::IAM::Role") {
		if strings.HasPrefix(id, "Functions") && strings.Contains(doc, `"`+id+`","Arn"`) {
			roles++
		}
	}
	if roles != 5 {
		t.Errorf("%d function roles exempt, want 5: %s", roles, doc)
	}
}

// Only principals of the administrators' accounts, in the configured organization, may call the
// API: the synthesized resource policy evaluated with pkg/policy for callers of each kind.
func TestAPIAdmitsOnlyTheAdministratorsAccounts(t *testing.T) {
	_, api := one(t, "AWS::ApiGateway::RestApi")
	b, _ := json.Marshal(props(api)["Policy"])
	doc, err := policy.Parse(b)
	if err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	call := func(account, org string) policy.Effect {
		who := "arn:aws:sts::" + account + ":assumed-role/AWSReservedSSO_AdministratorAccess_abc/alice@example.com"
		// API Gateway reads the policy's execute-api:/… as this API's own ARN.
		return doc.Evaluate(policy.Request{Principal: who, Action: "execute-api:Invoke", Resource: "execute-api:/v1/POST/requests",
			Context: map[string][]string{"aws:PrincipalArn": {who}, "aws:PrincipalAccount": {account}, "aws:PrincipalOrgID": {org}}})
	}
	for _, tt := range []struct {
		name, account, org string
		want               policy.Effect
	}{
		{"an administrator's account (the sample's adminPrincipals)", "999999999999", "o-exampleorg1", policy.Allow},
		{"another account of the organization", "111111111111", "o-exampleorg1", policy.Deny},
		{"another organization", "999999999999", "o-someoneelse", policy.Deny},
		{"no organization", "222222222222", "", policy.Deny},
	} {
		if got := call(tt.account, tt.org); got != tt.want {
			t.Errorf("%s: %v, want %v (%s)", tt.name, got, tt.want, b)
		}
	}
	// With an administrator named rather than by ARN, every account of the organization may call.
	cfg := sample
	cfg.AdminPrincipals = []string{"arn:aws:sts::999999999999:assumed-role/Admin/x", "ops@example.com"}
	tmpl, err := cdktest.Template(awscdk.StackProps{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tmpl["Resources"].(map[string]any) {
		if r.(map[string]any)["Type"] == "AWS::ApiGateway::RestApi" {
			b, _ := json.Marshal(r.(map[string]any)["Properties"].(map[string]any)["Policy"])
			if strings.Contains(string(b), "aws:PrincipalAccount") || !strings.Contains(string(b), "aws:PrincipalOrgID") {
				t.Errorf("names among the administrators: %s", b)
			}
		}
	}
}

// Every method has its own throttle (a loop on one cannot starve the verbs with deadlines), and
// API Gateway's console cannot test-invoke the function around SigV4 and the resource policy.
func TestEachMethodHasItsOwnThrottleAndNoTestInvoke(t *testing.T) {
	_, stage := one(t, "AWS::ApiGateway::Stage")
	settings := map[string]bool{}
	for _, m := range props(stage)["MethodSettings"].([]any) {
		ms := m.(map[string]any)
		if ms["ThrottlingRateLimit"] == nil || ms["ThrottlingBurstLimit"] == nil {
			t.Errorf("a method setting without limits: %v", ms)
		}
		settings[fmt.Sprint(ms["HttpMethod"], " ", ms["ResourcePath"])] = true
	}
	for _, want := range []string{"POST /~1requests", "GET /~1requests", "GET /~1requests~1{id}", "POST /~1requests~1{id}~1end", "POST /~1requests~1{id}~1cancel",
		"POST /~1requests~1{id}~1confirm", "POST /~1requests~1{id}~1approve", "POST /~1requests~1{id}~1deny", "POST /~1subscriptions"} {
		if !settings[want] {
			t.Errorf("no throttle of its own for %s: %v", want, settings)
		}
	}
	for id, p := range resources("AWS::Lambda::Permission") {
		if b, _ := json.Marshal(props(p)["SourceArn"]); strings.Contains(string(b), "test-invoke-stage") {
			t.Errorf("%s lets the console test-invoke the function: %s", id, b)
		}
	}
}

// Validate tells the doors apart by who started an execution: it knows the request rule's role
// and the api function's role, and may look up CloudTrail's event history.
func TestValidateKnowsTheDoorsRoles(t *testing.T) {
	var env map[string]any
	for id, fn := range resources("AWS::Lambda::Function") {
		if strings.HasPrefix(id, "FunctionsValidate") {
			env = props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
		}
	}
	events, _ := json.Marshal(env[contract.EnvEventsRoleARN])
	api, _ := json.Marshal(env[contract.EnvAPIRoleARN])
	if !strings.Contains(string(events), "IntakeStartRole") || !strings.Contains(string(api), "FunctionsApiRole") {
		t.Errorf("events role %s, api role %s", events, api)
	}
	for id, rule := range resources("AWS::Events::Rule") {
		b, _ := json.Marshal(props(rule)["Targets"])
		if strings.Contains(string(b), "StateMachine") && !strings.Contains(string(b), "IntakeStartRole") {
			t.Errorf("%s starts executions with another role: %s", id, b)
		}
	}
	found := false
	for id, p := range resources("AWS::IAM::Policy") {
		b, _ := json.Marshal(props(p))
		if strings.Contains(string(b), "cloudtrail:LookupEvents") {
			found = true
			if !strings.HasPrefix(id, "FunctionsValidateRole") {
				t.Errorf("%s may look up CloudTrail", id)
			}
		}
	}
	if !found {
		t.Error("validate may not look up CloudTrail")
	}
}

// Deployed in a delegated administrator account, the functions' Organizations permissions name
// the management account's resources, and cdk-nag's suppressions still match.
func TestDelegatedAdministratorAccount(t *testing.T) {
	cfg := sample
	cfg.ManagementAccountID = "111122223333"
	props := awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String("444455556666"), Region: jsii.String("us-east-1")}}
	tmpl, err := cdktest.Template(props, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(tmpl["Resources"])
	if !strings.Contains(string(b), ":organizations::111122223333:policy/o-exampleorg1/service_control_policy/p-rootguard01") ||
		strings.Contains(string(b), ":organizations::444455556666:") {
		t.Error("the Organizations ARNs do not name the management account")
	}
	errs, _, err := cdktest.NagFindings(props, cfg)
	if err != nil || len(errs) > 0 {
		t.Errorf("cdk-nag: %v %v", errs, err)
	}
}

// Only the exempt strategy may rewrite the guardrail's document, and then only the guardrail's.
func TestUpdatePolicyOnlyForTheExemptStrategy(t *testing.T) {
	updates := func(tmpl map[string]any) map[string][]string {
		out := map[string][]string{}
		for role, stmts := range roleStatementsOf(t, tmpl) {
			for _, st := range stmts {
				for _, a := range asList(st["Action"]) {
					if a == "organizations:UpdatePolicy" {
						b, _ := json.Marshal(st["Resource"])
						out[role] = append(out[role], string(b))
					}
				}
			}
		}
		return out
	}
	if got := updates(template); len(got) != 0 {
		t.Errorf("detach strategy: UpdatePolicy granted to %v", got)
	}
	cfg := sample
	cfg.LiftStrategy = contract.StrategyExempt
	tmpl, err := cdktest.Template(awscdk.StackProps{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := updates(tmpl)
	if len(got) != 3 {
		t.Errorf("exempt strategy: UpdatePolicy granted to %v, want detach, reattach and sweeper", got)
	}
	for role, res := range got {
		if strings.HasPrefix(role, "FunctionsValidate") || strings.HasPrefix(role, "FunctionsApi") || len(res) != 1 || !strings.Contains(res[0], "service_control_policy/p-rootguard01") || strings.Contains(res[0], "p-*") {
			t.Errorf("%s: UpdatePolicy on %v", role, res)
		}
	}
}

// The drift scan's reads of the whole organization are the sweeper's alone (every function that
// reads the organization reads its root: which deployment claims the guardrail); its listing of
// the guardrail's targets names the guardrail.
func TestOnlyTheSweeperScansTheOrganization(t *testing.T) {
	tree := map[string]bool{"organizations:ListOrganizationalUnitsForParent": true, "organizations:ListAccountsForParent": true}
	granted := map[string][]string{}
	for role, stmts := range roleStatementsOf(t, template) {
		for _, st := range stmts {
			res, _ := json.Marshal(st["Resource"])
			for _, action := range asList(st["Action"]) {
				a, _ := action.(string)
				if tree[a] || (a == "organizations:ListTargetsForPolicy" && strings.Contains(string(res), "p-rootguard01")) {
					granted[a] = append(granted[a], role)
				}
			}
		}
	}
	for _, a := range []string{"organizations:ListOrganizationalUnitsForParent", "organizations:ListAccountsForParent", "organizations:ListTargetsForPolicy"} {
		if roles := granted[a]; len(roles) != 1 || !strings.HasPrefix(roles[0], "FunctionsSweeper") {
			t.Errorf("%s granted to %v, want the sweeper alone", a, roles)
		}
	}
}

// A request that needs an approval waits for it on a task token, at most approvalTimeoutMinutes;
// a denial or the timeout goes to the compensation, and only an approval goes on to the start.
func TestApprovalWaitsOnATaskTokenWithATimeout(t *testing.T) {
	states := definition(t)["States"].(map[string]any)
	choice := states[stack.StateNeedsApproval].(map[string]any)
	rules := choice["Choices"].([]any)
	if len(rules) != 1 || rules[0].(map[string]any)["Variable"] != "$.needsApproval" || rules[0].(map[string]any)["Next"] != stack.StateWaitApproval ||
		choice["Default"] != stack.StateStartsLater {
		t.Errorf("choice %v", choice)
	}
	if states[stack.StateValidate].(map[string]any)["Next"] != stack.StateNeedsApproval {
		t.Error("validation does not go to the approval's choice")
	}
	wait := states[stack.StateWaitApproval].(map[string]any)
	params := wait["Parameters"].(map[string]any)
	payload := params["Payload"].(map[string]any)
	if !strings.HasSuffix(wait["Resource"].(string), ":states:::lambda:invoke.waitForTaskToken") || payload["approvalToken.$"] != "$$.Task.Token" ||
		payload["execution.$"] != "$$.Execution.Name" || !strings.Contains(fmt.Sprint(params["FunctionName"]), "FunctionsValidate") {
		t.Errorf("the wait does not hand its task token to validate: %v %v", wait["Resource"], params)
	}
	if wait["TimeoutSeconds"] != float64(60*60) || wait["ResultPath"] != "$.approval" || wait["Next"] != stack.StateStartsLater {
		t.Errorf("timeout %v, result %v, next %v", wait["TimeoutSeconds"], wait["ResultPath"], wait["Next"])
	}
	catch := wait["Catch"].([]any)
	if len(catch) != 1 || catch[0].(map[string]any)["Next"] != stack.StateCompensate || fmt.Sprint(catch[0].(map[string]any)["ErrorEquals"]) != "[States.ALL]" {
		t.Errorf("catch %v", catch)
	}
	for _, r := range wait["Retry"].([]any) {
		if errs := fmt.Sprint(r.(map[string]any)["ErrorEquals"]); strings.Contains(errs, "States.Timeout") || strings.Contains(errs, "ALL") || strings.Contains(errs, contract.ErrApprovalDenied) {
			t.Errorf("a timeout or a denial would be retried: %v", errs)
		}
	}
}

// sts:AssumeRoot is granted only with centralized root access configured, only for the audit task
// policy at booking and the create-password one at the lift, and never another.
func TestAssumeRootOnlyForItsTaskPolicies(t *testing.T) {
	grants := func(tmpl map[string]any) map[string]string {
		out := map[string]string{}
		for role, stmts := range roleStatementsOf(t, tmpl) {
			for _, st := range stmts {
				for _, a := range asList(st["Action"]) {
					if a == "sts:AssumeRoot" {
						b, _ := json.Marshal(st["Condition"])
						out[role] = string(b)
					}
				}
			}
		}
		return out
	}
	if got := grants(template); len(got) != 0 {
		t.Errorf("without centralized root access: %v", got)
	}
	cfg := sample
	cfg.CentralizedRoot, cfg.PrepareRootSignIn = true, true
	tmpl, err := cdktest.Template(awscdk.StackProps{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := grants(tmpl)
	if len(got) != 4 {
		t.Fatalf("granted to %v", got)
	}
	if errs, _, err := cdktest.NagFindings(awscdk.StackProps{}, cfg); err != nil || len(errs) > 0 {
		t.Errorf("cdk-nag: %v %v", errs, err)
	}
	for role, cond := range got {
		want := "root-task/IAMAuditRootUserCredentials"
		switch {
		case strings.HasPrefix(role, "FunctionsDetach"):
			want = "root-task/IAMCreateRootUserPassword"
		case strings.HasPrefix(role, "FunctionsSweeper"): // the password deleted again after the window
			want = "root-task/IAMDeleteRootUserCredentials"
		}
		if !strings.Contains(cond, `"sts:TaskPolicyArn"`) || !strings.Contains(cond, want) || strings.Count(cond, "root-task/") != 1 {
			t.Errorf("%s: %s", role, cond)
		}
	}
}

// Only the sweeper may query CloudTrail Lake, only the event data store configured, and only when
// one is: nothing without trailEventDataStoreArn.
func TestOnlyTheSweeperQueriesTheEventDataStore(t *testing.T) {
	const store = "arn:aws:cloudtrail:us-east-1:999999999999:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"
	grants := func(tmpl map[string]any) map[string]string {
		out := map[string]string{}
		for role, stmts := range roleStatementsOf(t, tmpl) {
			for _, st := range stmts {
				for _, action := range asList(st["Action"]) {
					if a := action.(string); strings.HasPrefix(a, "cloudtrail:") && a != "cloudtrail:LookupEvents" {
						res, _ := json.Marshal(st["Resource"])
						out[role+" "+a] = string(res)
					}
				}
			}
		}
		return out
	}
	if got := grants(template); len(got) != 0 {
		t.Errorf("without an event data store: %v", got)
	}
	cfg := sample
	cfg.TrailEventDataStore = store
	tmpl, err := cdktest.Template(awscdk.StackProps{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := grants(tmpl)
	if len(got) != 2 {
		t.Fatalf("granted %v", got)
	}
	for k, res := range got {
		if !strings.HasPrefix(k, "FunctionsSweeper") || res != `"`+store+`"` {
			t.Errorf("%s on %s", k, res)
		}
	}
	if errs, _, err := cdktest.NagFindings(awscdk.StackProps{}, cfg); err != nil || len(errs) > 0 {
		t.Errorf("cdk-nag: %v %v", errs, err)
	}
	// Or the log group an organization trail delivers to: StartQuery on it, GetQueryResults
	// (which names no resource), the sweeper alone.
	cfg = sample
	cfg.TrailLogGroup = "arn:aws:logs:us-east-1:999999999999:log-group:aws-cloudtrail-logs-o-exampleorg1:*"
	if tmpl, err = cdktest.Template(awscdk.StackProps{}, cfg); err != nil {
		t.Fatal(err)
	}
	logs := map[string]string{}
	for role, stmts := range roleStatementsOf(t, tmpl) {
		for _, st := range stmts {
			for _, action := range asList(st["Action"]) {
				if a := action.(string); a == "logs:StartQuery" || a == "logs:GetQueryResults" {
					res, _ := json.Marshal(st["Resource"])
					logs[role+" "+a] = string(res)
				}
			}
		}
	}
	if len(logs) != 2 {
		t.Fatalf("granted %v", logs)
	}
	for k, res := range logs {
		if !strings.HasPrefix(k, "FunctionsSweeper") || (strings.HasSuffix(k, "StartQuery") && !strings.Contains(res, "log-group:aws-cloudtrail-logs-o-exampleorg1")) {
			t.Errorf("%s on %s", k, res)
		}
	}
	if errs, _, err := cdktest.NagFindings(awscdk.StackProps{}, cfg); err != nil || len(errs) > 0 {
		t.Errorf("cdk-nag with a log group: %v %v", errs, err)
	}
}

// A change to any of rootwindow's own resources reaches the sweeper: a rule per kind of resource
// on CloudTrail's API call events, each naming rootwindow's resources (not every resource of the
// account), each within EventBridge's 2,048 characters an event pattern, each targeting the
// sweeper; the sweeper knows the deployment role, whose changes are deployments; ResourcesChanged
// alarms.
func TestChangesToRootwindowsResourcesReachTheSweeper(t *testing.T) {
	watched := map[string]string{}
	for id, r := range resources("AWS::Events::Rule") {
		p := props(r)
		pattern, _ := json.Marshal(p["EventPattern"])
		if !strings.Contains(string(pattern), "AWS API Call via CloudTrail") || strings.Contains(string(pattern), "organizations") {
			continue
		}
		targets, _ := json.Marshal(p["Targets"])
		if !strings.Contains(string(targets), "FunctionsSweeper") {
			t.Errorf("%s does not target the sweeper: %s", id, targets)
		}
		var ep struct {
			Source []string
			Detail struct {
				RequestParameters map[string]json.RawMessage `json:"requestParameters"`
			} `json:"detail"`
		}
		if err := json.Unmarshal(pattern, &ep); err != nil || len(ep.Detail.RequestParameters) != 1 {
			t.Errorf("%s: %s", id, pattern)
			continue
		}
		for param, values := range ep.Detail.RequestParameters {
			watched[ep.Source[0]+" "+param] = string(values)
		}
	}
	for _, want := range []struct{ key, names string }{
		{"aws.lambda functionName", "FunctionsValidate"}, {"aws.lambda functionName", "FunctionsSweeper"},
		{"aws.states stateMachineArn", "WorkflowStateMachine"}, {"aws.dynamodb resourceArn", "LedgerTable"}, {"aws.dynamodb tableName", "LedgerTable"},
		{"aws.events name", `"RootWindow-"`}, {"aws.events rule", `"RootWindow-"`}, {"aws.events eventBusName", "IntakeBus"},
		{"aws.sns topicArn", "NotificationsTopic"}, {"aws.kms keyId", "NotificationsTopicKey"},
		{"aws.iam roleName", "FunctionsDetachRole"}, {"aws.iam roleName", "WorkflowStateMachineRole"},
	} {
		if !strings.Contains(watched[want.key], want.names) {
			t.Errorf("no rule watches %s of %s: %q", want.key, want.names, watched[want.key])
		}
	}
	// Each pattern as deployed (its references resolved to names of at most 140 characters).
	for id, r := range resources("AWS::Events::Rule") {
		pattern, _ := json.Marshal(props(r)["EventPattern"])
		if n := len(pattern); n > 2048 {
			t.Errorf("%s: an event pattern of %d characters before its references resolve", id, n)
		}
	}
}

// The ledger and the state machine's executions are encrypted with a customer managed key, kept
// with the table and rotated, which the account administers but whose use its policy, evaluated
// with pkg/policy, gives only to those who need it: the ledger's principals through DynamoDB; the
// state machine's role for this account's state machines (never through kms:ViaService, which
// would fail executions) and its log deliveries; rootwindow's functions that read an execution's
// input, the break-glass role and the auditors through Step Functions; the deployment, which
// creates the table and the state machine. An administrator of the account, or a function that
// reads no execution, may not decrypt either.
func TestTheLedgerAndTheExecutionsAreEncryptedWithAKeyOnlyTheirPrincipalsUse(t *testing.T) {
	cfg := sample
	cfg.LedgerBreakGlassRole = "arn:aws:iam::999999999999:role/BreakGlass"
	cfg.LedgerAuditorRoles = []string{"arn:aws:iam::999999999999:role/Auditor"}
	tmpl, err := cdktest.Template(awscdk.StackProps{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var keyID string
	var key map[string]any
	roles := map[string]string{} // role logical ID prefix → its ARN, as cdktest resolves it
	for id, r := range tmpl["Resources"].(map[string]any) {
		switch res := r.(map[string]any); {
		case res["Type"] == "AWS::KMS::Key" && strings.HasPrefix(id, "LedgerKey"):
			keyID, key = id, res
		case res["Type"] == "AWS::IAM::Role":
			roles[strings.TrimRight(id, "0123456789ABCDEF")] = cdktest.ARNOf(tmpl, id)
		}
	}
	if key == nil {
		t.Fatal("no ledger key")
	}
	if key["DeletionPolicy"] != "Retain" || props(key)["EnableKeyRotation"] != true {
		t.Errorf("key kept %v, rotated %v", key["DeletionPolicy"], props(key)["EnableKeyRotation"])
	}
	encrypted := 0
	for id, r := range tmpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		var setting []byte
		switch res["Type"] {
		case "AWS::DynamoDB::Table":
			setting, _ = json.Marshal(props(res)["SSESpecification"])
			if !strings.Contains(string(setting), `"SSEType":"KMS"`) {
				t.Errorf("%s is encrypted with %s", id, setting)
			}
		case "AWS::StepFunctions::StateMachine":
			setting, _ = json.Marshal(props(res)["EncryptionConfiguration"])
			if !strings.Contains(string(setting), `"Type":"CUSTOMER_MANAGED_KMS_KEY"`) {
				t.Errorf("%s is encrypted with %s", id, setting)
			}
		default:
			continue
		}
		if !strings.Contains(string(setting), `"Fn::GetAtt":["`+keyID+`","Arn"]`) {
			t.Errorf("%s is not encrypted with the ledger's key: %s", id, setting)
		}
		encrypted++
	}
	if encrypted != 2 {
		t.Errorf("%d resources under the key, want the table and the state machine", encrypted)
	}
	raw, _ := json.Marshal(cdktest.Resolve(tmpl, props(key)["KeyPolicy"]))
	doc, err := policy.Parse(raw)
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	const (
		account       = "999999999999"
		stateMachine  = "arn:aws:states:us-east-1:999999999999:stateMachine:WorkflowStateMachine2E01A3A5-a1b2c3d4e5f6"
		admin         = "arn:aws:iam::999999999999:role/AdministratorAccess"
		breakGlass    = "arn:aws:iam::999999999999:role/BreakGlass"
		auditor       = "arn:aws:iam::999999999999:role/Auditor"
		deployment    = "arn:aws:iam::999999999999:role/cdk-hnb659fds-cfn-exec-role-999999999999-us-east-1"
		logDelivery   = "delivery.logs.amazonaws.com"
		viaStates     = "states.us-east-1.amazonaws.com"
		viaDynamoDB   = "dynamodb.us-east-1.amazonaws.com"
		executionsKey = "kms:EncryptionContext:aws:states:stateMachineArn"
	)
	role := func(prefix string) string {
		arn, ok := roles[prefix]
		if !ok {
			t.Fatalf("no role %s among %v", prefix, roles)
		}
		return arn
	}
	sm, validate, detach, reattach, sweeper, api := role("WorkflowStateMachineRole"), role("FunctionsValidateRole"), role("FunctionsDetachRole"),
		role("FunctionsReattachRole"), role("FunctionsSweeperRole"), role("FunctionsApiRole")
	via := func(service string) map[string][]string {
		return map[string][]string{"kms:ViaService": {service}, "kms:CallerAccount": {account}}
	}
	for _, tt := range []struct {
		who, action string
		context     map[string][]string
		allowed     bool
	}{
		{sm, "kms:GenerateDataKey", map[string][]string{executionsKey: {stateMachine}}, true},
		{sm, "kms:Decrypt", map[string][]string{executionsKey: {stateMachine}}, true},
		{sm, "kms:Decrypt", map[string][]string{executionsKey: {"arn:aws:states:us-east-1:111111111111:stateMachine:Theirs"}}, false},
		{sm, "kms:Decrypt", nil, false},
		{sm, "kms:GenerateDataKey", map[string][]string{"kms:EncryptionContext:SourceArn": {"arn:aws:logs:us-east-1:999999999999:log-group:x"}}, true},
		{logDelivery, "kms:Decrypt", nil, true},
		{logDelivery, "kms:Decrypt", map[string][]string{"aws:SourceAccount": {account}}, true},
		{logDelivery, "kms:Decrypt", map[string][]string{"aws:SourceAccount": {"111111111111"}}, false},
		{logDelivery, "kms:GenerateDataKey", nil, false},
		{validate, "kms:Decrypt", via(viaStates), true},
		{detach, "kms:Decrypt", via(viaStates), true},
		{reattach, "kms:Decrypt", via(viaStates), true},
		{sweeper, "kms:Decrypt", via(viaStates), true},
		{breakGlass, "kms:Decrypt", via(viaStates), true},
		{auditor, "kms:Decrypt", via(viaStates), true},
		{sweeper, "kms:Decrypt", nil, false},
		{sweeper, "kms:GenerateDataKey", via(viaStates), false},
		{api, "kms:Decrypt", via(viaStates), false},
		{admin, "kms:Decrypt", via(viaStates), false},
		{deployment, "kms:GenerateDataKey", via(viaStates), true},
		{deployment, "kms:DescribeKey", via(viaStates), true},
		// The ledger's items, through DynamoDB.
		{api, "kms:GenerateDataKey", via(viaDynamoDB), true},
		{breakGlass, "kms:Decrypt", via(viaDynamoDB), true},
		{auditor, "kms:Decrypt", via(viaDynamoDB), true},
		{deployment, "kms:CreateGrant", via(viaDynamoDB), true},
		{admin, "kms:Decrypt", via(viaDynamoDB), false},
		{sm, "kms:Decrypt", via(viaDynamoDB), false},
		{api, "kms:Decrypt", nil, false},
	} {
		got := doc.Evaluate(policy.Request{Principal: tt.who, Action: tt.action, Resource: "*", Context: tt.context}) == policy.Allow
		if got != tt.allowed {
			t.Errorf("%s %s %v: allowed %v, want %v", tt.who, tt.action, tt.context, got, tt.allowed)
		}
	}
}

// Only the api function may subscribe to the operators' topic (a requester's own, filtered
// subscription), and only to that topic.
func TestOnlyTheAPISubscribes(t *testing.T) {
	var roles []string
	for role, stmts := range roleStatementsOf(t, template) {
		for _, st := range stmts {
			for _, action := range asList(st["Action"]) {
				if action == "sns:Subscribe" {
					res, _ := json.Marshal(st["Resource"])
					if !strings.Contains(string(res), "NotificationsTopic") || strings.Contains(string(res), "*") {
						t.Errorf("%s subscribes to %s", role, res)
					}
					roles = append(roles, role)
				}
			}
		}
	}
	if len(roles) != 1 || !strings.HasPrefix(roles[0], "FunctionsApi") {
		t.Errorf("sns:Subscribe granted to %v", roles)
	}
}

// Each function's role allows every Organizations operation the function calls
// (contract.OrganizationsCalls, which pkg/window's tests check the functions' calls against):
// a call its role lacks fails only in AWS. UpdatePolicy is granted only under exempt and auto.
func TestEachRoleAllowsTheOrganizationsCallsItsFunctionMakes(t *testing.T) {
	for _, strategy := range []string{contract.StrategyDetach, contract.StrategyExempt} {
		cfg := sample
		cfg.LiftStrategy = strategy
		tmpl, err := cdktest.Template(awscdk.StackProps{}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		allowed := map[string][]string{} // role logical ID → Allow actions
		for _, r := range tmpl["Resources"].(map[string]any) {
			res := r.(map[string]any)
			if res["Type"] != "AWS::IAM::Policy" {
				continue
			}
			p := res["Properties"].(map[string]any)
			for _, role := range asList(p["Roles"]) {
				id := role.(map[string]any)["Ref"].(string)
				for _, st := range asList(p["PolicyDocument"].(map[string]any)["Statement"]) {
					s := st.(map[string]any)
					if s["Effect"] != "Allow" {
						continue
					}
					for _, a := range asList(s["Action"]) {
						allowed[id] = append(allowed[id], a.(string))
					}
				}
			}
		}
		for fn, ops := range contract.OrganizationsCalls {
			var actions []string
			for id, a := range allowed {
				if strings.HasPrefix(strings.ToLower(id), "functions"+fn+"role") {
					actions = a
				}
			}
			if actions == nil {
				t.Fatalf("%s: no role found for %s", strategy, fn)
			}
			for _, op := range ops {
				if op == "UpdatePolicy" && strategy == contract.StrategyDetach {
					continue
				}
				if !slices.Contains(actions, "organizations:"+op) {
					t.Errorf("%s: the %s function calls %s, which its role does not allow", strategy, fn, op)
				}
			}
		}
	}
}

// With identityStoreId, the functions that check owners (validate and api at booking, detach at
// the lift) may ask the one configured identity store who is in a group, read-only; without it,
// no role may ask any.
func TestOwnersByGroupAskOnlyTheConfiguredIdentityStore(t *testing.T) {
	asking := func(tmpl map[string]any) map[string]string {
		out := map[string]string{}
		for role, stmts := range roleStatementsOf(t, tmpl) {
			for _, st := range stmts {
				for _, action := range asList(st["Action"]) {
					if a, _ := action.(string); strings.HasPrefix(a, "identitystore:") {
						res, _ := json.Marshal(st["Resource"])
						out[role] += a + " " + string(res) + "\n"
					}
				}
			}
		}
		return out
	}
	if got := asking(template); len(got) != 0 {
		t.Errorf("without identityStoreId: %v", got)
	}
	cfg := sample
	cfg.IdentityStoreID, cfg.ManagementAccountID = "d-1234567890", "123456789012"
	tmpl, err := cdktest.Template(awscdk.StackProps{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := asking(tmpl)
	var roles []string
	for role, grants := range got {
		for _, fn := range []string{"FunctionsApi", "FunctionsDetach", "FunctionsValidate", "FunctionsReattach", "FunctionsSweeper"} {
			if strings.HasPrefix(role, fn) {
				roles = append(roles, fn)
			}
		}
		if strings.Count(grants, "\n") != 2 || !strings.Contains(grants, "identitystore:GetUserId") || !strings.Contains(grants, "identitystore:IsMemberInGroups") {
			t.Errorf("%s may: %s", role, grants)
		}
		if !strings.Contains(grants, ":identitystore::123456789012:identitystore/d-1234567890") || strings.Contains(grants, `"*"`) {
			t.Errorf("%s asks beyond the configured identity store: %s", role, grants)
		}
	}
	slices.Sort(roles)
	if strings.Join(roles, " ") != "FunctionsApi FunctionsDetach FunctionsValidate" {
		t.Errorf("asking the identity store: %v", roles)
	}
	if errs, _, err := cdktest.NagFindings(awscdk.StackProps{}, cfg); err != nil || len(errs) > 0 {
		t.Errorf("cdk-nag: %v %v", errs, err)
	}
}

// With notificationEmail, only the sweeper may read the operators' topic's subscriptions (to check
// the operators' email hears of what rootwindow announces), and only that topic's; without it,
// no role may.
func TestOnlyTheSweeperChecksTheOperatorsSubscription(t *testing.T) {
	cfg := sample
	cfg.NotificationEmail = "ops@example.com"
	tmpl, err := cdktest.Template(awscdk.StackProps{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for role, stmts := range roleStatementsOf(t, template) {
		for _, st := range stmts {
			if slices.Contains(asList(st["Action"]), any("sns:ListSubscriptionsByTopic")) {
				t.Errorf("without notificationEmail, %s reads subscriptions", role)
			}
		}
	}
	var roles []string
	for role, stmts := range roleStatementsOf(t, tmpl) {
		for _, st := range stmts {
			for _, action := range asList(st["Action"]) {
				if action == "sns:ListSubscriptionsByTopic" || action == "sns:GetSubscriptionAttributes" {
					res, _ := json.Marshal(st["Resource"])
					if !strings.Contains(string(res), "NotificationsTopic") || strings.Contains(string(res), "*") {
						t.Errorf("%s reads subscriptions of %s", role, res)
					}
					roles = append(roles, role)
				}
			}
		}
	}
	if len(roles) != 2 || !strings.HasPrefix(roles[0], "FunctionsSweeper") || !strings.HasPrefix(roles[1], "FunctionsSweeper") {
		t.Errorf("subscriptions read by %v", roles)
	}
}

// With centralized root access and a source of root activity, the sweeper knows every role of
// rootwindow's that may open a root session (exactly those granted sts:AssumeRoot), and may look
// up their AssumeRoot calls in CloudTrail's event history; no other function but validate looks
// CloudTrail up.
func TestTheSweeperKnowsRootwindowsOwnRootSessions(t *testing.T) {
	cfg := sample
	cfg.CentralizedRoot, cfg.PrepareRootSignIn = true, true
	cfg.TrailLogGroup = "arn:aws:logs:us-east-1:999999999999:log-group:aws-cloudtrail-logs-o-exampleorgid:*"
	tmpl, err := cdktest.Template(awscdk.StackProps{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var assumesRoot, looksUp []string
	for role, stmts := range roleStatementsOf(t, tmpl) {
		for _, st := range stmts {
			for _, a := range asList(st["Action"]) {
				switch a {
				case "sts:AssumeRoot":
					assumesRoot = append(assumesRoot, strings.TrimRight(role, "0123456789ABCDEF"))
				case "cloudtrail:LookupEvents":
					looksUp = append(looksUp, strings.TrimRight(role, "0123456789ABCDEF"))
				}
			}
		}
	}
	slices.Sort(looksUp)
	if len(assumesRoot) != 4 || strings.Join(looksUp, " ") != "FunctionsSweeperRole FunctionsValidateRole" {
		t.Errorf("sts:AssumeRoot granted to %v, cloudtrail:LookupEvents to %v", assumesRoot, looksUp)
	}
	for id, r := range tmpl["Resources"].(map[string]any) {
		fn := r.(map[string]any)
		if fn["Type"] != "AWS::Lambda::Function" || !strings.HasPrefix(id, "FunctionsSweeper") {
			continue
		}
		known, _ := json.Marshal(props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)[contract.EnvRootSessionRoleARNs])
		if n := strings.Count(string(known), "Fn::GetAtt"); n != len(assumesRoot) {
			t.Errorf("the sweeper knows %d roles, %d may assume root: %s", n, len(assumesRoot), known)
		}
		for _, role := range assumesRoot {
			if !strings.Contains(string(known), role) {
				t.Errorf("the sweeper does not know %s opens root sessions: %s", role, known)
			}
		}
	}
	if errs, _, err := cdktest.NagFindings(awscdk.StackProps{}, cfg); err != nil || len(errs) > 0 {
		t.Errorf("cdk-nag: %v %v", errs, err)
	}
}
