// Command detach is the rootwindow Lambda that lifts the guardrail SCP from the request's accounts and starts the window.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/rootwindow/rootwindow/pkg/directory"
	"github.com/rootwindow/rootwindow/pkg/lambdaenv"
	"github.com/rootwindow/rootwindow/pkg/rootaccess"
	"github.com/rootwindow/rootwindow/pkg/stepfunctions"
	"github.com/rootwindow/rootwindow/pkg/workflow"
)

func main() {
	in := lambdaenv.FromEnvironment() // configuration → AWS clients → window service
	// The execution it lifts for: running, of rootwindow's state machine (Step Functions).
	in.Deps.Executions = stepfunctions.New(stepfunctions.Client(in.AWS, in.Endpoint("SFN")))
	// Password recovery allowed at the lift (STS and IAM).
	if in.Config.CentralizedRoot {
		in.Deps.Root = rootaccess.FromConfig(in.AWS, in.Endpoint("STS"), in.Endpoint("IAM"), in.Config.AssumeRootRegion())
	}
	if in.Config.IdentityStoreID != "" {
		// Owners named by group: membership from IAM Identity Center's identity store.
		in.Deps.Groups = directory.FromConfig(in.AWS, in.Endpoint("identitystore"), in.Config.IdentityStoreID)
	}
	lambda.StartHandlerFunc(workflow.New(in.Service()).Detach)
}
