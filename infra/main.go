// Command infra is rootwindow's CDK app. It reads the configuration from the CDK context, refuses
// to synthesize an invalid one, and writes the stack for the management account.
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
	cfg, err := stack.LoadConfig(func(key string) any { return app.Node().TryGetContext(jsii.String(key)) })
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	assets := os.Getenv("ROOTWINDOW_ASSET_DIR")
	if assets == "" {
		assets = "bin"
	}
	stack.NewRootWindowStack(app, "RootWindow", &stack.RootWindowStackProps{
		StackProps: awscdk.StackProps{
			Description: jsii.String("rootwindow: time-boxed lifting of the root-user guardrail SCP (management account)"),
			Env: &awscdk.Environment{
				Account: jsii.String(os.Getenv("CDK_DEFAULT_ACCOUNT")),
				Region:  jsii.String(os.Getenv("CDK_DEFAULT_REGION")),
			},
		},
		Config:   cfg,
		AssetDir: assets,
	})
	app.Synth(nil)
}
