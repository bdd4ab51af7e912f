package workflow

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/notify"
)

// Steps holds what every task needs; build it once per Lambda instance.
type Steps struct {
	// AWS is the configuration the clients were built from, for a handler that needs another.
	AWS       aws.Config
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
}

// Actors recorded in a request's history; people (API callers) are recorded by their ARN.
const (
	actorValidate = "rootwindow:validate"
	actorDetach   = "rootwindow:detach"
	actorReattach = "rootwindow:reattach"
)

func (s *Steps) now() time.Time { return s.Clock().UTC() }

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func (s *Steps) logError(ctx context.Context, msg, requestID string, err error) {
	s.Log.ErrorContext(ctx, msg, "requestId", requestID, "error", err.Error())
}

// Announce sends the notifications rec's history calls for that have not gone out yet, in order,
// and records them as delivered. A failure is logged and leaves the rest pending for the next
// step: telling people must never stop the guardrail from being restored.
func (s *Steps) Announce(ctx context.Context, rec ledger.Record) {
	if s.Notify == nil || rec.RequestID == "" {
		return
	}
	var sent []string
	for _, k := range notify.Pending(rec) {
		if err := s.Notify.Publish(ctx, rec, k); err != nil {
			s.Log.ErrorContext(ctx, "notification not sent; it stays pending in the ledger", "requestId", rec.RequestID, "notification", string(k), "error", err.Error())
			break
		}
		s.Log.InfoContext(ctx, "notification sent", "requestId", rec.RequestID, "notification", string(k))
		sent = append(sent, string(k))
	}
	if len(sent) == 0 {
		return
	}
	if err := s.Ledger.MarkNotified(ctx, rec.RequestID, sent); err != nil {
		s.logError(ctx, "record notifications sent", rec.RequestID, err)
	}
}
