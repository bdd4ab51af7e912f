package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// FromEnvironment builds the steps a Lambda runs, once per instance: configuration from the
// environment, the real AWS clients (which honour AWS_ENDPOINT_URL_* for local runs), and a JSON
// logger that stamps every line with the Lambda request ID.
func FromEnvironment(ctx context.Context, getenv func(string) string) (*Steps, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	log := lambdacontext.NewLogger()
	return &Steps{
		Config:    cfg,
		Guardrail: guardrail.New(guardrail.NewClient(awsCfg), cfg.GuardrailPolicyID, guardrail.Options{Logger: log}),
		Ledger:    ledger.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, time.Now),
		Clock:     time.Now,
		Log:       log,
	}, nil
}

// Fatal reports a cold-start failure in the Lambda's JSON log format; the main then exits, and
// Lambda reports the init error.
func Fatal(err error) {
	lambdacontext.NewLogger().Error("cannot start", "error", err.Error())
}
