package stack_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/rootwindow/rootwindow/infra/stack"
	"github.com/rootwindow/rootwindow/pkg/contract"
)

func TestSafetyNetRules(t *testing.T) {
	var status, schedule map[string]any
	for _, r := range resources("AWS::Events::Rule") {
		p := props(r)
		pattern, _ := json.Marshal(p["EventPattern"])
		switch {
		case p["ScheduleExpression"] != nil:
			schedule = p
		case p["EventBusName"] == nil && strings.Contains(string(pattern), `"aws.states"`) && strings.Contains(string(pattern), contract.DetailTypeStatusChange):
			status = p
		}
	}
	if status == nil || schedule == nil {
		t.Fatal("no status-change rule or no schedule")
	}
	pattern := status["EventPattern"].(map[string]any)
	detail := pattern["detail"].(map[string]any)
	if !reflect.DeepEqual(pattern["source"], []any{"aws.states"}) || !reflect.DeepEqual(pattern["detail-type"], []any{contract.DetailTypeStatusChange}) ||
		!reflect.DeepEqual(detail["status"], []any{"FAILED", "TIMED_OUT", "ABORTED"}) {
		t.Errorf("status-change pattern %v", pattern)
	}
	if sm, _ := json.Marshal(detail["stateMachineArn"]); !strings.Contains(string(sm), "WorkflowStateMachine") {
		t.Errorf("the rule is not for this state machine: %s", sm)
	}
	if schedule["ScheduleExpression"] != "rate(5 minutes)" {
		t.Errorf("schedule %v", schedule["ScheduleExpression"])
	}
	for name, rule := range map[string]map[string]any{"status": status, "schedule": schedule} {
		targets := rule["Targets"].([]any)
		target := targets[0].(map[string]any)
		arn, _ := json.Marshal(target["Arn"])
		if len(targets) != 1 || !strings.Contains(string(arn), "FunctionsSweeper") || target["DeadLetterConfig"] == nil {
			t.Errorf("%s rule targets %v", name, targets)
		}
	}
}

func TestExecutionTimeout(t *testing.T) {
	for _, sm := range resources("AWS::StepFunctions::StateMachine") {
		// The definition carries TimeoutSeconds: an hour for an approval + booking horizon (7 days)
		// + 4 h window + 4 h for the restore.
		def, _ := json.Marshal(props(sm)["DefinitionString"])
		if !strings.Contains(string(def), `\"TimeoutSeconds\":637200,`) {
			t.Errorf("no timeout of 1 h + 7 d + 8 h in %s", def[:200])
		}
	}
	if got := *stack.ExecutionTimeout(30, 0).ToHours(nil); got != 30*24+8 {
		t.Errorf("30-day horizon: %v h", got)
	}
}

func TestAlarmsGoToTheOperatorsTopic(t *testing.T) {
	topicID, _ := one(t, "AWS::SNS::Topic")
	metrics := map[string]bool{}
	for id, a := range resources("AWS::CloudWatch::Alarm") {
		p := props(a)
		actions, _ := json.Marshal(p["AlarmActions"])
		if !strings.Contains(string(actions), topicID) {
			t.Errorf("%s: actions %s", id, actions)
		}
		if p["Threshold"] != float64(1) || p["TreatMissingData"] != "notBreaching" {
			t.Errorf("%s: threshold %v, missing data %v", id, p["Threshold"], p["TreatMissingData"])
		}
		metrics[p["MetricName"].(string)] = true
	}
	for _, m := range []string{contract.MetricUnexpectedStop, "ExecutionsTimedOut", contract.MetricUnexpectedFailure, contract.MetricRestoreFailed,
		contract.MetricDriftDetected, contract.MetricLedgerTampered, contract.MetricGuardrailChanged, contract.MetricWindowCutShort, contract.MetricOperatorsUnreachable, contract.MetricBreakGlassUnreviewed, contract.MetricRootOutsideWindow, "Errors", "ApproximateNumberOfMessagesVisible"} {
		if !metrics[m] {
			t.Errorf("no alarm on %s: %v", m, metrics)
		}
	}
}

func TestTopicIsEncryptedAndPublishersMayUseTheKey(t *testing.T) {
	var keyID string
	var key map[string]any
	for id, k := range resources("AWS::KMS::Key") {
		if strings.HasPrefix(id, "NotificationsTopicKey") {
			keyID, key = id, k
		}
	}
	if key == nil {
		t.Fatal("no topic key")
	}
	if props(key)["EnableKeyRotation"] != true {
		t.Error("key rotation off")
	}
	kp, _ := json.Marshal(props(key)["KeyPolicy"])
	if !strings.Contains(string(kp), "cloudwatch.amazonaws.com") {
		t.Errorf("CloudWatch alarms cannot publish to the encrypted topic: %s", kp)
	}
	_, topic := one(t, "AWS::SNS::Topic")
	if mk, _ := json.Marshal(props(topic)["KmsMasterKeyId"]); !strings.Contains(string(mk), keyID) {
		t.Errorf("topic key %s", mk)
	}
	for role, stmts := range roleStatements(t) {
		if !strings.HasPrefix(role, "Functions") {
			continue
		}
		found := false
		for _, s := range stmts {
			b, _ := json.Marshal(s)
			if strings.Contains(string(b), "kms:GenerateDataKey") && strings.Contains(string(b), keyID) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s cannot encrypt for the topic", role)
		}
	}
}

// A rescue that fails inside the sweeper after Lambda's retries lands in the alarmed dead-letter
// queue instead of being dropped.
func TestRescueFailuresGoToTheDeadLetterQueue(t *testing.T) {
	_, cfg := one(t, "AWS::Lambda::EventInvokeConfig")
	p := props(cfg)
	dest, _ := json.Marshal(p["DestinationConfig"])
	queueID, _ := one(t, "AWS::SQS::Queue")
	if !strings.Contains(string(dest), `"OnFailure"`) || !strings.Contains(string(dest), queueID) {
		t.Errorf("on-failure destination %s, want the dead-letter queue %s", dest, queueID)
	}
	fn, _ := json.Marshal(p["FunctionName"])
	if !strings.Contains(string(fn), "Sweeper") {
		t.Errorf("async invoke config for %s, want the sweeper", fn)
	}
}

// A change to the guardrail made outside rootwindow (its document, its attachments) is checked at
// once: Organizations' CloudTrail events for the guardrail go to the sweeper.
func TestGuardrailChangesGoToTheSweeper(t *testing.T) {
	found := false
	for id, r := range resources("AWS::Events::Rule") {
		p := props(r)
		pattern, _ := json.Marshal(p["EventPattern"])
		if !strings.Contains(string(pattern), `"aws.organizations"`) {
			continue
		}
		found = true
		for _, want := range []string{`"detail-type":["AWS API Call via CloudTrail"]`, `"UpdatePolicy"`, `"DeletePolicy"`, `"DetachPolicy"`, `"AttachPolicy"`,
			`"requestParameters":{"policyId":["p-rootguard01"]}`} {
			if !strings.Contains(string(pattern), want) {
				t.Errorf("%s: pattern %s lacks %s", id, pattern, want)
			}
		}
		targets, _ := json.Marshal(p["Targets"])
		if !strings.Contains(string(targets), "FunctionsSweeper") || !strings.Contains(string(targets), "DeadLetterConfig") {
			t.Errorf("%s: targets %s", id, targets)
		}
	}
	if !found {
		t.Fatal("no rule for changes to the guardrail")
	}
	for id, fn := range resources("AWS::Lambda::Function") {
		if !strings.HasPrefix(id, "FunctionsSweeper") {
			continue
		}
		own, _ := json.Marshal(props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)[contract.EnvOwnRoleARNs])
		for _, role := range []string{"FunctionsDetachRole", "FunctionsReattachRole", "FunctionsApiRole", "FunctionsSweeperRole"} {
			if !strings.Contains(string(own), role) {
				t.Errorf("the sweeper does not know %s as rootwindow's own: %s", role, own)
			}
		}
	}
}

// The operators' dashboard: every alarm's state, windows lifted and restored, executions,
// failures and drift.
func TestDashboard(t *testing.T) {
	_, d := one(t, "AWS::CloudWatch::Dashboard")
	body, _ := json.Marshal(props(d)["DashboardBody"])
	for _, want := range []string{contract.MetricWindowsOpened, contract.MetricWindowsClosed, contract.MetricRestoreFailed, contract.MetricDriftDetected,
		contract.MetricGuardrailChanged, contract.MetricLedgerTampered, contract.MetricWindowCutShort, "ExecutionsStarted", "ExecutionsAborted", `\"alarms\":[`, "RUNBOOK.md"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the dashboard lacks %s", want)
		}
	}
}
