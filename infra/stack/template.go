package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"

	"github.com/rootwindow/rootwindow/pkg/config"
)

// Functions' asset folder names, as `make build` writes them under bin/.
var assetNames = []string{"validate", "detach", "reattach", "api", "sweeper"}

// StandInTemplate synthesizes the stack in process and returns its CloudFormation template, for
// tests and local runs. The template only names each Lambda bundle, so stand-in bundles take the
// place of the cross-compiled ones that `make build` produces.
func StandInTemplate(props awscdk.StackProps, cfg config.Settings) (template map[string]any, err error) {
	err = withStandInAssets(func(assets string) error {
		st := NewRootWindowStack(awscdk.NewApp(nil), "RootWindow", &RootWindowStackProps{StackProps: props, Config: cfg, AssetDir: assets})
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

// withStandInAssets runs synth with a folder of stand-in Lambda bundles, removed afterwards.
func withStandInAssets(synth func(assets string) error) error {
	assets, err := os.MkdirTemp("", "rootwindow-assets")
	if err != nil {
		return err
	}
	defer os.RemoveAll(assets)
	for _, fn := range assetNames {
		if err := os.MkdirAll(filepath.Join(assets, fn), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(assets, fn, "bootstrap"), []byte("stand-in for "+fn), 0o755); err != nil {
			return err
		}
	}
	return synth(assets)
}
