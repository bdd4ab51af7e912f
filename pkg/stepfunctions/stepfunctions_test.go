package stepfunctions_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/stepfunctions"
)

// With the executions under a key the caller may not use (the stack's customer managed key),
// what the window service asks as metadata still answers, through the real client: whether an
// execution still runs and the role a state machine runs as. Only an execution's input needs the
// key.
func TestMetadataNeedsNoKey(t *testing.T) {
	const (
		stateMachine = "arn:aws:states:us-east-1:999999999999:stateMachine:RootWindow"
		role         = "arn:aws:iam::999999999999:role/rootwindow/StateMachineRole"
	)
	emu := awsemu.New()
	emu.Start()
	t.Cleanup(emu.Close)
	emu.StateMachine(stateMachine, role)
	emu.Ran(stateMachine, "req-1", json.RawMessage(`{"request":{}}`), "RUNNING")
	execution := "arn:aws:states:us-east-1:999999999999:execution:RootWindow:req-1"
	a := stepfunctions.New(testenv.StepFunctions(emu))
	ctx := context.Background()
	if ex, err := a.Describe(ctx, execution); err != nil || string(ex.Input) != `{"request":{}}` {
		t.Fatalf("before: %+v %v", ex, err)
	}
	emu.SealHistory()
	if status, err := a.Status(ctx, execution); err != nil || status != "RUNNING" {
		t.Errorf("status: %q %v", status, err)
	}
	if got, err := a.RoleOf(ctx, stateMachine); err != nil || got != role {
		t.Errorf("role: %q %v", got, err)
	}
	var denied *types.KmsAccessDeniedException
	if _, err := a.Describe(ctx, execution); !errors.As(err, &denied) {
		t.Errorf("the input without the key: %v", err)
	}
}
