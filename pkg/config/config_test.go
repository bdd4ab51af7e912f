package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	r, err := Load(env(map[string]string{
		contract.EnvTableName:           "ledger",
		contract.EnvGuardrailPolicyID:   "p-abcd1234",
		contract.EnvAdminPrincipals:     " arn:aws:iam::111111111111:role/Admin , ops@example.com,",
		contract.EnvOrganizationID:      "o-exampleorg1",
		contract.EnvOwnRoleARNs:         "arn:aws:iam::111111111111:role/rootwindow/Detach,arn:aws:iam::111111111111:role/rootwindow/Sweeper",
		contract.EnvRootSessionRoleARNs: " arn:aws:iam::111111111111:role/rootwindow/Api,,arn:aws:iam::111111111111:role/rootwindow/Sweeper ",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Runtime{TableName: "ledger", Deployment: "ledger",
		OwnRoleARNs:         []string{"arn:aws:iam::111111111111:role/rootwindow/Detach", "arn:aws:iam::111111111111:role/rootwindow/Sweeper"},
		RootSessionRoleARNs: []string{"arn:aws:iam::111111111111:role/rootwindow/Api", "arn:aws:iam::111111111111:role/rootwindow/Sweeper"},
		Settings: Settings{GuardrailPolicyID: "p-abcd1234",
			AdminPrincipals: []string{"arn:aws:iam::111111111111:role/Admin", "ops@example.com"},
			OwnerTagKey:     "owner", MaxAccountsPerRequest: 50, BookingHorizonDays: 7, OrganizationID: "o-exampleorg1",
			CooldownMinutes: 60, MaxConcurrentPerRequester: 3, MaxDailyPerRequester: 10, MaxAccountsAtOnce: 200,
			SCPsPerTargetQuota: 10, SCPSizeQuota: 10240, LiftStrategy: "detach", DriftScanMinutes: 60, RootScanMinutes: 60, Approval: "none", ApprovalMinutes: 60}, EventBus: "default"}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got %+v", r)
	}
}

func TestLoadNamesEveryBadVariable(t *testing.T) {
	_, err := Load(env(map[string]string{
		contract.EnvGuardrailPolicyID:  "policy-1",
		contract.EnvMaxAccounts:        "51",
		contract.EnvBookingHorizonDays: "soon",
		contract.EnvTopicARN:           "ops-topic",
		contract.EnvStateMachineARN:    "rootwindow",
		contract.EnvDeployment:         "111111111111/eu-west-1/Root,Window",
	}))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"ROOTWINDOW_TABLE_NAME is required",
		`ROOTWINDOW_TOPIC_ARN must be an SNS topic ARN, got "ops-topic"`,
		`ROOTWINDOW_STATE_MACHINE_ARN must be a state machine ARN, got "rootwindow"`,
		`ROOTWINDOW_DEPLOYMENT must be a tag value Organizations accepts (at most 256 letters, digits, spaces and _.:/=+-@), got "111111111111/eu-west-1/Root,Window"`,
		"ROOTWINDOW_ADMIN_PRINCIPALS (adminPrincipals): is required",
		`ROOTWINDOW_GUARDRAIL_POLICY_ID (guardrailPolicyId): "policy-1" is not a policy ID`,
		`ROOTWINDOW_MAX_ACCOUNTS (maxAccountsPerRequest): must be a whole number from 1 to 50, got 51`,
		`ROOTWINDOW_BOOKING_HORIZON_DAYS (bookingHorizonDays): must be a whole number from 1 to 30, got "soon"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

// A deployment is named by the stack (<account>/<region>/<stack name>), or by its ledger where
// nothing names it.
func TestDeploymentName(t *testing.T) {
	base := map[string]string{contract.EnvTableName: "ledger", contract.EnvGuardrailPolicyID: "p-abcd1234",
		contract.EnvAdminPrincipals: "arn:aws:iam::111111111111:role/Admin", contract.EnvOrganizationID: "o-exampleorg1"}
	r, err := Load(env(base))
	if err != nil || r.Deployment != "ledger" {
		t.Errorf("unnamed: %q, %v", r.Deployment, err)
	}
	base[contract.EnvDeployment] = "111111111111/eu-west-1/RootWindow"
	if r, err = Load(env(base)); err != nil || r.Deployment != "111111111111/eu-west-1/RootWindow" {
		t.Errorf("named: %q, %v", r.Deployment, err)
	}
}
