package cli

import (
	"context"
	"flag"
	"fmt"
)

// rootwindow subscribe: an email address or HTTPS endpoint receives the caller's own
// notifications, and no one else's.
var subscribeCommand = command{
	flags: func(fs *flag.FlagSet, a *arguments) {
		fs.StringVar(&a.email, "email", "", "")
		fs.StringVar(&a.hook, "https", "", "")
	},
	check: func(a arguments) string {
		if (a.email == "") == (a.hook == "") {
			return "subscribe needs one of --email ADDRESS or --https URL"
		}
		return ""
	},
	run: func(ctx context.Context, r runner, a arguments) int {
		body := map[string]string{"protocol": "email", "endpoint": a.email}
		if a.hook != "" {
			body = map[string]string{"protocol": "https", "endpoint": a.hook}
		}
		var sub map[string]any
		if err := r.c.Do(ctx, "POST", "subscriptions", nil, body, nil, &sub); err != nil {
			return r.fail(err)
		}
		r.show(sub, fmt.Sprintf("%s will receive the notifications about your own requests once it confirms the subscription (AWS sends it a confirmation message).", body["endpoint"]))
		return ExitOK
	},
}
