package window_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// Each limit refuses a request with a problem naming it (and when it frees), and changes nothing.
func TestLimits(t *testing.T) {
	ctx := context.Background()
	limited := func(t *testing.T, err error, want string) {
		t.Helper()
		var rej *contract.RequestRejected
		if !errors.As(err, &rej) || !strings.Contains(rej.Error(), want) {
			t.Fatalf("got %v, want a rejection with %q", err, want)
		}
	}
	t.Run("cooldown per account", func(t *testing.T) {
		e := newEnv(t)
		e.With(func(d *window.Deps) { d.Config.CooldownMinutes = 60 })
		e.open(t, "req-1", members[0])
		if _, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeClose}); err != nil {
			t.Fatal(err)
		}
		e.Now = e.Now.Add(30 * time.Minute)
		before := e.Writes()
		_, err := e.validate(t, "req-2", validRequest(members[1], members[0]))
		limited(t, err, "accountIds[1]: 111111111111 had a window until 2026-11-23T10:00:00Z: the next may start from 2026-11-23T11:00:00Z (cooldownMinutes is 60)")
		if e.Writes() != before {
			t.Error("a limited request changed the organization")
		}
		e.Now = e.Now.Add(31 * time.Minute)
		if _, err := e.validate(t, "req-3", validRequest(members[0])); err != nil {
			t.Errorf("after the cooldown: %v", err)
		}
	})
	t.Run("concurrent windows per requester", func(t *testing.T) {
		e := newEnv(t)
		e.With(func(d *window.Deps) { d.Config.MaxConcurrentPerRequester = 2 })
		for i, id := range []string{"req-1", "req-2"} {
			if _, err := e.validate(t, id, validRequest(members[i])); err != nil {
				t.Fatal(err)
			}
		}
		// The same person under another permission set counts as the same requester.
		again := validRequest(members[2])
		again["requester"] = aliceAgain
		_, err := e.validate(t, "req-3", again)
		limited(t, err, `"`+aliceAgain+`" has 2 windows scheduled or open: at most 2 at once (maxConcurrentWindowsPerRequester)`)
		if _, err := e.Steps.Cancel(ctx, "req-1", alice); err != nil {
			t.Fatal(err)
		}
		if _, err := e.validate(t, "req-4", validRequest(members[2])); err != nil {
			t.Errorf("after a cancel: %v", err)
		}
	})
	t.Run("windows a day per requester", func(t *testing.T) {
		e := newEnv(t)
		e.With(func(d *window.Deps) { d.Config.MaxDailyPerRequester = 2 })
		for _, id := range []string{"req-1", "req-2"} {
			if _, err := e.validate(t, id, validRequest(members[0])); err != nil {
				t.Fatal(err)
			}
			if _, err := e.Steps.Cancel(ctx, id, alice); err != nil {
				t.Fatal(err)
			}
			e.Now = e.Now.Add(time.Hour)
		}
		_, err := e.validate(t, "req-3", validRequest(members[0]))
		limited(t, err, "had 2 windows accepted in the last 24 hours: at most 2 (maxWindowsPerRequesterPerDay); the next is possible from 2026-11-24T10:00:00Z")
		e.Now = t0.Add(24*time.Hour + time.Minute)
		if _, err := e.validate(t, "req-4", validRequest(members[0])); err != nil {
			t.Errorf("a day later: %v", err)
		}
	})
	t.Run("accounts in windows organization-wide", func(t *testing.T) {
		e := newEnv(t)
		e.With(func(d *window.Deps) { d.Config.MaxAccountsAtOnce = 2 })
		if _, err := e.validate(t, "req-1", validRequest(members[0])); err != nil {
			t.Fatal(err)
		}
		_, err := e.validate(t, "req-2", validRequest(members[1], members[2]))
		limited(t, err, "1 accounts are in windows now and this request adds 2: at most 2 at once in the organization (maxAccountsLiftedAtOnce)")
	})
}
