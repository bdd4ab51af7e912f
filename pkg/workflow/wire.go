package workflow

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/notify"
)

// Wiring is what FromEnvironment needs from its caller; the zero value of each field but Getenv
// means what AWS uses.
type Wiring struct {
	Getenv func(string) string
	// Env is the process environment, where Lambda puts the AWS region, credentials and (locally)
	// the AWS_ENDPOINT_URL_* overrides; default os.Getenv.
	Env       func(string) string
	Clock     func() time.Time // default time.Now
	Guardrail guardrail.Options
}

// FromEnvironment builds the steps a Lambda runs, once per instance: configuration from the
// environment, the real AWS clients (sent to AWS_ENDPOINT_URL_* for local runs), and a JSON
// logger that stamps every line with the Lambda request ID.
func FromEnvironment(ctx context.Context, w Wiring) (*Steps, error) {
	cfg, err := config.Load(w.Getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if w.Env == nil {
		w.Env = os.Getenv
	}
	awsCfg, err := config.AWS(w.Env)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	endpoint := func(serviceID string) *string { return config.Endpoint(w.Env, serviceID) }
	if w.Clock == nil {
		w.Clock = time.Now
	}
	log := lambdacontext.NewLogger()
	if w.Guardrail.Logger == nil {
		w.Guardrail.Logger = log
	}
	return &Steps{
		AWS:    awsCfg,
		Config: cfg,
		Guardrail: guardrail.New(guardrail.NewClient(awsCfg, func(o *organizations.Options) { o.BaseEndpoint = endpoint("Organizations") }),
			cfg.GuardrailPolicyID, w.Guardrail),
		Ledger: ledger.New(dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.BaseEndpoint = endpoint("DynamoDB") }),
			cfg.TableName, w.Clock),
		Notify: notify.New(eventbridge.NewFromConfig(awsCfg, func(o *eventbridge.Options) { o.BaseEndpoint = endpoint("EventBridge") }), cfg.EventBus,
			sns.NewFromConfig(awsCfg, func(o *sns.Options) { o.BaseEndpoint = endpoint("SNS") }), cfg.TopicARN, w.Clock),
		Clock:   w.Clock,
		Metrics: os.Stdout,
		Log:     log,
	}, nil
}

// Main is every workflow Lambda's main: build the steps once per instance from the environment,
// then serve the handler that task picks.
func Main(task func(*Steps) any) {
	MainWith(func(s *Steps) (any, error) { return task(s), nil })
}

// MainWith is Main for a handler whose construction can fail. A configuration error is logged in
// the Lambda's JSON format and ends the process, which Lambda reports as an init error.
func MainWith(build func(*Steps) (any, error)) {
	steps, err := FromEnvironment(context.Background(), Wiring{Getenv: os.Getenv})
	var handler any
	if err == nil {
		handler, err = build(steps)
	}
	if err != nil {
		lambdacontext.NewLogger().Error("cannot start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(handler)
}
