// Command api is the rootwindow Lambda behind the REST API: it validates and reserves a request
// synchronously, starts its workflow, and reads, ends or cancels requests.
package main

import (
	"errors"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/rootwindow/rootwindow/pkg/api"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/directory"
	"github.com/rootwindow/rootwindow/pkg/lambdaenv"
	"github.com/rootwindow/rootwindow/pkg/rootaccess"
	"github.com/rootwindow/rootwindow/pkg/stepfunctions"
)

func main() {
	instance := lambdaenv.FromEnvironment() // configuration → AWS clients → window service
	if instance.Config.StateMachineARN == "" {
		lambdaenv.ExitOn(errors.New(contract.EnvStateMachineARN + " is required"))
	}
	// Executions started and stopped (an early end), decisions sent (Step Functions); the root sign-in audit at booking (STS, IAM).
	sfn := stepfunctions.Client(instance.AWS, instance.Endpoint("SFN"))
	steps := stepfunctions.New(sfn)
	instance.Deps.Decisions, instance.Deps.Executions = steps, steps
	if instance.Config.CentralizedRoot {
		instance.Deps.Root = rootaccess.FromConfig(instance.AWS, instance.Endpoint("STS"), instance.Endpoint("IAM"), instance.Config.AssumeRootRegion())
	}
	if instance.Config.IdentityStoreID != "" {
		// Owners named by group, checked at booking: membership from IAM Identity Center's identity store.
		instance.Deps.Groups = directory.FromConfig(instance.AWS, instance.Endpoint("identitystore"), instance.Config.IdentityStoreID)
	}
	handler := api.New(instance.Service(), sfn, instance.Config.StateMachineARN)
	lambda.StartHandlerFunc(handler.Handle)
}
