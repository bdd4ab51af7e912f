// Command infra is rootwindow's CDK app. It reads the configuration from the CDK context (cdk.json,
// -c key=value) or from the JSON file named by ROOTWINDOW_CONFIG, refuses to synthesize an invalid
// one, checks it against cdk-nag's AwsSolutions rules, and writes the stack for the management
// account.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/rootwindow/rootwindow/infra/stack"
)

func main() {
	app := awscdk.NewApp(nil)
	cfg, err := stack.ReadConfig(app, os.Getenv("ROOTWINDOW_CONFIG"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	assets := os.Getenv("ROOTWINDOW_ASSET_DIR")
	if assets == "" {
		assets = "bin"
	}
	props := awscdk.StackProps{
		Description: jsii.String("rootwindow: time-boxed lifting of the root-user guardrail SCP (management account)"),
	}
	if account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION"); account != "" && region != "" {
		props.Env = &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}
	}
	stack.NewRootWindowStack(app, "RootWindow", &stack.RootWindowStackProps{StackProps: props, Config: cfg, AssetDir: assets})
	// cdk-nag's AwsSolutions rules: `cdk synth` (and so `make synth`/`deploy`) fails on any
	// unsuppressed finding; every suppression carries its reason in infra/stack.
	stack.CheckCompliance(app)
	app.Synth(nil)
}
