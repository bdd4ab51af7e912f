package cli

import "context"

// rootwindow status ID: one request, and with --wait or --until-closed follow it.
var statusCommand = command{
	takesID: true,
	run: func(ctx context.Context, r runner, a arguments) int {
		var rec map[string]any
		if err := r.c.Do(ctx, "GET", "requests/"+a.positional[0], nil, nil, nil, &rec); err != nil {
			return r.fail(err)
		}
		r.show(rec, describe(rec)+signIn(rec)+reportLine(rec))
		return r.follow(ctx, a.positional[0])
	},
}
