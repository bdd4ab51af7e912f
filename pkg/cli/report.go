package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// rootwindow report ID: what the window's root users did during it, as a table (or, with
// --output json, the report itself).
var reportCommand = command{
	takesID: true,
	run: func(ctx context.Context, r runner, a arguments) int {
		var rec struct {
			Status  string                 `json:"status"`
			Report  *contract.WindowReport `json:"report"`
			History []struct {
				Status string `json:"status"`
			} `json:"history"`
		}
		if err := r.c.Do(ctx, "GET", "requests/"+a.positional[0], nil, nil, nil, &rec); err != nil {
			return r.fail(err)
		}
		lifted := false
		for _, h := range rec.History {
			lifted = lifted || h.Status == "OPENING"
		}
		if rec.Report == nil && !lifted && rec.Status != "SCHEDULED" {
			fmt.Fprintf(r.env.Stderr, "rootwindow: request %s (%s) was never lifted: there is nothing to report\n", a.positional[0], rec.Status)
			return ExitRefused
		}
		if rec.Report == nil {
			fmt.Fprintf(r.env.Stderr, "rootwindow: request %s (%s) has no report yet: it is made %s after the window ends, by the sweeper's next run\n",
				a.positional[0], rec.Status, reportDelay)
			return ExitRefused
		}
		if r.o.output == "json" {
			b, _ := json.MarshalIndent(rec.Report, "", "  ")
			fmt.Fprintln(r.env.Stdout, string(b))
			return ExitOK
		}
		fmt.Fprint(r.env.Stdout, reportText(a.positional[0], *rec.Report))
		return ExitOK
	},
}

// reportDelay is how long after a window's end its report is made (window.ReportDelay; the CLI
// does not link the service).
const reportDelay = "15 minutes"

// reportText is a report as a person reads it: the summary, a table of the events, the counts,
// and the query that produced it.
func reportText(id string, r contract.WindowReport) string {
	var b strings.Builder
	if r.Problem != "" {
		fmt.Fprintf(&b, "Request %s: %s\n", id, r.Problem)
		return b.String()
	}
	at := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	fmt.Fprintf(&b, "Request %s, window %s to %s: %d root event(s), %d sign-in(s), %d failed or denied\n\n",
		id, at(r.From), at(r.To), r.Events, r.SignIns, r.Errors)
	if len(r.Listed) > 0 {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tACCOUNT\tEVENT\tSOURCE\tRESULT\tFROM")
		for _, e := range r.Listed {
			result := "ok"
			if e.Error != "" {
				result = e.Error
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", at(e.Time), e.AccountID, e.Name, e.Source, result, e.SourceIP)
		}
		_ = tw.Flush()
		if more := r.Events - len(r.Listed); more > 0 {
			fmt.Fprintf(&b, "... and %d more: run the query below\n", more)
		}
		fmt.Fprintf(&b, "\nBy account: %s\nBy event:   %s\n", contract.Tally(r.ByAccount), contract.Tally(r.ByName))
	}
	fmt.Fprintf(&b, "\nMade %s from %s (query %s). Events CloudTrail delivered later are not in it; run the query again to see them:\n%s\n",
		at(r.MadeAt), r.Source, r.QueryID, r.Query)
	return b.String()
}

// reportLine is what rootwindow status says of a request's report, once it is made.
func reportLine(rec map[string]any) string {
	r, _ := rec["report"].(map[string]any)
	if r == nil {
		return ""
	}
	if p, _ := r["problem"].(string); p != "" {
		return "\n  report: " + p
	}
	id, _ := rec["requestId"].(string)
	return fmt.Sprintf("\n  report: %v root event(s), %v sign-in(s), %v failed or denied: rootwindow report %s", r["events"], r["signIns"], r["errors"], id)
}
