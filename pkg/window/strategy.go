package window

import (
	"context"
	"time"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/request"
)

// A strategy is one way of lifting the guardrail for a request's accounts. A request is booked
// with one (the record's Strategy) and everything done to it afterwards goes through that one:
// this file alone maps names to strategies. Adding a strategy is a file of this package (its
// type), a name in pkg/contract that configuration accepts (liftStrategy), and its row of IAM
// permissions in infra/stack.
type strategy interface {
	// name is what the record keeps (contract.Strategy*).
	name() string
	// problem says why the guardrail cannot be lifted from the account this way ("" when it can).
	problem(r guardrail.Report) string
	// fits says why one more window for req would not fit ("" when it does).
	fits(ctx context.Context, req request.Request) (string, error)
	// serialize runs fn, a step's check and change of the organization with the change to the
	// record that goes with it, so that no other writer of what the strategy shares (exempt: the
	// guardrail's document) comes between them; fn gets the context to make its calls with.
	serialize(ctx context.Context, who string, fn func(context.Context) error) error
	// lift lifts rec's accounts until restoreAt; it returns the window's own SCP, if the strategy
	// makes one, and what the record's history says of it. checked is the guardrail's document as
	// this step checked it, in the same serialize section (zero when it did not read it: a retry
	// of the lift).
	lift(ctx context.Context, rec ledger.Record, restoreAt time.Time, checked guardrail.Content) (policyID, note string, err error)
	// liftFailed records a lift that failed with err and returns the step's error: retried when
	// transient, else the request fails with nothing left lifted.
	liftFailed(ctx context.Context, rec ledger.Record, err error) error
	// restore puts the guardrail back on accounts, those of rec it still holds; it runs in a
	// serialize section with the record's change that says so, so that no writer that read the
	// record as still holding them can undo it.
	restore(ctx context.Context, rec ledger.Record, accounts []string) error
	// cutShort says what undid rec's lift while its window is open ("" when it holds), from the
	// organization as Organizations holds it now.
	cutShort(ctx context.Context, rec ledger.Record) (string, error)
}

// strategyOf is the strategy rec was booked with ("" is detach: records from before strategies).
func (s *Service) strategyOf(rec ledger.Record) strategy { return s.strategyNamed(rec.Strategy) }

func (s *Service) strategyNamed(name string) strategy {
	if name == contract.StrategyExempt {
		return exempt{s}
	}
	return detach{s}
}

// chooseStrategy decides how a request's accounts are lifted: the configured strategy, or for
// auto detach when every account allows it (the guardrail attached to it alone, a slot free),
// else exempt. It returns the name the record keeps.
func (s *Service) chooseStrategy(reports map[string]guardrail.Report, accounts []string) string {
	switch s.config.LiftStrategy {
	case contract.StrategyExempt:
		return contract.StrategyExempt
	case contract.StrategyAuto:
		for _, id := range accounts {
			if (detach{s}).problem(reports[id]) != "" {
				return contract.StrategyExempt
			}
		}
	}
	return contract.StrategyDetach
}

// exemptInUse reports whether requests may be lifted by rewriting the guardrail's document (the
// exempt strategy configured, or auto).
func (s *Service) exemptInUse() bool {
	return s.config.LiftStrategy != "" && s.config.LiftStrategy != contract.StrategyDetach
}

// autoInUse reports whether a request may be lifted by either strategy (auto).
func (s *Service) autoInUse() bool { return s.config.LiftStrategy == contract.StrategyAuto }
