// Command demo runs one root access window end to end on this machine (`make demo`): an emulated
// organization, the synthesized state machine, the real Lambda handlers, and a timeline of what
// happened, in virtual time that starts at the same instant on every run (so two runs with the
// same options print the same timeline but for IDs). The handlers' logs and metrics go to the
// file -log (or to standard error with -verbose). It exits non-zero if the root user is not
// blocked after the run, or the guardrail does not apply to every account as before it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rootwindow/rootwindow/internal/harness"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// wholeNumber is an int option whose parse error names the make variable that sets it.
func wholeNumber(fs *flag.FlagSet, name, makeVar string, value int, usage string) *int {
	v := &value
	fs.Func(name, usage, func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%s must be a whole number, got %q", makeVar, s)
		}
		*v = n
		return nil
	})
	return v
}

func run(args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the error says which option and why; the usage is `go doc ./cmd/demo`
	accounts := wholeNumber(fs, "accounts", "ACCOUNTS", 3, "emulated member accounts in the request (1 to 50)")
	hours := wholeNumber(fs, "hours", "HOURS", 2, "window length in hours (1 to 4)")
	var startIn time.Duration
	fs.Func("start-in", "start the window this far in the future (e.g. 30m), in the handlers' clock", func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("START_IN must be a duration with its unit, like 30m or 2h (0 for now), got %q", v)
		}
		startIn = d
		return nil
	})
	fault := fs.String("fault", "none", "fault to inject: none, throttle, detach-partway, reattach-flaky")
	logPath := fs.String("log", "bin/demo.log", "where the handlers' logs and metrics go")
	verbose := fs.Bool("verbose", false, "the handlers' logs and metrics to standard error instead of -log")
	orgEndpoint := fs.String("organizations-endpoint", "", "use this Organizations endpoint instead of the built-in emulator")
	dbEndpoint := fs.String("dynamodb-endpoint", "", "use this DynamoDB endpoint instead of starting dynalite")
	accountIDs := fs.String("account-ids", "", "comma-separated existing member account IDs (with -organizations-endpoint)")
	policyID := fs.String("policy-id", "", "the guardrail policy ID in that organization (with -organizations-endpoint)")
	requester := fs.String("requester", harness.Requester, "who asks (must match -admin-pattern and the accounts' owner tags)")
	admin := fs.String("admin-pattern", harness.AdminPattern, "administrator principal pattern")
	layout := fs.String("layout", "direct", "where the emulated guardrail is attached: direct, ou, root or mixed (built-in emulator)")
	strategy := fs.String("strategy", contract.StrategyAuto, "lift strategy: detach, exempt or auto")
	channel := fs.String("channel", "console", "how the request is made: console (an execution started with it) or cli (the rootwindow command through a local API)")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(os.Stdout)
		fs.PrintDefaults()
		return nil
	} else if err != nil {
		return err
	}
	if _, ok := harness.Layouts[*layout]; !ok {
		return fmt.Errorf("-layout (LAYOUT) must be direct, ou, root or mixed, got %q", *layout)
	}
	if *layout != "direct" && *orgEndpoint != "" {
		return fmt.Errorf("-layout (LAYOUT) %s needs the built-in emulator: with -organizations-endpoint the organization is as it is", *layout)
	}
	if *channel != "console" && *channel != "cli" {
		return fmt.Errorf("-channel (CHANNEL) must be console or cli, got %q", *channel)
	}
	switch *strategy {
	case contract.StrategyDetach, contract.StrategyExempt, contract.StrategyAuto:
	default:
		return fmt.Errorf("-strategy (STRATEGY) must be detach, exempt or auto, got %q", *strategy)
	}
	// Every option is checked before anything is built or synthesized, named as make names it.
	if *accounts < 1 || *accounts > 50 {
		return fmt.Errorf("-accounts (ACCOUNTS) must be from 1 to 50, got %d", *accounts)
	}
	if *hours < 1 || *hours > 4 {
		return fmt.Errorf("-hours (HOURS) must be a whole number of hours from 1 to 4, got %d", *hours)
	}
	if startIn < 0 {
		return fmt.Errorf("-start-in (START_IN) must not be negative, got %v", startIn)
	}
	if _, ok := harness.Faults[*fault]; !ok {
		return fmt.Errorf("-fault (FAULT) must be one of none, throttle, detach-partway, reattach-flaky, got %q", *fault)
	}
	opts := harness.Options{Start: Start, OrganizationsEndpoint: *orgEndpoint, DynamoDBEndpoint: *dbEndpoint,
		GuardrailPolicyID: *policyID, AdminPattern: *admin,
		// Patient enough for an emulated throttle, quick enough to watch.
		Backoff: guardrail.Backoff{Attempts: 8, Base: 50 * time.Millisecond, Max: 800 * time.Millisecond}}
	if *orgEndpoint != "" {
		if *accountIDs == "" {
			return fmt.Errorf("-organizations-endpoint needs -account-ids and -policy-id")
		}
		for id := range strings.SplitSeq(*accountIDs, ",") {
			opts.Members = append(opts.Members, strings.TrimSpace(id))
		}
	} else {
		for i := range *accounts {
			if i < 8 {
				opts.Members = append(opts.Members, strings.Repeat(fmt.Sprint(i+1), 12))
			} else {
				opts.Members = append(opts.Members, fmt.Sprintf("1%011d", i))
			}
		}
	}
	// The handlers write their logs and metrics to standard output, as in Lambda: here they go to
	// the log (or standard error), and the demo's own output keeps standard output to itself.
	out := os.Stdout
	where := "standard error"
	if *verbose {
		os.Stdout = os.Stderr
	} else {
		if err := os.MkdirAll(filepath.Dir(*logPath), 0o755); err != nil {
			return fmt.Errorf("-log: %w", err)
		}
		f, err := os.Create(*logPath)
		if err != nil {
			return fmt.Errorf("-log: %w", err)
		}
		defer f.Close()
		os.Stdout, where = f, *logPath
	}
	defer func() { os.Stdout = out }()
	ctx := context.Background()
	fmt.Fprintln(os.Stderr, "starting the emulators and synthesizing the stack...")
	h, err := harness.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer h.Close()
	defer fmt.Fprintf(out, "  logs          the handlers' logs and metrics: %s\n", where)
	d := harness.Demo{Accounts: h.Members(), Hours: *hours, Fault: *fault, Requester: *requester, Layout: *layout, Strategy: *strategy, Channel: *channel}
	if startIn > 0 {
		d.StartAt = h.Clock.Now().Add(startIn).Truncate(time.Second)
	}
	return h.RunDemo(ctx, out, d)
}

// Start is the virtual instant every demo starts at: the same timeline on every run.
var Start = time.Date(2026, time.November, 2, 9, 0, 0, 0, time.UTC)
