// Command reattach is the rootwindow Lambda that puts the guardrail SCP back and closes the request.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/rootwindow/rootwindow/pkg/lambdaenv"
	"github.com/rootwindow/rootwindow/pkg/workflow"
)

func main() {
	instance := lambdaenv.FromEnvironment() // configuration → AWS clients → window service
	steps := workflow.New(instance.Service())
	lambda.StartHandlerFunc(steps.Reattach)
}
