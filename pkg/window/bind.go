package window

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// Bind checks that a step acts for the execution it names, before it reads or writes anything: an
// execution of rootwindow's state machine (the one that runs as the configured role: its ARN
// cannot be in the functions' configuration, the state machine names them), named for the
// request, running now, and, when the step is given the execution's input, with that input.
// Only rootwindow's state machine may invoke its steps (their resource policies, and in a fenced
// home the fence); this is the check that does not rely on that: a step handed another execution's
// ARN, name or input, or one that has ended, does nothing. It returns the execution's input as it
// was started (Step Functions hands a step the input parsed and written again, a repeated key
// already resolved: the original is what is read strictly).
func (s *Service) Bind(ctx context.Context, executionARN, name string, input json.RawMessage) (json.RawMessage, error) {
	role := s.config.StateMachineRoleARN
	if s.executions == nil || role == "" {
		return nil, &contract.NotBound{Msg: "this function cannot ask Step Functions about its execution (no state machine role configured)"}
	}
	refuse := func(why string) error {
		s.log.ErrorContext(ctx, "a step invoked for an execution it is not bound to; nothing done", "requestId", name, "execution", executionARN, "why", why)
		return &contract.NotBound{Msg: why}
	}
	if executionARN == "" {
		return nil, refuse("the state machine did not pass the execution's ARN: redeploy rootwindow")
	}
	ex, err := s.executions.Describe(ctx, executionARN)
	switch {
	case errors.Is(err, ErrNoExecution):
		return nil, refuse("Step Functions has no execution " + executionARN)
	case err != nil:
		s.logError(ctx, "describe the execution", name, err)
		return nil, retryLater(err)
	case ex.Name != name:
		return nil, refuse(fmt.Sprintf("the execution is named %q, not %q", ex.Name, name))
	case ex.Status != "RUNNING":
		return nil, refuse("the execution is " + ex.Status + ", not running")
	case input != nil && !sameJSON(ex.Input, input):
		return nil, refuse("the input is not the execution's")
	}
	got, err := s.roleOf(ctx, ex.StateMachineARN)
	if err != nil {
		s.logError(ctx, "describe the state machine", name, err)
		return nil, retryLater(err)
	}
	if got != role {
		return nil, refuse("the execution is of a state machine that is not rootwindow's (" + ex.StateMachineARN + ")")
	}
	return ex.Input, nil
}

// roleOf is the role a state machine runs as, asked once per state machine in a Lambda instance.
func (s *Service) roleOf(ctx context.Context, stateMachineARN string) (string, error) {
	if role, ok := s.roles.Load(stateMachineARN); ok {
		return role.(string), nil
	}
	role, err := s.executions.RoleOf(ctx, stateMachineARN)
	if err == nil {
		s.roles.Store(stateMachineARN, role)
	}
	return role, err
}

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}
