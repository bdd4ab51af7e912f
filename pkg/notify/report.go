package notify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// labelled writes one line of a message: its label (none for a line that goes on the one
// above) and its text, aligned.
func labelled(b *strings.Builder, label, text string) {
	if label != "" {
		label += ":"
	}
	fmt.Fprintf(b, "%-11s %s\n", label, text)
}

// maxMessageEvents bounds the events a message lists (the report lists more, the query finds all).
const maxMessageEvents = 20

// reportLines writes a window report's summary and its first events into a message.
func reportLines(line func(label, format string, args ...any), r contract.WindowReport) {
	line("Root", "%d event(s) from %s to %s: %d sign-in(s), %d failed or denied", r.Events, stamp(r.From), stamp(r.To), r.SignIns, r.Errors)
	if r.Events > 0 {
		line("Between", "%s and %s", r.First.UTC().Format(time.RFC3339), r.Last.UTC().Format(time.RFC3339))
		line("By account", "%s", contract.Tally(r.ByAccount))
		line("By event", "%s", contract.Tally(r.ByName))
	}
	for i, e := range r.Listed {
		if i == maxMessageEvents {
			line("", "... %d more: rootwindow report <id>, or the query below", r.Events-maxMessageEvents)
			break
		}
		line("", "%s", eventLine(e))
	}
	line("Source", "%s (query %s); events CloudTrail delivers later are not counted: run the query again to see them", r.Source, r.QueryID)
	line("Query", "%s", r.Query)
}

func eventLine(e contract.RootEvent) string {
	s := fmt.Sprintf("%s  %s  %s (%s)", e.Time.UTC().Format(time.RFC3339), e.AccountID, e.Name, e.Source)
	if e.Error != "" {
		s += "  FAILED: " + e.Error
	}
	if e.SourceIP != "" {
		s += "  from " + e.SourceIP
	}
	return s
}

// RootOutside is the detail of a Root Outside Window notification: a protected account's root
// user acted when no window of the account was lifted.
type RootOutside struct {
	NotificationID string               `json:"notificationId"`
	AccountID      string               `json:"accountId"`
	Events         []contract.RootEvent `json:"events"` // in time order, at most maxMessageEvents
	More           int                  `json:"moreEvents,omitempty"`
	Source         string               `json:"source"` // the event data store
	Query          string               `json:"query"`  // the statement that found them
	DetectedAt     time.Time            `json:"detectedAt"`
}

// PublishRootOutside announces root activity on an account with no window open.
func (p *Publisher) PublishRootOutside(ctx context.Context, ro RootOutside) error {
	if len(ro.Events) > maxMessageEvents {
		ro.More += len(ro.Events) - maxMessageEvents
		ro.Events = ro.Events[:maxMessageEvents]
	}
	subject, body := RootOutsideMessage(ro)
	if err := p.send(ctx, RootOutsideWindow, ro, subject, body, nil); err != nil {
		return fmt.Errorf("notify root activity outside windows: %w", err)
	}
	return nil
}

// RootOutsideMessage is the subject and plain text of a Root Outside Window notification.
func RootOutsideMessage(ro RootOutside) (subject, body string) {
	subject = "rootwindow: ROOT USED outside any window (" + ro.AccountID + ")"
	var b strings.Builder
	fmt.Fprintf(&b, "ACTION NEEDED: the root user of %s acted when no root access window was open on it.\n\n", ro.AccountID)
	line := func(label, format string, args ...any) { labelled(&b, label, fmt.Sprintf(format, args...)) }
	line("Account", "%s", ro.AccountID)
	if len(ro.Events) > 0 {
		line("First", "%s", eventLine(ro.Events[0]))
	}
	for _, e := range ro.Events[min(1, len(ro.Events)):] {
		line("", "%s", eventLine(e))
	}
	if ro.More > 0 {
		line("", "... and %d more", ro.More)
	}
	line("Detected", "%s", stamp(ro.DetectedAt))
	line("Source", "%s", ro.Source)
	line("Query", "%s", ro.Query)
	b.WriteString("\nThe guardrail should have denied this, unless the account's root was used through centralized root access (sts:AssumeRoot, whose call the management account's CloudTrail records) or the account is one the guardrail does not protect. Find out who: the events' source IP, the account's root sign-in history, the guardrail's attachments (CloudTrail DetachPolicy, UpdatePolicy).\n")
	fmt.Fprintf(&b, "\nNotification ID: %s\n", ro.NotificationID)
	return subject, b.String()
}
