// Command playground runs rootwindow on this machine until interrupted, for trying every
// `rootwindow` verb by hand: an emulated organization (a few OUs, the guardrail, owners), the
// ledger (dynalite), the synthesized state machine run locally, the real handlers, and in front
// of the real api handler a local stand-in for API Gateway that checks each call's SigV4
// signature. It prints the environment to export. Windows pass on the playground's clock, which
// runs -speed times faster than the wall clock (60: an hour-long window closes after a minute).
//
//	make playground            # or: go run ./cmd/playground [-speed 60] [-strategy auto] [-approval]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/harness"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/simtime"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "playground:", err)
		os.Exit(2)
	}
}

// The people of the playground: alice owns the members, bob is a second administrator (an
// approver). Their access keys are what the stand-in API Gateway knows them by.
const (
	aliceKey, aliceSecret = "AKIDPLAYALICE", "playground-alice"
	bobKey, bobSecret     = "AKIDPLAYBOB", "playground-bob"
	bob                   = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_0123abcd/bob@example.com"
	region                = "us-east-1"
	// eventDataStore is the playground's CloudTrail Lake event data store: the window reports and
	// the look for root outside windows read it (the owners' root sign-ins are played into it).
	eventDataStore = "arn:aws:cloudtrail:us-east-1:999999999999:eventdatastore/playground-0000-4000-8000-000000000001"
)

// Options are the playground's settings.
type Options struct {
	Speed    float64 // virtual seconds per wall-clock second
	Strategy string  // the lift strategy the deployment is configured with
	Approval bool    // requests wait for a second administrator
	Log      io.Writer
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("playground", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	speed := fs.Float64("speed", 60, "how much faster than the wall clock the playground's clock runs (1 to 3600)")
	strategy := fs.String("strategy", contract.StrategyAuto, "lift strategy: detach, exempt or auto")
	approval := fs.Bool("approval", false, "requests wait for a second administrator (bob) to approve")
	logPath := fs.String("log", "bin/playground.log", "where the handlers' logs and metrics go")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(out)
		fs.PrintDefaults()
		return nil
	} else if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("the playground takes no argument, got %q", fs.Arg(0))
	}
	if *speed < 1 || *speed > 3600 {
		return fmt.Errorf("-speed (SPEED) must be from 1 to 3600, got %v", *speed)
	}
	switch *strategy {
	case contract.StrategyDetach, contract.StrategyExempt, contract.StrategyAuto:
	default:
		return fmt.Errorf("-strategy (STRATEGY) must be detach, exempt or auto, got %q", *strategy)
	}
	// The handlers write their logs and metrics to standard output, as in Lambda: here they go to
	// the log, and the playground's own lines keep standard output to themselves.
	if err := os.MkdirAll(filepath.Dir(*logPath), 0o755); err != nil {
		return fmt.Errorf("-log: %w", err)
	}
	logFile, err := os.Create(*logPath)
	if err != nil {
		return fmt.Errorf("-log: %w", err)
	}
	defer logFile.Close()
	os.Stdout = logFile

	fmt.Fprintln(out, "Starting the playground (emulators, dynalite, the synthesized state machine)…")
	p, err := Start(ctx, Options{Speed: *speed, Strategy: *strategy, Approval: *approval, Log: out})
	if err != nil {
		return err
	}
	defer p.Close()
	p.PrintWelcome(out, *logPath)
	<-ctx.Done()
	fmt.Fprintln(out, "\nStopping the playground.")
	return nil
}

// Playground is a running rootwindow on this machine.
type Playground struct {
	h       *harness.Harness
	gateway *http.Server
	url     string
	speed   float64
	done    chan struct{}
	wg      sync.WaitGroup
	log     io.Writer
	logMu   sync.Mutex
}

// Start brings the playground up: the harness, the organization's layout, the configuration, the
// stand-in API Gateway, the clock and the sweep schedule.
func Start(ctx context.Context, o Options) (*Playground, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	h, err := harness.Start(ctx, harness.Options{})
	if err != nil {
		return nil, err
	}
	p := &Playground{h: h, speed: o.Speed, done: make(chan struct{}), log: o.Log}
	layOut(h.Org)
	h.AWS.AddEventDataStore(eventDataStore)
	env := map[string]string{contract.EnvLiftStrategy: o.Strategy, contract.EnvTrailEventDataStore: eventDataStore}
	if o.Approval {
		env[contract.EnvApproval], env[contract.EnvApprovalMinutes] = config.ApprovalSecondAdmin, "60"
	}
	// Organizations does not throttle here: a paced call would wait for the playground's clock,
	// which moves by SPEED × 100 ms at a time (BENCHMARKS.md §7 measures the documented throttles).
	if err := h.Configure(ctx, env); err != nil {
		h.Close()
		return nil, err
	}
	// Each call to the API is an actor of the playground's clock: time stands still while the
	// api handler works, as it does for a Lambda invocation.
	gw := &testenv.Gateway{Handler: h.API(), Region: region,
		Callers: map[string]string{aliceKey: harness.Requester, bobKey: bob}, Secrets: map[string]string{aliceKey: aliceSecret, bobKey: bobSecret}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.Close()
		return nil, err
	}
	p.url = "http://" + ln.Addr().String() + "/v1/"
	p.gateway = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := h.Clock.Go("api call")
		defer a.Done()
		gw.ServeHTTP(w, r.WithContext(simtime.WithActor(r.Context(), a)))
	})}
	go func() { _ = p.gateway.Serve(ln) }()
	// Every execution the API starts runs as Step Functions would run it.
	h.AWS.OnStart(func(e awsemu.Execution) {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.say("execution %s started", e.Name)
			res, err := h.RunWith(context.WithoutCancel(ctx), e.Name, e.Input, harness.RunOptions{})
			switch {
			case err != nil:
				p.say("execution %s: %v", e.Name, err)
			case res.Error != "":
				p.say("execution %s %s: %s", e.Name, res.Status, res.Error)
			default:
				p.say("execution %s %s", e.Name, res.Status)
			}
		}()
	})
	p.runClock()
	p.runSweeps()
	return p, nil
}

// layOut adds to the harness's organization (three members with the guardrail attached directly,
// owned by alice) what preflight and rollout have something to say about: an OU holding the
// guardrail, with an owned account and one without an owner tag; an account where the guardrail
// applies nowhere.
func layOut(org *orgemu.Server) {
	const team = "ou-play-platform"
	org.AddOU(team, org.Root(), orgemu.FullAWSAccessID, orgemu.GuardrailID)
	org.AddAccount(orgemu.Account{ID: "444444444444", Name: "platform-prod", Parent: team, Tags: map[string]string{"owner": harness.Owner}}, orgemu.FullAWSAccessID)
	org.AddAccount(orgemu.Account{ID: "555555555555", Name: "platform-sandbox", Parent: team}, orgemu.FullAWSAccessID)
	org.AddAccount(orgemu.Account{ID: "666666666666", Name: "data-lake"}, orgemu.FullAWSAccessID)
}

// runClock moves the playground's clock: every tenth of a second of the wall clock it lets
// speed tenths of a second pass, firing whatever is due meanwhile (a window's end, a retry).
func (p *Playground) runClock() {
	tick := p.h.Clock.Go("playground clock")
	step := time.Duration(float64(100*time.Millisecond) * p.speed)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer tick.Done()
		ctx, cancel := context.WithCancel(simtime.WithActor(context.Background(), tick))
		defer cancel()
		go func() { <-p.done; cancel() }()
		for {
			select {
			case <-p.done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if tick.Sleep(ctx, step) != nil {
				return
			}
		}
	}()
}

// runSweeps runs the sweeper every 5 minutes of the playground's clock, as the stack's schedule
// does.
func (p *Playground) runSweeps() {
	sweeps := p.h.Clock.Go("sweep schedule")
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer sweeps.Done()
		ctx, cancel := context.WithCancel(simtime.WithActor(context.Background(), sweeps))
		defer cancel()
		go func() { <-p.done; cancel() }()
		signedIn := map[string]bool{}
		for sweeps.Sleep(ctx, 5*time.Minute) == nil {
			p.signInAsRoot(ctx, signedIn)
			if err := p.h.Sweep(ctx); err != nil && ctx.Err() == nil {
				p.say("sweep: %v", err)
			}
		}
	}()
}

// signInAsRoot plays, into the event data store, the owner signing in as root a minute into each
// window that has been lifted (once each), so that its report has something to show.
func (p *Playground) signInAsRoot(ctx context.Context, done map[string]bool) {
	recs, _, err := p.h.Ledger().List(ctx, ledger.Filter{}, 50, "")
	if err != nil {
		return
	}
	for _, rec := range recs {
		from, _, lifted := rec.Lifted()
		if !lifted || done[rec.RequestID] {
			continue
		}
		done[rec.RequestID] = true
		for i, a := range rec.AccountIDs {
			p.h.AWS.AddLakeEvents(eventDataStore, awsemu.RootEvent(fmt.Sprintf("%s-signin-%d", rec.RequestID, i), a, "ConsoleLogin", from.Add(time.Minute),
				"eventSource", "signin.amazonaws.com", "sourceIPAddress", "192.0.2.44"))
		}
	}
}

// say prints one line of what happens, stamped with the playground's clock.
func (p *Playground) say(format string, args ...any) {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	fmt.Fprintf(p.log, "[%s] %s\n", p.h.Clock.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// Env is the environment under which the rootwindow command talks to the playground as alice
// (the requester and owner); as bob, the access key and secret are Bob's.
func (p *Playground) Env() map[string]string {
	return map[string]string{
		"ROOTWINDOW_ENDPOINT": p.url, "AWS_REGION": region,
		"AWS_ACCESS_KEY_ID": aliceKey, "AWS_SECRET_ACCESS_KEY": aliceSecret, "AWS_SESSION_TOKEN": "",
		"AWS_ENDPOINT_URL_ORGANIZATIONS": os.Getenv("AWS_ENDPOINT_URL_ORGANIZATIONS"),
		"AWS_EC2_METADATA_DISABLED":      "true",
	}
}

// PrintWelcome prints the environment to export and what to try.
func (p *Playground) PrintWelcome(w io.Writer, logPath string) {
	env := p.Env()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "\nrootwindow's playground is running (its clock runs %v× the wall clock; the handlers log to %s).\n", p.speed, logPath)
	fmt.Fprintln(w, "In another terminal, as alice (an administrator, owner of the members):")
	fmt.Fprintln(w)
	for _, k := range keys {
		if env[k] == "" {
			fmt.Fprintf(w, "  unset %s\n", k)
			continue
		}
		fmt.Fprintf(w, "  export %s=%s\n", k, env[k])
	}
	fmt.Fprintf(w, `
then try (go build -o bin/rootwindow ./cmd/rootwindow first, or go run ./cmd/rootwindow):

  rootwindow request --accounts 111111111111 --hours 1 --reason "Reset the root password (PLAY-1)" --wait
  rootwindow status <id>          rootwindow list
  rootwindow end <id>             rootwindow cancel <id>   (one booked with --start in the future)
  rootwindow report <id>          15 minutes (of the playground's clock) after a window ends: what
                                  root did in it (the playground plays the owner's root sign-in)
  rootwindow subscribe --email you@example.com
  rootwindow preflight --policy-id %s --strategy auto
  rootwindow rollout plan --policy-id %s --all --owner %s [--apply]
  as bob (a second administrator): AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s rootwindow approve <id>

Members 111111111111, 222222222222 and 333333333333 carry the guardrail; ou-play-platform holds
it for 444444444444 (owned) and 555555555555 (no owner tag); 666666666666 has none.
Stop with Ctrl-C.

`, p.h.PolicyID, p.h.PolicyID, harness.Owner, bobKey, bobSecret)
}

// Close stops the playground and everything it started.
func (p *Playground) Close() {
	close(p.done)
	_ = p.gateway.Close()
	p.h.Close()
	p.wg.Wait()
}

// gatewayURL is the stand-in API Gateway's URL (for tests).
func (p *Playground) gatewayURL() string { return p.url }
