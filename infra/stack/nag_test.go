package stack_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/rootwindow/rootwindow/internal/cdktest"
)

// cdk-nag's AwsSolutions rules: no unsuppressed error, and every suppression has its reason in
// the stack's code.
func TestAwsSolutionsChecks(t *testing.T) {
	cfg := sample
	cfg.EventIntegrations = []string{"arn:aws:iam::111111111111:role/Ticketing"}
	cfg.LedgerBreakGlassRole = "arn:aws:iam::999999999999:role/BreakGlass"
	cfg.NotificationEmail = "cloud-ops@example.com"
	cfg.LiftStrategy = "auto" // every permission either strategy needs
	cfg.EventConfirmMinutes = 15
	errs, warnings, err := cdktest.NagFindings(awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("999999999999"), Region: jsii.String("eu-west-1")},
	}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d unsuppressed warnings:\n%s", len(warnings), strings.Join(warnings, "\n"))
	if len(errs) > 0 {
		t.Errorf("%d unsuppressed errors:\n%s", len(errs), strings.Join(errs, "\n"))
	}
}
