// Package guardrail lifts and restores the root-user guardrail SCP through the AWS Organizations
// API: it inspects accounts before a window (where the guardrail is attached, on the account and
// above it), swaps the guardrail on many accounts for a window SCP that AWS enforces from the
// window's end, with bounded concurrency, and puts it back. Every call is idempotent and retried
// with jittered backoff on throttling and transient errors; a lift that fails part-way puts back
// what it took.
package guardrail

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/sleep"
)

// OrganizationsAPI lists the Organizations calls this package makes, with the SDK's signatures.
type OrganizationsAPI interface {
	DescribeOrganization(ctx context.Context, in *organizations.DescribeOrganizationInput, optFns ...func(*organizations.Options)) (*organizations.DescribeOrganizationOutput, error)
	DescribeAccount(ctx context.Context, in *organizations.DescribeAccountInput, optFns ...func(*organizations.Options)) (*organizations.DescribeAccountOutput, error)
	ListPoliciesForTarget(ctx context.Context, in *organizations.ListPoliciesForTargetInput, optFns ...func(*organizations.Options)) (*organizations.ListPoliciesForTargetOutput, error)
	ListParents(ctx context.Context, in *organizations.ListParentsInput, optFns ...func(*organizations.Options)) (*organizations.ListParentsOutput, error)
	ListTagsForResource(ctx context.Context, in *organizations.ListTagsForResourceInput, optFns ...func(*organizations.Options)) (*organizations.ListTagsForResourceOutput, error)
	AttachPolicy(ctx context.Context, in *organizations.AttachPolicyInput, optFns ...func(*organizations.Options)) (*organizations.AttachPolicyOutput, error)
	DetachPolicy(ctx context.Context, in *organizations.DetachPolicyInput, optFns ...func(*organizations.Options)) (*organizations.DetachPolicyOutput, error)
	DescribePolicy(ctx context.Context, in *organizations.DescribePolicyInput, optFns ...func(*organizations.Options)) (*organizations.DescribePolicyOutput, error)
	ListPolicies(ctx context.Context, in *organizations.ListPoliciesInput, optFns ...func(*organizations.Options)) (*organizations.ListPoliciesOutput, error)
	CreatePolicy(ctx context.Context, in *organizations.CreatePolicyInput, optFns ...func(*organizations.Options)) (*organizations.CreatePolicyOutput, error)
	DeletePolicy(ctx context.Context, in *organizations.DeletePolicyInput, optFns ...func(*organizations.Options)) (*organizations.DeletePolicyOutput, error)
	UpdatePolicy(ctx context.Context, in *organizations.UpdatePolicyInput, optFns ...func(*organizations.Options)) (*organizations.UpdatePolicyOutput, error)
	// The claim on the guardrail (claim.go), a tag on the organization's root.
	ListRoots(ctx context.Context, in *organizations.ListRootsInput, optFns ...func(*organizations.Options)) (*organizations.ListRootsOutput, error)
	TagResource(ctx context.Context, in *organizations.TagResourceInput, optFns ...func(*organizations.Options)) (*organizations.TagResourceOutput, error)
	ListTargetsForPolicy(ctx context.Context, in *organizations.ListTargetsForPolicyInput, optFns ...func(*organizations.Options)) (*organizations.ListTargetsForPolicyOutput, error)
}

// Quotas are Organizations' quotas that decide whether a window fits.
type Quotas struct {
	PerTarget int // SCPs attached directly to one root, OU or account; AWS's is 10
	Size      int // characters in one SCP's document, whitespace counted through the API; AWS's is 10,240
}

// DefaultQuotas are AWS's documented values (contract.SCPsPerTargetQuota, contract.SCPSizeQuota).
var DefaultQuotas = Quotas{PerTarget: contract.SCPsPerTargetQuota, Size: contract.SCPSizeQuota}

// Region is where the Organizations API is served from; it is a global service.
const Region = "us-east-1"

// NewClient builds the Organizations client from an SDK config. The SDK's own retries are turned
// off: this package retries every call itself, with a budget sized for Organizations' low rate
// limits, and two nested retry loops would multiply each other.
func NewClient(cfg aws.Config, optFns ...func(*organizations.Options)) *organizations.Client {
	opts := append([]func(*organizations.Options){func(o *organizations.Options) {
		o.Region = Region
		o.RetryMaxAttempts = 1
	}}, optFns...)
	return organizations.NewFromConfig(cfg, opts...)
}

// Backoff bounds the retries of one Organizations call.
type Backoff struct {
	Attempts int           // calls in all, including the first
	Base     time.Duration // first delay before jitter
	Max      time.Duration // cap of one delay
}

// DefaultBackoff retries one call for up to about a minute.
var DefaultBackoff = Backoff{Attempts: 10, Base: 250 * time.Millisecond, Max: 15 * time.Second}

// Options tune a Guardrail; the zero value of each field means its default.
type Options struct {
	Concurrency int // Organizations calls in flight at once; default 4
	Backoff     Backoff
	Logger      *slog.Logger
	// Sleep waits between retries; tests replace it. It must return early with ctx.Err().
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1).
	Jitter func() float64
	// Clock is what the pacer reads the time from; default time.Now.
	Clock func() time.Time
	// Rates are Organizations' throttles the calls are paced under, by operation; default
	// contract.OrganizationsRate (AWS's documented numbers). A zero Rate leaves an operation
	// unpaced until it is throttled.
	Rates func(op string) contract.Rate
	// Organization and Management, when set, are the organization and management account the
	// configuration names: Organizations must answer for these, or nothing is done.
	Organization, Management string
	// Quotas default to DefaultQuotas.
	Quotas Quotas
	// FormerNames are what window SCPs this deployment made earlier may carry instead of
	// Deployment: before 0.10 a deployment was named by its ledger's table name.
	FormerNames []string
	// Deployment names this deployment of rootwindow (contract.EnvDeployment): the window SCPs it
	// makes carry it (contract.TagWindowDeployment), and it cleans up only those and untagged ones.
	Deployment string
	// Progress, when set, hears how a long read (Scan, and PlanRollout through it) goes: after each
	// parent of the tree is read, then after each account is checked. It is called from the
	// goroutines doing the work, and must be quick.
	Progress func(Progress)
}

// Progress is how far a long read has come.
type Progress struct {
	Phase       string // what is being done: PhaseTree, then PhaseAccounts
	Done, Total int    // parents read of those known so far; accounts checked of all
	Unit        string // what Done and Total count
	Calls       int64  // Organizations calls made by this Guardrail so far
}

// Phases of a scan.
const (
	PhaseTree     = "reading the organization's tree"
	PhaseAccounts = "checking each account"
)

// Guardrail acts on one guardrail policy in one organization.
type Guardrail struct {
	api      OrganizationsAPI
	policyID string
	opts     Options
	mu       sync.Mutex
	mgmt     string // management account ID, cached once known
	rootID   string // the organization's root, cached once known
	paceMu   sync.Mutex
	paces    map[string]*pacer // one per operation, shared by its calls, so what it learns outlives one batch
	calls    atomic.Int64
}

// progress tells Options.Progress, if set, how far phase has come.
func (g *Guardrail) progress(phase string, done, total int) {
	if g.opts.Progress != nil {
		unit := "accounts"
		if phase == PhaseTree {
			unit = "parents"
		}
		g.opts.Progress(Progress{Phase: phase, Done: done, Total: total, Unit: unit, Calls: g.calls.Load()})
	}
}

// New returns a Guardrail for policyID.
func New(api OrganizationsAPI, policyID string, opts Options) *Guardrail {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.Backoff.Attempts <= 0 {
		opts.Backoff = DefaultBackoff
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep.For
	}
	if opts.Jitter == nil {
		opts.Jitter = rand.Float64
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Quotas.PerTarget <= 0 {
		opts.Quotas.PerTarget = DefaultQuotas.PerTarget
	}
	if opts.Quotas.Size <= 0 {
		opts.Quotas.Size = DefaultQuotas.Size
	}
	if opts.Rates == nil {
		opts.Rates = contract.OrganizationsRate
	}
	return &Guardrail{api: api, policyID: policyID, opts: opts, paces: map[string]*pacer{}}
}

// Unpaced is a Rates that knows no operation's throttle: calls are not paced until Organizations
// throttles them. For an emulator that does not throttle as Organizations does (tests on the
// wall clock, where pacing at AWS's rates would only wait).
func Unpaced(string) contract.Rate { return contract.Rate{} }

// pacer is op's pacer, made at its first call.
func (g *Guardrail) pacer(op string) *pacer {
	g.paceMu.Lock()
	defer g.paceMu.Unlock()
	p := g.paces[op]
	if p == nil {
		p = newPacer(g.opts.Rates(op), g.opts.Clock, g.opts.Sleep, g.opts.Backoff.Max)
		g.paces[op] = p
	}
	return p
}

// Concurrency is how many calls this Guardrail makes at once (Options.Concurrency): what the
// caller's other batches of calls follow too.
func (g *Guardrail) Concurrency() int { return g.opts.Concurrency }

// PolicyID is the guardrail policy this Guardrail acts on.
func (g *Guardrail) PolicyID() string { return g.policyID }
