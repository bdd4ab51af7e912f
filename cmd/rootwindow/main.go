// Command rootwindow is the requester's command line: ask for a root access window, follow it,
// end, cancel or confirm it. See `rootwindow help` and the README.
package main

import (
	"context"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"

	"github.com/rootwindow/rootwindow/pkg/cli"
)

func main() {
	var progress io.Writer // long reads draw how they go only for a person at a terminal
	if terminal(os.Stdout) && terminal(os.Stderr) {
		progress = os.Stderr
	}
	os.Exit(cli.Run(context.Background(), os.Args[1:], cli.Env{
		Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Progress: progress,
		AWS: func(ctx context.Context, profile, region string) (aws.Config, error) {
			// The SDK's own warnings (an instance metadata fallback, say) are not for the person
			// at the terminal: what fails is said in one sentence (pkg/cli).
			opts := []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{})}
			if profile != "" {
				opts = append(opts, config.WithSharedConfigProfile(profile))
			}
			if region != "" {
				opts = append(opts, config.WithRegion(region))
			}
			return config.LoadDefaultConfig(ctx, opts...)
		},
	}))
}

// terminal reports whether f is a terminal (a character device), not a pipe or a file.
func terminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
