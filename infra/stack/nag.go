package stack

//lint:file-ignore SA1019 assertions.Annotations (CDK v2.270) still returns cxapi.SynthesisMessage

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
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

// NagFindings synthesizes the stack with stand-in Lambda bundles under the AwsSolutions rules and
// returns the unsuppressed errors and warnings, one "path: message" each.
func NagFindings(props awscdk.StackProps, cfg config.Settings) (errs, warnings []string, err error) {
	err = withStandInAssets(func(assets string) error {
		app := awscdk.NewApp(nil)
		CheckCompliance(app)
		st := NewRootWindowStack(app, "RootWindow", &RootWindowStackProps{StackProps: props, Config: cfg, AssetDir: assets})
		ann := assertions.Annotations_FromStack(st.Stack)
		collect := func(found *[]*cxapi.SynthesisMessage, into *[]string) {
			for _, m := range *found {
				*into = append(*into, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
			}
			sort.Strings(*into)
		}
		collect(ann.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))), &errs)
		collect(ann.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))), &warnings)
		return nil
	})
	return errs, warnings, err
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
