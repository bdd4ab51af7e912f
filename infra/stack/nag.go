package stack

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/rootwindow/rootwindow/pkg/config"
)

// CheckCompliance adds cdk-nag's AwsSolutions rules to everything under scope: at synth, every
// finding that is not suppressed with a reason is an error (or a warning) annotation, and
// `cdk synth` fails on errors.
func CheckCompliance(scope awscdk.App) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// suppress records why a cdk-nag rule does not apply to a construct (and its children), for the
// findings named in appliesTo ("" entries ignored; none means the whole rule).
func suppress(construct constructs.IConstruct, rule, reason string, appliesTo ...string) {
	sup := &cdknag.NagPackSuppression{Id: jsii.String(rule), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		list := make([]any, len(appliesTo))
		for i, a := range appliesTo {
			list[i] = a
		}
		sup.AppliesTo = &list
	}
	cdknag.NagSuppressions_AddResourceSuppressions(construct, &[]*cdknag.NagPackSuppression{sup}, jsii.Bool(true))
}

// accountOf is the stack's account as cdk-nag prints it in a finding: the literal ID when the
// stack has one, else the token's name.
func accountOf(st awscdk.Stack) string {
	if a := *st.Account(); !strings.HasPrefix(a, "${Token") {
		return a
	}
	return "<AWS::AccountId>"
}

// managementOf is the management account as cdk-nag prints it in a finding: the configured one,
// else the stack's own.
func managementOf(st awscdk.Stack, cfg config.Settings) string {
	if cfg.ManagementAccountID != "" {
		return cfg.ManagementAccountID
	}
	return accountOf(st)
}
