// Package window is rootwindow's one service for root access windows: admit a request, open its
// window, close it, end or cancel it for a person, settle it when its execution is gone, sweep
// what is over. Every door (the state machine's steps, the REST API, the safety net) acts through
// it, so each rule exists once. It works on the ledger and the guardrail and announces every
// change through the ledger's outbox.
package window

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/notify"
)

// Deps is what the service works with; a Lambda's main builds it once, from its adapters, and
// hands it to New. Nothing outside the service reaches these afterwards.
type Deps struct {
	Config    config.Runtime
	Guardrail *guardrail.Guardrail
	Ledger    *ledger.Store
	// Notify publishes notifications; nil leaves them pending in the ledger.
	Notify *notify.Publisher
	Clock  func() time.Time
	Log    *slog.Logger
	// Metrics receives CloudWatch Embedded Metric Format lines (the function's stdout); nil
	// discards them.
	Metrics io.Writer
	// Starters finds who started an execution (validate); nil where the function asks no such thing.
	Starters Starters
	// Tree reads the organization's OUs and accounts for the sweep's drift scan; nil checks only
	// the accounts rootwindow knows.
	Tree guardrail.OrganizationReader
	// Executions answers what Step Functions knows of an execution (the sweep; validate and
	// detach binding themselves to theirs); nil skips the sweep's check and refuses every bind.
	Executions Executions
	// Decisions sends an approver's decision to the execution waiting for it (validate, api); nil
	// where the function makes no such call.
	Decisions Decisions
	// Root audits and prepares root sign-in through centralized root access; nil where the
	// function does neither.
	Root RootAccess
	// Groups answers Identity Center group membership for owners named by group (validate and
	// detach, where identityStoreId is set); nil: a group owns nothing.
	Groups Groups
	// RootActivity reads what root users did from CloudTrail Lake (the sweeper, where
	// trailEventDataStoreArn is set); nil: no window report, no look for root outside windows.
	RootActivity RootActivity
	// RootSessions finds the root sessions rootwindow's own roles opened (the sweeper, with
	// centralized root access); nil: every root event outside windows is raised.
	RootSessions RootSessions
}

// Service is the one way to act on windows; build it once per Lambda instance with New. Its
// dependencies are its own: the doors call its methods and read its settings, and every
// transition it makes it announces itself.
type Service struct {
	config     config.Runtime
	guardrail  *guardrail.Guardrail
	ledger     *ledger.Store
	notify     *notify.Publisher
	clock      func() time.Time
	log        *slog.Logger
	metrics    io.Writer
	starters   Starters
	tree       guardrail.OrganizationReader
	executions Executions
	decisions  Decisions
	root       RootAccess
	groups     Groups
	roots      RootActivity
	sessions   RootSessions

	roles sync.Map // state machine ARN → the role it runs as (Bind)
}

// New is the service over d. A nil Clock is time.Now, a nil Log discards.
func New(d Deps) *Service {
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		config: d.Config, guardrail: d.Guardrail, ledger: d.Ledger, notify: d.Notify, clock: d.Clock, log: d.Log,
		metrics: d.Metrics, starters: d.Starters, tree: d.Tree, executions: d.Executions, decisions: d.Decisions, root: d.Root, groups: d.Groups,
		roots: d.RootActivity, sessions: d.RootSessions,
	}
}

// Settings is the configuration the service runs with (a copy: the doors read it, never change it).
func (s *Service) Settings() config.Runtime { return s.config }

// Logger is the service's logger, for the doors' own lines.
func (s *Service) Logger() *slog.Logger { return s.log }

// Actors recorded in a request's history; people (API callers) are recorded by their ARN.
const (
	ActorValidate  = "rootwindow:validate"
	ActorDetach    = "rootwindow:detach"
	ActorReattach  = "rootwindow:reattach"
	ActorAPI       = "rootwindow:api"
	actorSafetyNet = "rootwindow:safety-net"
	actorSweeper   = "rootwindow:sweeper"
)

// Now is the service's clock, in UTC.
func (s *Service) Now() time.Time { return s.clock().UTC() }

// FormatTime is how the steps and the ledger's notes write a time: RFC 3339 in UTC, "" for zero.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func (s *Service) logError(ctx context.Context, msg, requestID string, err error) {
	s.log.ErrorContext(ctx, msg, "requestId", requestID, "error", err.Error())
}

// announce sends the notifications rec's history calls for that have not gone out yet, in order,
// and records them as delivered. A failure is logged and leaves the rest pending for the next
// step: telling people must never stop the guardrail from being restored.
func (s *Service) announce(ctx context.Context, rec ledger.Record) {
	if s.notify == nil || rec.RequestID == "" {
		return
	}
	var sent []string
	for _, k := range notify.Pending(rec) {
		if err := s.notify.Publish(ctx, rec, k); err != nil {
			s.log.ErrorContext(ctx, "notification not sent; it stays pending in the ledger", "requestId", rec.RequestID, "notification", string(k), "error", err.Error())
			break
		}
		s.log.InfoContext(ctx, "notification sent", "requestId", rec.RequestID, "notification", string(k))
		sent = append(sent, string(k))
	}
	if len(sent) == 0 {
		return
	}
	if err := s.ledger.MarkNotified(ctx, rec.RequestID, sent); err != nil {
		s.logError(ctx, "record notifications sent", rec.RequestID, err)
	}
}

// Get reads one request; ledger.ErrNotFound if there is none.
func (s *Service) Get(ctx context.Context, id string) (ledger.Record, error) {
	return s.ledger.Get(ctx, id)
}

// List returns requests newest first, as ledger.Store.List does.
func (s *Service) List(ctx context.Context, f ledger.Filter, limit int, token string) ([]ledger.Record, string, error) {
	return s.ledger.List(ctx, f, limit, token)
}
