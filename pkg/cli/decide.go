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
		switch a.verb {
		case "approve", "deny":
			fs.StringVar(&a.reason, "reason", "", "")
		case "review":
			fs.StringVar(&a.reason, "note", "", "")
		}
	},
	run: func(ctx context.Context, r runner, a arguments) int {
		var body any
		switch {
		case a.verb == "review":
			// Required: the API says so if it is missing.
			body = map[string]string{"note": a.reason}
		case a.reason != "":
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
