package lambdaenv

import (
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// AWS is the SDK configuration a Lambda gets from its environment: the region, and the execution
// role's credentials that Lambda puts in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN. It reads nothing else (no shared config files, no SSO, no instance
// metadata): the SDK's general loader would add those providers, and 1.6 MB, to every bootstrap.
func AWS(getenv func(string) string) (aws.Config, error) {
	cfg := aws.Config{Region: getenv("AWS_REGION")}
	if cfg.Region == "" {
		cfg.Region = getenv("AWS_DEFAULT_REGION")
	}
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	var errs []error
	if cfg.Region == "" {
		errs = append(errs, errors.New("AWS_REGION is not set"))
	}
	if id == "" || secret == "" {
		errs = append(errs, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the execution role)"))
	}
	cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN")))
	return cfg, errors.Join(errs...)
}

// Endpoint is the endpoint override for a service, as the SDK's own loader reads it:
// AWS_ENDPOINT_URL_<SERVICE ID> (e.g. AWS_ENDPOINT_URL_DYNAMODB), else AWS_ENDPOINT_URL; nil for
// the service's own endpoint. Local runs point the clients at emulators with it.
func Endpoint(getenv func(string) string, serviceID string) *string {
	key := "AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(serviceID, " ", "_"))
	for _, k := range []string{key, "AWS_ENDPOINT_URL"} {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return &v
		}
	}
	return nil
}
