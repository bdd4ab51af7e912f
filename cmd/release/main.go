// Command release writes a versioned release of rootwindow for the configuration the template was
// synthesized with (see internal/release): make release VERSION=1.4.0 CONFIG=rootwindow.json runs
// it after building the functions, the rootwindow binaries and the template.
//
//	go run ./cmd/release -version 1.4.0 -template cdk.out/RootWindow.template.json -functions bin -clis bin/release -out dist/rootwindow-1.4.0
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rootwindow/rootwindow/internal/release"
	"github.com/rootwindow/rootwindow/pkg/contract"
)

func main() {
	version := flag.String("version", "", "the release's semantic version (1.4.0)")
	template := flag.String("template", "cdk.out/RootWindow.template.json", "the synthesized template")
	functions := flag.String("functions", "bin", "where each function's bootstrap is (<dir>/<name>/bootstrap)")
	clis := flag.String("clis", "bin/release", "where the rootwindow binaries are (<dir>/rootwindow-<os>-<arch>)")
	out := flag.String("out", "", "the release's folder (default dist/rootwindow-<version>)")
	flag.Parse()
	if err := run(*version, *template, *functions, *clis, *out); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(2)
	}
}

func run(version, template, functions, clis, out string) error {
	v, err := release.Version(version)
	if err != nil {
		return err
	}
	if out == "" {
		out = filepath.Join("dist", "rootwindow-"+v)
	}
	s := release.Spec{Version: v, Functions: map[string][]byte{}, CLIs: map[string][]byte{}}
	if s.Template, err = os.ReadFile(template); err != nil {
		return fmt.Errorf("the template: %w (make synth writes it)", err)
	}
	for _, name := range contract.Functions {
		if s.Functions[name], err = os.ReadFile(filepath.Join(functions, name, "bootstrap")); err != nil {
			return fmt.Errorf("the %s function: %w (make build writes it)", name, err)
		}
	}
	for _, p := range release.Platforms {
		if s.CLIs[p], err = os.ReadFile(filepath.Join(clis, "rootwindow-"+p)); err != nil {
			return fmt.Errorf("rootwindow for %s: %w", p, err)
		}
	}
	files, err := release.Build(out, s)
	if err != nil {
		return err
	}
	fmt.Printf("rootwindow %s written to %s: %d files, checksums in SHA256SUMS\n", v, out, len(files))
	if bytes.Contains(s.Template, []byte("-cfn-exec-role-")) {
		fmt.Println("note: the template's deployment role is the CDK bootstrap's execution role (no deploymentRoleArn configured):",
			"deploy with it (aws cloudformation deploy --role-arn ...), or set deploymentRoleArn and build the release again")
	}
	return nil
}
