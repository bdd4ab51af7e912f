// Package lambdaenv builds what a rootwindow Lambda needs, once per instance, from its
// environment: the validated configuration, the AWS clients (sent to AWS_ENDPOINT_URL_* for local
// runs), a JSON logger that stamps every line with the Lambda request ID, and the window service
// over them. The functions' mains are config → clients → handler → lambda.Start through it.
package lambdaenv

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/notify"
	"github.com/rootwindow/rootwindow/pkg/sleep"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// Options are what Load needs from its caller; the zero value of each field but Getenv means what
// AWS uses.
type Options struct {
	// Getenv reads rootwindow's configuration (the ROOTWINDOW_* variables).
	Getenv func(string) string
	// Env is the process environment, where Lambda puts the AWS region, credentials and (locally)
	// the AWS_ENDPOINT_URL_* overrides; default os.Getenv.
	Env   func(string) string
	Clock func() time.Time // default time.Now
	// Sleep waits between retries (Organizations' and the ledger's); default the wall clock's.
	// A local run passes its virtual clock's, with Clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// HTTPClient sends every AWS call; default the SDK's.
	HTTPClient aws.HTTPClient
	Guardrail  guardrail.Options
}

// Instance is what one Lambda instance builds once.
type Instance struct {
	Config config.Runtime
	// AWS is the SDK configuration the clients were built from.
	AWS aws.Config
	// Deps is what the window service will work with: Load fills in what every function uses, a
	// main adds the adapters its function calls, then builds the service with Service.
	Deps window.Deps
	// Sleep is how the instance waits (the adapters a main wires that poll: CloudTrail Lake).
	Sleep func(ctx context.Context, d time.Duration) error
	env   func(string) string
}

// Load reads the configuration, builds the AWS clients and the window service over them.
func Load(_ context.Context, o Options) (*Instance, error) {
	cfg, err := config.Load(o.Getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if o.Env == nil {
		o.Env = os.Getenv
	}
	awsCfg, err := AWS(o.Env)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.HTTPClient != nil {
		awsCfg.HTTPClient = o.HTTPClient
	}
	if o.Guardrail.Sleep == nil {
		o.Guardrail.Sleep = o.Sleep
	}
	if o.Guardrail.Clock == nil {
		o.Guardrail.Clock = o.Clock
	}
	log := lambdacontext.NewLogger()
	if o.Guardrail.Logger == nil {
		o.Guardrail.Logger = log
	}
	o.Guardrail.Organization, o.Guardrail.Management = cfg.OrganizationID, cfg.ManagementAccountID
	o.Guardrail.Quotas = guardrail.Quotas{PerTarget: cfg.SCPsPerTargetQuota, Size: cfg.SCPSizeQuota}
	o.Guardrail.Deployment = cfg.Deployment
	o.Guardrail.FormerNames = []string{cfg.TableName} // the name 0.9.0 gave its window SCPs
	if o.Sleep == nil {
		o.Sleep = sleep.For
	}
	in := &Instance{Config: cfg, AWS: awsCfg, env: o.Env, Sleep: o.Sleep}
	orgs := guardrail.NewClient(awsCfg, func(opt *organizations.Options) { opt.BaseEndpoint = in.Endpoint("Organizations") })
	in.Deps = window.Deps{
		Config:    cfg,
		Guardrail: guardrail.New(orgs, cfg.GuardrailPolicyID, o.Guardrail),
		Tree:      orgs,
		Ledger: ledger.New(dynamodb.NewFromConfig(awsCfg, func(opt *dynamodb.Options) { opt.BaseEndpoint = in.Endpoint("DynamoDB") }),
			cfg.TableName, o.Clock, o.Sleep),
		Notify: notify.New(eventbridge.NewFromConfig(awsCfg, func(opt *eventbridge.Options) { opt.BaseEndpoint = in.Endpoint("EventBridge") }), cfg.EventBus,
			sns.NewFromConfig(awsCfg, func(opt *sns.Options) { opt.BaseEndpoint = in.Endpoint("SNS") }), cfg.TopicARN, o.Clock),
		Clock:   o.Clock,
		Metrics: os.Stdout,
		Log:     log,
	}
	return in, nil
}

// Service builds the window service over Deps, once the main has added its adapters.
func (in *Instance) Service() *window.Service { return window.New(in.Deps) }

// Endpoint is the endpoint override for a service (see Endpoint), for the adapters a main wires.
func (in *Instance) Endpoint(serviceID string) *string { return Endpoint(in.env, serviceID) }

// FromEnvironment is Load for a Lambda's main: everything from the process environment; a
// configuration error is logged in the Lambda's JSON format and ends the process, which Lambda
// reports as an init error.
func FromEnvironment() *Instance {
	in, err := Load(context.Background(), Options{Getenv: os.Getenv})
	ExitOn(err)
	return in
}

// ExitOn ends a Lambda's process, logging err, if err is not nil.
func ExitOn(err error) {
	if err != nil {
		lambdacontext.NewLogger().Error("cannot start", "error", err.Error())
		os.Exit(1)
	}
}
