package cli

import (
	"context"
	"flag"
)

// rootwindow end, cancel, confirm, approve and deny: one call on one request
// (POST /requests/{id}/<verb>); approve and deny may give a reason.
var decideCommand = command{
	takesID: true,
	flags: func(fs *flag.FlagSet, a *arguments) {
		if a.verb == "approve" || a.verb == "deny" {
			fs.StringVar(&a.reason, "reason", "", "")
		}
	},
	run: func(ctx context.Context, r runner, a arguments) int {
		var body any
		if a.reason != "" {
			body = map[string]string{"reason": a.reason}
		}
		var rec map[string]any
		if err := r.c.Do(ctx, "POST", "requests/"+a.positional[0]+"/"+a.verb, nil, body, nil, &rec); err != nil {
			return r.fail(err)
		}
		r.show(rec, describe(rec))
		return ExitOK
	},
}
