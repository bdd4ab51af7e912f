// Package stack is rootwindow's CDK stack: the ledger table, the Lambdas with one least-privilege
// role each, and the Standard state machine that holds a root access window. It deploys into the
// AWS Organizations management account.
package stack

import (
	"cmp"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/rootwindow/rootwindow/pkg/config"
)

// RootWindowStackProps configures the stack.
type RootWindowStackProps struct {
	awscdk.StackProps
	Config config.Settings
	// AssetDir holds the built Lambda bundles, one folder per function.
	AssetDir string
}

// RootWindowStack is everything rootwindow deploys.
type RootWindowStack struct {
	awscdk.Stack
	Ledger        *Ledger
	Notifications *Notifications
	Functions     *Functions
	Workflow      *Workflow
	Intake        *Intake
	API           *API
	SafetyNet     *SafetyNet
}

// NewRootWindowStack creates the stack.
func NewRootWindowStack(scope constructs.Construct, id string, props *RootWindowStackProps) *RootWindowStack {
	s := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	l := NewLedger(s, "Ledger")
	n := NewNotifications(s, "Notifications", props.Config.NotificationEmail)
	fns := NewFunctions(s, "Functions", &FunctionsProps{Config: props.Config, Table: l.Table, Notifications: n, AssetDir: props.AssetDir})
	own := []awsiam.IRole{fns.Validate.Role(), fns.Detach.Role(), fns.Reattach.Role(), fns.API.Role(), fns.Sweeper.Role()}
	l.OnlyWrittenBy(own, props.Config.LedgerBreakGlassRole, DeploymentRoleOf(s, props.Config.DeploymentRole), props.Config.LedgerAuditorRoles)
	n.OnlyPublishedBy(own)
	wf := NewWorkflow(s, "Workflow", &WorkflowProps{Functions: fns, BookingHorizonDays: props.Config.BookingHorizonDays,
		EventConfirmMinutes: props.Config.EventConfirmMinutes, ApprovalMinutes: cmp.Or(props.Config.ApprovalMinutes, config.DefaultSettings().ApprovalMinutes)})
	fns.AllowStart(wf.StateMachine)
	l.EncryptsHistoryOf(wf.StateMachine, fns.HistoryReaders(), props.Config.LedgerBreakGlassRole, DeploymentRoleOf(s, props.Config.DeploymentRole), props.Config.LedgerAuditorRoles)
	fns.Seal(wf.StateMachine.Role())
	in := NewIntake(s, "Intake", &IntakeProps{StateMachine: wf.StateMachine, Integrations: props.Config.EventIntegrations,
		DeploymentRole: DeploymentRoleOf(s, props.Config.DeploymentRole)})
	fns.IdentifyDoors(in.StartRole)
	safety := NewSafetyNet(s, "SafetyNet", &SafetyNetProps{
		Functions: fns, StateMachine: wf.StateMachine, Notifications: n, DeadLetters: in.DeadLetters,
		GuardrailPolicyID: props.Config.GuardrailPolicyID,
		Watched: &Watched{Table: l.Table, LedgerKey: l.Key, StateMachine: wf.StateMachine, RequestBus: in.Bus,
			Roles:          append(own, wf.StateMachine.Role(), in.StartRole),
			DeploymentRole: DeploymentRoleOf(s, props.Config.DeploymentRole)},
	})
	api := NewAPI(s, "Api", fns.API, props.Config.OrganizationID, props.Config.AdminAccounts())
	awscdk.NewCfnOutput(s, jsii.String("StateMachineArn"), &awscdk.CfnOutputProps{
		Value: wf.StateMachine.StateMachineArn(), Description: jsii.String("Start an execution with {\"request\": {...}} to ask for a window"),
	})
	awscdk.NewCfnOutput(s, jsii.String("LedgerTableName"), &awscdk.CfnOutputProps{Value: l.Table.TableName()})
	awscdk.NewCfnOutput(s, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{
		Value: api.RestAPI.Url(), Description: jsii.String("POST requests/ with SigV4 to ask for a window"),
	})
	awscdk.NewCfnOutput(s, jsii.String("RequestBusArn"), &awscdk.CfnOutputProps{
		Value: in.Bus.EventBusArn(), Description: jsii.String("Put events with source " + RequestSource + " and detail-type " + RequestDetailType),
	})
	awscdk.NewCfnOutput(s, jsii.String("RequestDeadLetterQueueUrl"), &awscdk.CfnOutputProps{Value: in.DeadLetters.QueueUrl()})
	awscdk.NewCfnOutput(s, jsii.String("TopicArn"), &awscdk.CfnOutputProps{Value: n.Topic.TopicArn()})
	return &RootWindowStack{Stack: s, Ledger: l, Notifications: n, Functions: fns, Workflow: wf, Intake: in, API: api, SafetyNet: safety}
}

// ReadConfig reads the deployment's settings from the app's context and the JSON file at path
// ("" for none): every problem named, a key that is not rootwindow's refused naming the nearest.
func ReadConfig(app awscdk.App, path string) (config.Settings, error) {
	context, _ := app.Node().GetAllContext(nil).(map[string]any)
	if err := config.CheckKeys(config.ContextKeys(context)); err != nil {
		return config.Settings{}, fmt.Errorf("CDK context: %w", err)
	}
	get, err := config.WithFile(func(key string) any { return app.Node().TryGetContext(jsii.String(key)) }, path)
	if err != nil {
		return config.Settings{}, err
	}
	return config.FromLookup(get)
}
