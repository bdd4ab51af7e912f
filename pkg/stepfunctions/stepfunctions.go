// Package stepfunctions is the window service's Step Functions adapter: an execution, whether it
// still runs and which state machine's it is, and stopping it (window.Executions: the sweeper,
// validate and detach binding themselves to their execution, the api ending a window early) and an approver's decision sent to the execution
// waiting on its task token (window.Decisions, validate and api). Only the functions whose mains
// wire it link Step Functions.
package stepfunctions

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// API is the Step Functions calls the adapter makes (the real client satisfies it).
type API interface {
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	DescribeStateMachine(ctx context.Context, in *sfn.DescribeStateMachineInput, optFns ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error)
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
	StopExecution(ctx context.Context, in *sfn.StopExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StopExecutionOutput, error)
}

// Adapter implements window.Executions and window.Decisions over api.
type Adapter struct{ api API }

var (
	_ window.Executions = (*Adapter)(nil)
	_ window.Decisions  = (*Adapter)(nil)
)

// New returns the adapter over api.
func New(api API) *Adapter { return &Adapter{api: api} }

// Client is the Step Functions client of cfg, sent to endpoint when not nil.
func Client(cfg aws.Config, endpoint *string) *sfn.Client {
	return sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.BaseEndpoint = endpoint })
}

// Status is the execution's status, or window.ErrNoExecution. It asks for the execution's
// metadata only: with the execution history under a customer managed key, METADATA_ONLY needs no
// kms:Decrypt (Step Functions Developer Guide, "Data at rest encryption", required permissions for
// API callers), so whether a window's execution still runs is known even to a caller that may not
// use the key, or when the key cannot be used.
func (a *Adapter) Status(ctx context.Context, executionARN string) (string, error) {
	out, err := a.describe(ctx, executionARN, types.IncludedDataMetadataOnly)
	if err != nil {
		return "", err
	}
	return string(out.Status), nil
}

// Describe is the execution with its input (DescribeExecution), or window.ErrNoExecution.
func (a *Adapter) Describe(ctx context.Context, executionARN string) (window.Execution, error) {
	out, err := a.describe(ctx, executionARN, types.IncludedDataAllData)
	if err != nil {
		return window.Execution{}, err
	}
	return window.Execution{StateMachineARN: aws.ToString(out.StateMachineArn), Name: aws.ToString(out.Name),
		Status: string(out.Status), Input: []byte(aws.ToString(out.Input))}, nil
}

func (a *Adapter) describe(ctx context.Context, executionARN string, included types.IncludedData) (*sfn.DescribeExecutionOutput, error) {
	out, err := a.api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: &executionARN, IncludedData: included})
	var missing *types.ExecutionDoesNotExist
	if errors.As(err, &missing) {
		return nil, window.ErrNoExecution
	}
	return out, err
}

// RoleOf is the role the state machine runs as (DescribeStateMachine, metadata only: the role
// is not the encrypted definition).
func (a *Adapter) RoleOf(ctx context.Context, stateMachineARN string) (string, error) {
	out, err := a.api.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: &stateMachineARN, IncludedData: types.IncludedDataMetadataOnly})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.RoleArn), nil
}

// Stop stops the execution (StopExecution), or window.ErrNoExecution.
func (a *Adapter) Stop(ctx context.Context, executionARN, errorName, cause string) error {
	_, err := a.api.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: &executionARN, Error: &errorName, Cause: &cause})
	var missing *types.ExecutionDoesNotExist
	if errors.As(err, &missing) {
		return window.ErrNoExecution
	}
	return err
}

// Approve sends the approval to the execution waiting on token (SendTaskSuccess).
func (a *Adapter) Approve(ctx context.Context, token string, approval contract.Approval) error {
	out, err := json.Marshal(approval)
	if err != nil {
		return err
	}
	_, err = a.api.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: &token, Output: aws.String(string(out))})
	return taskError(err)
}

// Deny fails the task the execution waits on with errorName and cause (SendTaskFailure).
func (a *Adapter) Deny(ctx context.Context, token, errorName, cause string) error {
	_, err := a.api.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: &token, Error: &errorName, Cause: &cause})
	return taskError(err)
}

// taskError is window.ErrTaskGone for a token no execution waits on any more.
func taskError(err error) error {
	var timedOut *types.TaskTimedOut
	var gone *types.TaskDoesNotExist
	if errors.As(err, &timedOut) || errors.As(err, &gone) {
		return errors.Join(window.ErrTaskGone, err)
	}
	return err
}
