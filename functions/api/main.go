// Command api is the rootwindow Lambda behind the REST API: it validates and reserves a request
// synchronously, starts its workflow, and reads, ends or cancels requests.
package main

import (
	"errors"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/rootwindow/rootwindow/pkg/api"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/lambdaenv"
)

func main() {
	instance := lambdaenv.FromEnvironment() // configuration → AWS clients → window service
	if instance.Config.StateMachineARN == "" {
		lambdaenv.ExitOn(errors.New(contract.EnvStateMachineARN + " is required"))
	}
	handler := api.New(instance.Windows, instance.StepFunctions(), instance.Config.StateMachineARN)
	lambda.StartHandlerFunc(handler.Handle)
}
