package guardrail

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

func (g *Guardrail) detachOne(ctx context.Context, id string) error {
	err := g.call(ctx, "DetachPolicy", id, func() error {
		_, err := g.api.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: aws.String(g.policyID), TargetId: aws.String(id)})
		return err
	})
	var notAttached *types.PolicyNotAttachedException
	if errors.As(err, &notAttached) {
		g.opts.Logger.Info("guardrail already lifted", "account", id)
		return nil
	}
	if err == nil {
		g.opts.Logger.Info("guardrail lifted", "account", id)
	}
	return err
}

func (g *Guardrail) attachOne(ctx context.Context, id string) error {
	err := g.call(ctx, "AttachPolicy", id, func() error {
		_, err := g.api.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String(g.policyID), TargetId: aws.String(id)})
		return err
	})
	var dup *types.DuplicatePolicyAttachmentException
	if errors.As(err, &dup) {
		g.opts.Logger.Info("guardrail already in place", "account", id)
		return nil
	}
	if err == nil {
		g.opts.Logger.Info("guardrail restored", "account", id)
	}
	return err
}

// batch runs fn for every account with at most Concurrency in flight and returns the failures.
func (g *Guardrail) batch(ctx context.Context, ids []string, fn func(ctx context.Context, i int, id string) error) map[string]error {
	var (
		mu     sync.Mutex
		failed = map[string]error{}
		wg     sync.WaitGroup
		next   = make(chan int)
	)
	for range min(g.opts.Concurrency, len(ids)) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i, ids[i]); err != nil {
					mu.Lock()
					failed[ids[i]] = err
					mu.Unlock()
				}
			}
		})
	}
	for i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()
	return failed
}

// call runs one Organizations call at its operation's pacer's rate. Throttling slows that pacer
// and the call goes again at its next turn; other transient errors are retried with full-jitter
// exponential backoff. A retryable error that outlasts the budget becomes a *TransientError.
func (g *Guardrail) call(ctx context.Context, op, target string, fn func() error) error {
	b := g.opts.Backoff
	pace := g.pacer(op)
	var err error
	throttles := 0
	for attempt := 1; ; attempt++ {
		if werr := pace.wait(ctx); werr != nil {
			if err == nil {
				err = werr
			}
			return err
		}
		g.calls.Add(1)
		err = fn()
		if err == nil {
			pace.succeeded()
			return nil
		}
		if !retryable(err) || ctx.Err() != nil {
			return err
		}
		var tooMany *types.TooManyRequestsException
		throttled := errors.As(err, &tooMany)
		if throttled {
			throttles++
		}
		// A throttled call waits its paced turn, so it may go again more often than one that
		// failed otherwise: up to three times the attempts.
		if attempt-throttles >= b.Attempts || throttles >= 3*b.Attempts {
			return &TransientError{Op: op, Target: target, Attempts: attempt, Err: err}
		}
		if throttled {
			pace.throttled()
			g.opts.Logger.Debug("throttled; slowing down", "op", op, "target", target, "attempt", attempt, "rate", pace.Rate())
			continue // the pacer decides when it goes again
		}
		delay := min(b.Max, b.Base<<min(attempt-1, 20))
		delay = time.Duration(g.opts.Jitter() * float64(delay))
		g.opts.Logger.Debug("retrying Organizations call", "op", op, "target", target, "attempt", attempt, "error", errorCode(err), "delay", delay)
		if serr := g.opts.Sleep(ctx, delay); serr != nil {
			return err
		}
	}
}
