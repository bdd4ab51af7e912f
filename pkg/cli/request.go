package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/request"
)

// rootwindow request: ask for a window, and with --wait or --until-closed follow it.
var requestCommand = command{
	flags: func(fs *flag.FlagSet, a *arguments) {
		fs.StringVar(&a.accounts, "accounts", "", "")
		fs.IntVar(&a.hours, "hours", 0, "")
		fs.StringVar(&a.reason, "reason", "", "")
		fs.StringVar(&a.start, "start", "", "")
		fs.StringVar(&a.key, "key", "", "")
		fs.StringVar(&a.task, "task", "", "")
		fs.StringVar(&a.whyNot, "why-not-assume-root", "", "")
		fs.BoolVar(&a.breakGlass, "break-glass", false, "")
	},
	// What can be told without a call is told before any: the API checks it all again.
	check: func(a arguments) string {
		if a.accounts == "" || a.hours == 0 || strings.TrimSpace(a.reason) == "" {
			return "request needs --accounts, --hours and --reason"
		}
		for _, id := range config.SplitList(a.accounts) {
			if !accountID.MatchString(id) {
				return fmt.Sprintf("--accounts: %q is not a 12-digit account ID", id)
			}
		}
		if a.hours < request.MinHours || a.hours > request.MaxHours {
			return fmt.Sprintf("--hours must be from %d to %d, got %d", request.MinHours, request.MaxHours, a.hours)
		}
		if a.start != "" {
			if _, err := time.Parse(time.RFC3339, a.start); err != nil {
				return fmt.Sprintf("--start must be an RFC 3339 time with its offset (2026-11-24T08:00:00Z), got %q", a.start)
			}
		}
		return ""
	},
	run: func(ctx context.Context, r runner, a arguments) int {
		body := map[string]any{"accountIds": config.SplitList(a.accounts), "hours": a.hours, "reason": a.reason}
		for k, v := range map[string]string{"startAt": a.start, "task": a.task, "whyNotAssumeRoot": a.whyNot} {
			if v != "" {
				body[k] = v
			}
		}
		if a.breakGlass {
			body["breakGlass"] = true
		}
		headers := map[string]string{}
		if a.key != "" {
			headers["Idempotency-Key"] = a.key
		}
		var accepted map[string]any
		if err := r.c.Do(ctx, "POST", "requests", nil, body, headers, &accepted); err != nil {
			return r.fail(err)
		}
		id, _ := accepted["requestId"].(string)
		r.show(accepted, fmt.Sprintf("request %s accepted: %v, %d h from %v", id, accepted["accountIds"], a.hours, accepted["startAt"]))
		return r.follow(ctx, id)
	},
}
