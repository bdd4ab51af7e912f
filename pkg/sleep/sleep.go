// Package sleep waits on the wall clock as a context allows: the default of every wait that
// tests replace with their own clock (the pacer's, the ledger's retries, the CLI's polls).
package sleep

import (
	"context"
	"time"
)

// For waits d, or less if ctx ends first, and then says so (ctx.Err()).
func For(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
