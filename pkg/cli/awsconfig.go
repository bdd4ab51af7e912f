package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// credentialsWait bounds the look for credentials before the first call: the SDK's chain ends
// at the instance metadata service, which off EC2 may take seconds to refuse.
const credentialsWait = 15 * time.Second

// loadAWS loads the AWS configuration for profile and region and finds credentials in it before
// any call is made, so that a machine with none is told so in one sentence (ExitUsage), not after
// ten retries of the first call.
func loadAWS(ctx context.Context, env Env, profile, region string) (aws.Config, error) {
	cfg, err := env.AWS(ctx, profile, region)
	if err != nil {
		if profile != "" {
			return cfg, &usageMistake{fmt.Sprintf("the AWS configuration cannot be loaded for profile %q: %s", profile, firstLine(err))}
		}
		return cfg, &usageMistake{"the AWS configuration cannot be loaded: " + firstLine(err)}
	}
	if cfg.Credentials == nil {
		return cfg, &usageMistake{noCredentials}
	}
	cctx, cancel := context.WithTimeout(ctx, credentialsWait)
	defer cancel()
	if _, err := cfg.Credentials.Retrieve(cctx); err != nil {
		return cfg, &usageMistake{noCredentials + " (" + lastCause(err) + ")"}
	}
	return cfg, nil
}

const noCredentials = "no AWS credentials found: sign in first (aws sso login --profile <profile>, then --profile or AWS_PROFILE), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"

// firstLine is an error's message up to its first line break.
func firstLine(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// lastCause is the innermost error's message: the SDK wraps the reason in a chain of operations
// ("get identity: get credentials: failed to refresh cached credentials, ...").
func lastCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return firstLine(err)
		}
		err = next
	}
}
