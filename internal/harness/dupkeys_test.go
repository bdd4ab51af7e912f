package harness_test

import (
	"encoding/json"
	"testing"
)

// What the local runner does with repeated keys in an execution's input before Validate sees it:
// it parses the input (JavaScript's JSON.parse keeps the last of repeated keys) and builds the
// task's payload from the parsed value, so the Lambda receives one key. Validate's own refusal of
// repeated keys is for what reaches it; this records what does.
func TestRepeatedKeysInAnExecutionInput(t *testing.T) {
	s := begin(t)
	input := json.RawMessage(`{"request":{"accountIds":["111111111111"],"hours":4,"hours":1,"reason":"x (SEC-1)","requester":"` + "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/alice@example.com" + `"}}`)
	res := s.run("dupkeys-1", input)
	rec := s.record("dupkeys-1")
	t.Logf("%s %s: %s; recorded %d h", res.Status, res.Error, res.Cause, rec.Hours)
	if res.Status != "SUCCEEDED" || rec.Hours != 1 {
		t.Errorf("the runner did not keep the last of the repeated keys: %s %s %s, %d h", res.Status, res.Error, res.Cause, rec.Hours)
	}
	s.unchanged()
}
