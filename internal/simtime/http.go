package simtime

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// ActorHeader carries an actor's ID from a client to a loopback emulator in the same process, so
// that a delay the emulator plays (its latency) is the calling actor's sleep.
const ActorHeader = "X-Simtime-Actor"

// Transport stamps each request with the ID of the actor its context carries.
func (c *Clock) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		if a := ActorFrom(r.Context()); a != nil && a.c == c {
			r = r.Clone(r.Context())
			r.Header.Set(ActorHeader, strconv.FormatUint(a.id, 10))
		}
		return base.RoundTrip(r)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Context is r's context carrying the actor that sent r (see Transport), if the clock knows it:
// what a server in the same process does for the request then waits as that actor.
func (c *Clock) Context(r *http.Request) context.Context {
	ctx := r.Context()
	if id, err := strconv.ParseUint(r.Header.Get(ActorHeader), 10, 64); err == nil {
		c.mu.Lock()
		a := c.actors[id]
		c.mu.Unlock()
		if a != nil {
			ctx = WithActor(ctx, a)
		}
	}
	return ctx
}

// SleepFor sleeps d as the actor that sent r (see Transport), to the end even if the client
// goes away (an emulator's latency: the call is applied after it); a request from no known actor
// sleeps without holding time back.
func (c *Clock) SleepFor(r *http.Request, d time.Duration) {
	_ = c.Sleep(context.WithoutCancel(c.Context(r)), d)
}
