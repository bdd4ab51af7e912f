package config

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	r, err := Load(env(map[string]string{
		EnvTableName:         "ledger",
		EnvGuardrailPolicyID: "p-abcd1234",
		EnvAdminPrincipals:   " arn:aws:iam::*:role/Admin , *@example.com,",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Runtime{TableName: "ledger", GuardrailPolicyID: "p-abcd1234",
		AdminPrincipals: []string{"arn:aws:iam::*:role/Admin", "*@example.com"},
		OwnerTagKey:     "owner", MaxAccounts: 50, BookingHorizonDays: 7, EventBus: "default"}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got %+v", r)
	}
}

func TestLoadNamesEveryBadVariable(t *testing.T) {
	_, err := Load(env(map[string]string{
		EnvGuardrailPolicyID:  "policy-1",
		EnvMaxAccounts:        "51",
		EnvBookingHorizonDays: "soon",
		EnvTopicARN:           "ops-topic",
		EnvStateMachineARN:    "rootwindow",
	}))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"ROOTWINDOW_TABLE_NAME is required",
		`ROOTWINDOW_TOPIC_ARN must be an SNS topic ARN, got "ops-topic"`,
		`ROOTWINDOW_STATE_MACHINE_ARN must be a state machine ARN, got "rootwindow"`,
		"ROOTWINDOW_ADMIN_PRINCIPALS must list at least one administrator principal pattern",
		`ROOTWINDOW_GUARDRAIL_POLICY_ID: "policy-1" is not a policy ID`,
		`ROOTWINDOW_MAX_ACCOUNTS must be a whole number from 1 to 50, got "51"`,
		`ROOTWINDOW_BOOKING_HORIZON_DAYS must be a whole number from 1 to 30, got "soon"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

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
