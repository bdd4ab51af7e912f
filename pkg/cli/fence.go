package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/fence"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
)

// fenceCommand prints the SCP that fences rootwindow's home account (pkg/fence), and with --apply
// creates or updates it and attaches it to that account, with the management account's
// credentials.
func fenceCommand(ctx context.Context, args []string, env Env) int {
	fs := newFlags("rootwindow fence")
	var s fence.Spec
	var deployers, operators, profile string
	var apply bool
	fs.StringVar(&s.Account, "account", "", "")
	fs.StringVar(&s.Qualifier, "qualifier", fence.DefaultQualifier, "")
	fs.StringVar(&s.Partition, "partition", "aws", "")
	fs.StringVar(&deployers, "deployer", "", "")
	fs.StringVar(&operators, "operator", "", "")
	fs.StringVar(&profile, "profile", "", "")
	fs.BoolVar(&apply, "apply", false, "")
	if err := parseFlags(fs, args); err != nil {
		return flagError(env, fs, err)
	}
	if fs.NArg() > 0 {
		return usageError(env, "fence takes no argument, got %q", fs.Arg(0))
	}
	if s.Account == "" {
		return usageError(env, "fence needs --account, the account rootwindow is deployed in")
	}
	s.Deployers, s.Operators = config.SplitList(deployers), config.SplitList(operators)
	doc, err := fence.Document(s)
	if err != nil {
		return usageError(env, "%v", err)
	}
	if !apply {
		var pretty any
		_ = json.Unmarshal([]byte(doc), &pretty)
		b, _ := json.MarshalIndent(pretty, "", "  ")
		fmt.Fprintln(env.Stdout, string(b))
		fmt.Fprintf(env.Stderr, "The fence SCP for %s (%d of %d characters). Nothing was changed: run the same command with --apply, with the management account's credentials, to create it as %s and attach it to %s.\n",
			s.Account, len(doc), fence.MaxSize, fence.Name(s.Account), s.Account)
		return ExitOK
	}
	cfg, err := loadAWS(ctx, env, profile, guardrail.Region)
	if err != nil {
		return usageError(env, "fence: %v", err)
	}
	// The SDK's standard retries: a person waits for this one.
	client := guardrail.NewClient(cfg, func(o *organizations.Options) { o.RetryMaxAttempts = 5 })
	err = fence.Apply(ctx, client, s, func(step string) { fmt.Fprintln(env.Stdout, step) })
	switch {
	case errors.Is(err, fence.ErrNotAMember):
		fmt.Fprintln(env.Stderr, "rootwindow: fence:", err)
		return ExitRefused
	case err != nil:
		fmt.Fprintf(env.Stderr, "rootwindow: fence: %v\nWhat was done stays done; run the same command again to finish.\n", err)
		return ExitUnavailable
	}
	fmt.Fprintf(env.Stdout, "%s is fenced: only the deployment changes rootwindow there, and only rootwindow writes the organization's policies.\n", s.Account)
	return ExitOK
}
