//lint:file-ignore SA1019 assertions.Annotations (CDK v2.270) still returns cxapi.SynthesisMessage

// Package cdktest synthesizes rootwindow's stack in process for tests and local runs: its
// CloudFormation template, and cdk-nag's findings on it. Stand-in Lambda bundles take the place
// of the cross-compiled ones `make build` writes, since the template only names each bundle.
package cdktest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"

	"github.com/rootwindow/rootwindow/infra/stack"
	"github.com/rootwindow/rootwindow/pkg/config"
)

// Template synthesizes the stack in process and returns its CloudFormation template, for
// tests and local runs. The template only names each Lambda bundle, so stand-in bundles take the
// place of the cross-compiled ones that `make build` produces.
func Template(props awscdk.StackProps, cfg config.Settings) (template map[string]any, err error) {
	err = withStandInAssets(func(assets string) error {
		st := stack.NewRootWindowStack(awscdk.NewApp(nil), "RootWindow", &stack.RootWindowStackProps{StackProps: props, Config: cfg, AssetDir: assets})
		raw, err := json.Marshal(assertions.Template_FromStack(st.Stack, nil).ToJSON())
		if err != nil {
			return fmt.Errorf("synthesized template: %w", err)
		}
		if err := json.Unmarshal(raw, &template); err != nil {
			return fmt.Errorf("synthesized template: %w", err)
		}
		return nil
	})
	return template, err
}

// NagFindings synthesizes the stack with stand-in Lambda bundles under the AwsSolutions rules and
// returns the unsuppressed errors and warnings, one "path: message" each.
func NagFindings(props awscdk.StackProps, cfg config.Settings) (errs, warnings []string, err error) {
	err = withStandInAssets(func(assets string) error {
		app := awscdk.NewApp(nil)
		stack.CheckCompliance(app)
		st := stack.NewRootWindowStack(app, "RootWindow", &stack.RootWindowStackProps{StackProps: props, Config: cfg, AssetDir: assets})
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

// withStandInAssets runs synth with a folder of stand-in Lambda bundles, removed afterwards.
func withStandInAssets(synth func(assets string) error) error {
	assets, err := os.MkdirTemp("", "rootwindow-assets")
	if err != nil {
		return err
	}
	defer os.RemoveAll(assets)
	for _, fn := range stack.FunctionNames {
		if err := os.MkdirAll(filepath.Join(assets, fn), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(assets, fn, "bootstrap"), []byte("stand-in for "+fn), 0o755); err != nil {
			return err
		}
	}
	return synth(assets)
}
