package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/rootwindow/rootwindow/pkg/config"
)

// doctor checks, before anything slow, what a deployment needs from this machine: the
// configuration file it is deployed from (every problem at once, each naming its key), and AWS
// credentials and a region. `make deploy`, `diff` and `destroy` run it before they build.
func doctor(ctx context.Context, args []string, env Env) int {
	fs := newFlags("rootwindow doctor")
	var file, profile, region string
	fs.StringVar(&file, "config", "rootwindow.json", "")
	fs.StringVar(&profile, "profile", "", "")
	fs.StringVar(&region, "region", "", "")
	if err := parseFlags(fs, args); err != nil {
		return flagError(env, fs, err)
	}
	if fs.NArg() > 0 {
		return usageError(env, "doctor takes no argument, got %q", fs.Arg(0))
	}
	ok := true
	problem := func(format string, args ...any) {
		fmt.Fprintf(env.Stderr, "rootwindow: doctor: "+format+"\n", args...)
		ok = false
	}
	if _, err := os.Stat(file); err != nil {
		problem("%s not found: copy config/sample.json there and fill it in (or give --config, CONFIG=path for make)", file)
	} else if get, err := config.WithFile(func(string) any { return nil }, file); err != nil {
		problem("%v", err)
	} else if s, err := config.FromLookup(get); err != nil {
		problem("%s: %v", file, err)
	} else {
		fmt.Fprintf(env.Stdout, "configuration  %s: guardrail %s, organization %s, strategy %s\n", file, s.GuardrailPolicyID, s.OrganizationID, s.LiftStrategy)
	}
	cfg, err := loadAWS(ctx, env, profile, region)
	switch {
	case err != nil:
		problem("%v", err)
	case cfg.Region == "":
		problem("no region: set AWS_REGION (or the profile's region), where the stack is deployed")
	default:
		fmt.Fprintf(env.Stdout, "credentials    found; region %s\n", cfg.Region)
	}
	if !ok {
		return ExitUsage
	}
	return ExitOK
}
