// Command sweeper is rootwindow's safety net: it restores the guardrail for an execution that
// ended without closing its window (Step Functions status change), and on a schedule restores
// every window that is over, sends pending notifications, reports drift, reports on each ended
// window and looks for root activity outside windows.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/rootwindow/rootwindow/pkg/lambdaenv"
	"github.com/rootwindow/rootwindow/pkg/rootaccess"
	"github.com/rootwindow/rootwindow/pkg/rootevents"
	"github.com/rootwindow/rootwindow/pkg/stepfunctions"
	"github.com/rootwindow/rootwindow/pkg/trail"
	"github.com/rootwindow/rootwindow/pkg/workflow"
)

func main() {
	instance := lambdaenv.FromEnvironment() // configuration → AWS clients → window service
	// Whether a request's execution still runs (Step Functions).
	instance.Deps.Executions = stepfunctions.New(stepfunctions.Client(instance.AWS, instance.Endpoint("SFN")))
	// A root password allowed for a window deleted again once it is over (STS and IAM).
	if instance.Config.CentralizedRoot && instance.Config.PrepareRootSignIn {
		instance.Deps.Root = rootaccess.FromConfig(instance.AWS, instance.Endpoint("STS"), instance.Endpoint("IAM"), instance.Config.AssumeRootRegion())
	}
	// What root did in each window, and root outside any window (CloudTrail Lake, or the log
	// group an organization trail delivers to).
	instance.Deps.RootActivity = rootevents.FromConfig(instance.AWS, instance.Endpoint, instance.Config.TrailEventDataStore, instance.Config.TrailLogGroup, instance.Sleep)
	// rootwindow's own root sessions, not raised as root outside windows: its roles' AssumeRoot
	// calls in CloudTrail's event history of this Region, the one they are sent to
	// (Config.AssumeRootRegion: the functions' own).
	if instance.Config.CentralizedRoot && instance.Deps.RootActivity != nil {
		instance.Deps.RootSessions = trail.FromConfig(instance.AWS, instance.Endpoint("CloudTrail"))
	}
	steps := workflow.New(instance.Service())
	lambda.StartHandlerFunc(steps.SafetyNet)
}
