// Command reattach is the rootwindow Lambda that puts the guardrail SCP back and closes the request.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/rootwindow/rootwindow/pkg/lambdaenv"
	"github.com/rootwindow/rootwindow/pkg/stepfunctions"
	"github.com/rootwindow/rootwindow/pkg/workflow"
)

func main() {
	instance := lambdaenv.FromEnvironment() // configuration → AWS clients → window service
	// Under exempt, the other open windows' executions vouch for their exemptions when the
	// guardrail's document is rendered without this one (Step Functions).
	instance.Deps.Executions = stepfunctions.New(stepfunctions.Client(instance.AWS, instance.Endpoint("SFN")))
	steps := workflow.New(instance.Service())
	lambda.StartHandlerFunc(steps.Reattach)
}
