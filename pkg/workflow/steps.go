package workflow

import (
	"context"
	"log/slog"
	"time"

	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// Steps holds what every task needs; build it once per Lambda instance.
type Steps struct {
	Config    config.Runtime
	Guardrail *guardrail.Guardrail
	Ledger    *ledger.Store
	Clock     func() time.Time
	Log       *slog.Logger
}

// Actors recorded in a request's history.
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
