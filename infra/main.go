// Command infra is rootwindow's CDK app. It reads the configuration from the CDK context (cdk.json,
// -c key=value) or from the JSON file named by ROOTWINDOW_CONFIG, refuses to synthesize an invalid
// one, and writes the stack for the management account.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/rootwindow/rootwindow/infra/stack"
)

func main() {
	app := awscdk.NewApp(nil)
	file, err := configFile(os.Getenv("ROOTWINDOW_CONFIG"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cfg, err := stack.LoadConfig(func(key string) any {
		if v := app.Node().TryGetContext(jsii.String(key)); v != nil {
			return v // context given to the CLI wins over the file
		}
		return file[key]
	})
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
	app.Synth(nil)
}

func configFile(path string) (map[string]any, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ROOTWINDOW_CONFIG: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("ROOTWINDOW_CONFIG %s is not a JSON object: %w", path, err)
	}
	return m, nil
}
