package harness_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// A key repeated in an execution's input: the runner, as Step Functions, parses the input
// (JavaScript's JSON.parse keeps the last of repeated keys) and builds the task's payload from the
// parsed value, so the Lambda receives one key. Validate reads the input as the execution was
// started (DescribeExecution) and refuses it: nothing is lifted, whichever value would have won.
func TestRepeatedKeysInAnExecutionInput(t *testing.T) {
	s := begin(t)
	input := json.RawMessage(`{"request":{"accountIds":["111111111111"],"hours":4,"hours":1,"reason":"x (SEC-1)","requester":"` + "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/alice@example.com" + `"}}`)
	res := s.run("dupkeys-1", input)
	if res.Status != "FAILED" || res.Error != "RequestRejected" || !strings.Contains(res.Cause, "hours: appears more than once") {
		t.Errorf("a repeated key through the synthesized state machine: %s %s %s", res.Status, res.Error, res.Cause)
	}
	s.unchanged()
}
