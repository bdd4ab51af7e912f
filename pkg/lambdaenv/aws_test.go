package lambdaenv

import (
	"context"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestAWSFromTheLambdaEnvironment(t *testing.T) {
	cfg, err := AWS(env(map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
	}))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || cfg.Region != "eu-west-1" || creds.AccessKeyID != "AKIDEXAMPLE" || creds.SessionToken != "token" {
		t.Errorf("region %q, credentials %+v, %v", cfg.Region, creds, err)
	}
	if _, err := AWS(env(nil)); err == nil || !strings.Contains(err.Error(), "AWS_REGION is not set") || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("empty environment: %v", err)
	}
	e := env(map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:4567", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
	if got := Endpoint(e, "DynamoDB"); got == nil || *got != "http://127.0.0.1:4567" {
		t.Errorf("DynamoDB endpoint %v", got)
	}
	if got := Endpoint(e, "SNS"); got == nil || *got != "http://127.0.0.1:9" {
		t.Errorf("SNS falls back to AWS_ENDPOINT_URL: %v", got)
	}
	if got := Endpoint(env(nil), "SNS"); got != nil {
		t.Errorf("no override: %v", *got)
	}
}
