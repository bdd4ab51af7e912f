// Command validate is the rootwindow Lambda that validates a root access window request, checks the requester and the organization, and reserves the accounts.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/rootwindow/rootwindow/pkg/lambdaenv"
	"github.com/rootwindow/rootwindow/pkg/workflow"
)

func main() {
	instance := lambdaenv.FromEnvironment() // configuration → AWS clients → window service
	steps := workflow.New(instance.Windows)
	lambda.StartHandlerFunc(steps.Validate)
}
