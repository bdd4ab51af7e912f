package identity_test

import (
	"fmt"
	"testing"

	"github.com/rootwindow/rootwindow/pkg/identity"
)

const execution = "arn:aws:states:us-east-1:999999999999:execution:rootwindow:req-1"

func record(arn, by, role, errorCode string) string {
	return fmt.Sprintf(`{"eventSource":"states.amazonaws.com","eventName":"StartExecution","errorCode":%q,"userIdentity":{"arn":%q,"sessionContext":{"sessionIssuer":{"arn":%q}}},"responseElements":{"executionArn":%q}}`,
		errorCode, by, role, arn)
}

// Only this execution's successful StartExecution record names its starter.
func TestStarterIn(t *testing.T) {
	const alice, role = "arn:aws:sts::999999999999:assumed-role/Admin/alice", "arn:aws:iam::999999999999:role/Admin"
	for _, tt := range []struct {
		name, raw string
		want      identity.Starter
		ok        bool
	}{
		{"the call", record(execution, alice, role, ""), identity.Starter{ARN: alice, RoleARN: role}, true},
		{"another execution", record(execution+"-2", alice, role, ""), identity.Starter{}, false},
		{"a refused call", record(execution, alice, role, "ExecutionAlreadyExists"), identity.Starter{}, false},
		{"no caller", record(execution, "", role, ""), identity.Starter{}, false},
		{"another service", `{"eventSource":"lambda.amazonaws.com","eventName":"StartExecution","userIdentity":{"arn":"x"},"responseElements":{"executionArn":"` + execution + `"}}`, identity.Starter{}, false},
		{"not JSON", `{`, identity.Starter{}, false},
	} {
		got, ok := identity.StarterIn(tt.raw, execution)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: %+v %v, want %+v %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
