// Command detach is the rootwindow Lambda that lifts the guardrail SCP from the request's accounts and starts the window.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/rootwindow/rootwindow/pkg/lambdaenv"
	"github.com/rootwindow/rootwindow/pkg/workflow"
)

func main() {
	instance := lambdaenv.FromEnvironment() // configuration → AWS clients → window service
	steps := workflow.New(instance.Windows)
	lambda.StartHandlerFunc(steps.Detach)
}
