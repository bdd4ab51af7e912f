package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/rootwindow/rootwindow/pkg/authz"
	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/request"
)

// The verbs that read (preflight) and change (rollout --apply) the organization itself, with
// management-account (or delegated administrator) credentials, not through rootwindow's API.

// orgFlags are the flags preflight and rollout share.
type orgFlags struct {
	policyID, ownerTag, strategy, output, profile, config string
	fs                                                    *flag.FlagSet
	// strategyFrom says where the strategy came from, for the line that says which is used.
	strategyFrom string
	line         *progressLine // how the scan goes, on a terminal
}

func newOrgFlags(name string, outputs string) (*flag.FlagSet, *orgFlags) {
	fs := newFlags(name)
	o := &orgFlags{fs: fs}
	fs.StringVar(&o.policyID, "policy-id", "", "")
	fs.StringVar(&o.ownerTag, "owner-tag", authz.DefaultOwnerTagKey, "")
	fs.StringVar(&o.strategy, "strategy", contract.StrategyDetach, "")
	fs.StringVar(&o.output, "output", outputs[:strings.IndexByte(outputs+"|", '|')], "")
	fs.StringVar(&o.profile, "profile", "", "")
	fs.StringVar(&o.config, "config", "", "")
	return fs, o
}

// fromConfig takes, for each of --policy-id, --owner-tag and --strategy not given, the value of
// the deployment's configuration file (--config, the file the stack is deployed from), so that
// the CLI answers for what the deployment will do; without it, the stack's defaults.
func (o *orgFlags) fromConfig() error {
	given := map[string]bool{}
	o.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	o.strategyFrom = "the stack's default; give --strategy, or --config with your deployment's file"
	if given["strategy"] {
		o.strategyFrom = "--strategy"
	}
	if o.config == "" {
		return nil
	}
	get, err := config.WithFile(func(string) any { return nil }, o.config)
	if err != nil {
		return fmt.Errorf("--config: %v", err)
	}
	s, err := config.FromLookup(get)
	if err != nil {
		return fmt.Errorf("--config %s: %v", o.config, err)
	}
	if !given["policy-id"] {
		o.policyID = s.GuardrailPolicyID
	}
	if !given["owner-tag"] && s.OwnerTagKey != "" {
		o.ownerTag = s.OwnerTagKey
	}
	if !given["strategy"] {
		o.strategy, o.strategyFrom = s.LiftStrategy, o.config+"'s liftStrategy"
	}
	return nil
}

// check validates the shared flags, after taking what they leave out from --config; outputs is
// the allowed --output values, "|"-separated.
func (o *orgFlags) check(outputs string) error {
	if err := o.fromConfig(); err != nil {
		return err
	}
	switch {
	case config.ValidPolicyID(o.policyID) != nil:
		return fmt.Errorf("--policy-id must be the guardrail's policy ID (p-...), got %q", o.policyID)
	case !config.IsTagKey(o.ownerTag):
		return fmt.Errorf("--owner-tag must be a tag key (1 to 128 letters, digits, spaces and _.:/=+-@), got %q", o.ownerTag)
	case o.strategy != contract.StrategyDetach && o.strategy != contract.StrategyExempt && o.strategy != contract.StrategyAuto:
		return fmt.Errorf("--strategy must be detach, exempt or auto, got %q", o.strategy)
	case !strings.Contains("|"+outputs+"|", "|"+o.output+"|"):
		return fmt.Errorf("--output must be %s, got %q", strings.ReplaceAll(outputs, "|", " or "), o.output)
	}
	return nil
}

// organizationFailed answers a failed read of the organization in a plain sentence, by what the
// person can do about it: a policy ID that is not the organization's, or credentials that may not
// read it, are refused (ExitRefused); anything else may pass (ExitUnavailable).
func organizationFailed(env Env, what, policyID string, err error) int {
	var notFound *orgtypes.PolicyNotFoundException
	var denied *orgtypes.AccessDeniedException
	var notInOrg *orgtypes.AWSOrganizationsNotInUseException
	switch {
	case errors.As(err, &notFound):
		fmt.Fprintf(env.Stderr, "rootwindow: %s: %s is not a policy of this organization: check --policy-id (aws organizations list-policies --filter SERVICE_CONTROL_POLICY)\n", what, policyID)
		return ExitRefused
	case errors.As(err, &denied):
		fmt.Fprintf(env.Stderr, "rootwindow: %s: these credentials may not read the organization: run it with the management account's (or the delegated administrator's) credentials\n", what)
		return ExitRefused
	case errors.As(err, &notInOrg):
		fmt.Fprintf(env.Stderr, "rootwindow: %s: these credentials' account is not in an organization\n", what)
		return ExitRefused
	}
	fmt.Fprintf(env.Stderr, "rootwindow: %s: %v\n", what, err)
	return ExitUnavailable
}

// say tells the person, on stderr, which strategy the answer is for and where it came from.
func (o *orgFlags) say(env Env, verb string) {
	fmt.Fprintf(env.Stderr, "rootwindow: %s for the %s strategy (%s)\n", verb, o.strategy, o.strategyFrom)
}

// organization is the guardrail and the Organizations client the verb works with.
func (o *orgFlags) organization(ctx context.Context, env Env) (*guardrail.Guardrail, *organizations.Client, error) {
	cfg, err := loadAWS(ctx, env, o.profile, guardrail.Region)
	if err != nil {
		return nil, nil, err
	}
	client := guardrail.NewClient(cfg)
	var opts guardrail.Options
	if env.Progress != nil && o.output != "json" && o.output != "csv" {
		now := env.Now
		if now == nil {
			now = time.Now
		}
		o.line = newProgressLine(env.Progress, now)
		opts.Progress = o.line.update
	}
	return guardrail.New(client, o.policyID, opts), client, nil
}

// endProgress ends the progress line, if one was drawn.
func (o *orgFlags) endProgress() {
	if o.line != nil {
		o.line.done()
	}
}

// preflight scans the organization (guardrail.Scan) and prints every account's answer, then the
// counts by reason.
func preflight(ctx context.Context, args []string, env Env) int {
	const outputs = "table|json|csv"
	fs, o := newOrgFlags("rootwindow preflight", outputs)
	if err := parseFlags(fs, args); err != nil {
		return flagError(env, fs, err)
	}
	if fs.NArg() > 0 {
		return usageError(env, "preflight takes no argument, got %q", fs.Arg(0))
	}
	if err := o.check(outputs); err != nil {
		return usageError(env, "%v", err)
	}
	g, client, err := o.organization(ctx, env)
	if err != nil {
		return usageError(env, "%v", err)
	}
	o.say(env, "preflight")
	rep, err := g.Scan(ctx, client, o.strategy, o.ownerTag)
	o.endProgress()
	if err != nil {
		return organizationFailed(env, "preflight", o.policyID, err)
	}
	switch o.output {
	case "json":
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintln(env.Stdout, string(b))
	case "csv":
		w := csv.NewWriter(env.Stdout)
		_ = w.Write([]string{"accountId", "name", "path", "strategy", "reason", "detail"})
		for _, e := range rep.Accounts {
			_ = w.Write([]string{e.AccountID, e.Name, e.Path, e.Strategy, e.Reason, e.Detail})
		}
		w.Flush()
	default:
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ACCOUNT\tNAME\tPATH\tSTRATEGY\tREASON")
		for _, e := range rep.Accounts {
			strategy := e.Strategy
			if strategy == "" {
				strategy = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.AccountID, e.Name, e.Path, strategy, e.Reason)
		}
		_ = tw.Flush()
		reasons := make([]string, 0, len(rep.Counts))
		for r := range rep.Counts {
			reasons = append(reasons, r)
		}
		sort.Strings(reasons)
		fmt.Fprintf(env.Stdout, "\n%d accounts under %d OUs:", len(rep.Accounts), rep.OUs)
		for _, r := range reasons {
			fmt.Fprintf(env.Stdout, " %s %d;", r, rep.Counts[r])
		}
		fmt.Fprintln(env.Stdout)
	}
	return ExitOK
}

// rollout plans (guardrail.PlanRollout) the Organizations calls that make the selected accounts
// eligible, prints them, and with --apply makes them (guardrail.ApplyRollout).
func rollout(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 || args[0] != "plan" {
		return usageError(env, "rollout takes the word plan first: rootwindow rollout plan --policy-id p-... (--accounts ID,... | --ou ou-...,... | --all) [--owner VALUE] [--apply]")
	}
	const outputs = "text|json"
	fs, o := newOrgFlags("rootwindow rollout plan", outputs)
	var accounts, ous, owner string
	var all, apply bool
	fs.StringVar(&accounts, "accounts", "", "")
	fs.StringVar(&ous, "ou", "", "")
	fs.BoolVar(&all, "all", false, "")
	fs.StringVar(&owner, "owner", "", "")
	fs.BoolVar(&apply, "apply", false, "")
	if err := parseFlags(fs, args[1:]); err != nil {
		return flagError(env, fs, err)
	}
	sel := guardrail.Selection{Accounts: config.SplitList(accounts), OUs: config.SplitList(ous), All: all}
	if err := o.check(outputs); err != nil {
		return usageError(env, "%v", err)
	}
	if err := checkSelection(sel); err != nil {
		return usageError(env, "%v", err)
	}
	if err := checkOwner(owner); err != nil {
		return usageError(env, "--owner %v", err)
	}
	if fs.NArg() > 0 {
		return usageError(env, "rollout plan takes no argument, got %q", fs.Arg(0))
	}
	g, client, err := o.organization(ctx, env)
	if err != nil {
		return usageError(env, "%v", err)
	}
	o.say(env, "rollout")
	plan, err := g.PlanRollout(ctx, client, sel, o.strategy, o.ownerTag, owner)
	o.endProgress()
	if errors.Is(err, guardrail.ErrSelection) {
		fmt.Fprintln(env.Stderr, "rootwindow: rollout:", err, "(rootwindow preflight lists the organization's accounts and their paths)")
		return ExitRefused
	}
	if err != nil {
		return organizationFailed(env, "rollout: reading the organization", o.policyID, err)
	}
	if o.output == "json" && !apply {
		b, _ := json.MarshalIndent(plan, "", "  ")
		fmt.Fprintln(env.Stdout, string(b))
		return ExitOK
	}
	fmt.Fprintf(env.Stdout, "%d call(s) would make accounts eligible; %d selected account(s) are ready already; %d remain for a person to decide.\n",
		len(plan.Steps), len(plan.Ready), len(plan.Remaining))
	for _, s := range plan.Steps {
		fmt.Fprintln(env.Stdout, "  "+s.Command())
	}
	printRemaining(env, plan.Remaining)
	if !apply {
		if len(plan.Steps) > 0 {
			fmt.Fprintln(env.Stdout, "Nothing was changed. Run the same command with --apply to make these calls.")
		}
		return ExitOK
	}
	err = g.ApplyRollout(ctx, client, plan.Steps, func(i int, s guardrail.Step) {
		fmt.Fprintf(env.Stdout, "[%d/%d] done: %s\n", i+1, len(plan.Steps), s.Command())
	})
	if err != nil {
		fmt.Fprintf(env.Stderr, "rootwindow: rollout stopped at %v\nWhat was done stays done; run the same command again to resume.\n", err)
		return ExitUnavailable
	}
	fmt.Fprintf(env.Stdout, "Applied %d call(s). rootwindow preflight shows the result.\n", len(plan.Steps))
	return ExitOK
}

func printRemaining(env Env, remaining []guardrail.Eligibility) {
	if len(remaining) == 0 {
		return
	}
	fmt.Fprintln(env.Stdout, "Not made eligible by these calls:")
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	for _, e := range remaining {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.AccountID, e.Reason, e.Detail)
	}
	_ = tw.Flush()
}

// checkSelection requires one way of choosing accounts, each name well formed.
func checkSelection(sel guardrail.Selection) error {
	ways := 0
	for _, on := range []bool{len(sel.Accounts) > 0, len(sel.OUs) > 0, sel.All} {
		if on {
			ways++
		}
	}
	if ways != 1 {
		return errors.New("choose the accounts with exactly one of --accounts ID,..., --ou ou-...,... or --all")
	}
	for _, a := range sel.Accounts {
		if !config.IsAccountID(a) {
			return fmt.Errorf("--accounts: %q is not an account ID (12 digits)", a)
		}
	}
	for _, ou := range sel.OUs {
		if !config.IsOUID(ou) {
			return fmt.Errorf("--ou: %q is not an OU ID (ou-xxxx-xxxxxxxx)", ou)
		}
	}
	return nil
}

// checkOwner accepts an owner tag value Organizations takes (config.IsTagValue): at most 256
// letters, digits, spaces and _.:/=+-@. Owners are separated by spaces: a comma is not allowed in
// a tag value, and the command it would print fails as AWS refuses it.
func checkOwner(owner string) error {
	if n := utf8.RuneCountInString(owner); n > 256 {
		return fmt.Errorf("is %d characters; a tag value holds at most 256", n)
	}
	if !config.IsTagValue(owner) {
		return fmt.Errorf("%s is not a tag value Organizations takes (letters, digits, spaces and _.:/=+-@ only): separate owners with spaces, not commas", request.Quote(owner))
	}
	return nil
}
