package cli

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// maxListLimit is the API's largest page.
const maxListLimit = 100

// rootwindow list: the requests a caller may see, newest first, a page at a time.
var listCommand = command{
	flags: func(fs *flag.FlagSet, a *arguments) {
		fs.StringVar(&a.account, "account", "", "")
		fs.StringVar(&a.status, "status", "", "")
		fs.StringVar(&a.limit, "limit", "", "")
		fs.StringVar(&a.next, "next", "", "")
	},
	check: func(a arguments) string {
		if n, err := strconv.Atoi(a.limit); a.limit != "" && (err != nil || n < 1 || n > maxListLimit) {
			return fmt.Sprintf("--limit must be a whole number from 1 to %d, got %q", maxListLimit, a.limit)
		}
		switch {
		case a.account != "" && !accountID.MatchString(a.account):
			return fmt.Sprintf("--account: %q is not a 12-digit account ID", a.account)
		}
		return ""
	},
	run: func(ctx context.Context, r runner, a arguments) int {
		q := url.Values{}
		for k, v := range map[string]string{"accountId": a.account, "status": a.status, "nextToken": a.next} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if a.limit != "" {
			q.Set("limit", a.limit)
		}
		var page struct {
			Requests  []map[string]any `json:"requests"`
			NextToken string           `json:"nextToken"`
		}
		if err := r.c.Do(ctx, "GET", "requests", q, nil, nil, &page); err != nil {
			return r.fail(err)
		}
		lines := make([]string, 0, len(page.Requests)+1)
		for _, rec := range page.Requests {
			lines = append(lines, describe(rec))
		}
		if page.NextToken != "" {
			lines = append(lines, "more: --next "+page.NextToken)
		}
		r.show(page, strings.Join(lines, "\n"))
		return ExitOK
	},
}
