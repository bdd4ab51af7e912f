// Command validate is the rootwindow Lambda that validates a root access window request, checks the requester and the organization, and reserves the accounts.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/rootwindow/rootwindow/pkg/directory"
	"github.com/rootwindow/rootwindow/pkg/lambdaenv"
	"github.com/rootwindow/rootwindow/pkg/rootaccess"
	"github.com/rootwindow/rootwindow/pkg/stepfunctions"
	"github.com/rootwindow/rootwindow/pkg/trail"
	"github.com/rootwindow/rootwindow/pkg/workflow"
)

func main() {
	in := lambdaenv.FromEnvironment() // configuration → AWS clients → window service
	// Who started the execution (CloudTrail); the execution itself, running, of rootwindow's state
	// machine, and a decision made before it asked for one (Step Functions); the root sign-in
	// audit at booking (STS and IAM).
	in.Deps.Starters = trail.FromConfig(in.AWS, in.Endpoint("CloudTrail"))
	steps := stepfunctions.New(stepfunctions.Client(in.AWS, in.Endpoint("SFN")))
	in.Deps.Decisions, in.Deps.Executions = steps, steps
	if in.Config.CentralizedRoot {
		in.Deps.Root = rootaccess.FromConfig(in.AWS, in.Endpoint("STS"), in.Endpoint("IAM"), in.Config.AssumeRootRegion())
	}
	if in.Config.IdentityStoreID != "" {
		// Owners named by group: membership from IAM Identity Center's identity store.
		in.Deps.Groups = directory.FromConfig(in.AWS, in.Endpoint("identitystore"), in.Config.IdentityStoreID)
	}
	lambda.StartHandlerFunc(workflow.New(in.Service()).Validate)
}
