package harness_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/infra/stack"
	"github.com/rootwindow/rootwindow/internal/harness"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// Virtual time through the synthesized state machine (internal/simtime): real delays cost no
// virtual time, whatever the machine is doing, and concurrent executions' timers fire in order.

// within reports whether got is want to within what the clock's readings add (a nanosecond
// each, a few thousand per execution at most).
func within(got, want time.Time) bool {
	d := got.Sub(want)
	return d >= 0 && d < time.Millisecond
}

// A Lambda that takes two seconds of real time before each step (a busy machine, a slow start,
// GC) costs the execution no virtual time: booked, lifted and restored at the instants a fast
// machine gives.
func TestRealDelaysCostNoVirtualTime(t *testing.T) {
	s := begin(t)
	start := h.Clock.Now()
	for _, task := range []string{contract.TaskValidate, contract.TaskDetach, contract.TaskReattach} {
		h.BeforeInvoke(task, func(context.Context) { time.Sleep(2 * time.Second) })
	}
	res := s.run("slow-1", request([]string{"111111111111"}, 2, nil))
	if res.Status != "SUCCEEDED" {
		t.Fatalf("%s %s: %s", res.Status, res.Error, res.Cause)
	}
	if res.Took < 6*time.Second {
		t.Fatalf("the delays did not run: %v of wall clock", res.Took)
	}
	rec := s.record("slow-1")
	opening := rec.History[1]
	// (openedAt is kept to the second.)
	if !within(rec.CreatedAt, start) || !within(opening.At, start) || !rec.OpenedAt.Equal(start.Truncate(time.Second)) {
		t.Errorf("6 s of real delays moved the virtual clock: started %v, booked %v, lifting %v, opened %v", start, rec.CreatedAt, opening.At, rec.OpenedAt)
	}
	if !rec.RestoreAt.Equal(opening.At.Truncate(time.Second).Add(2*time.Hour)) || !within(rec.ClosedAt, rec.RestoreAt) {
		t.Errorf("restoreAt %v, closed %v: want two hours from the lift, closed then", rec.RestoreAt, rec.ClosedAt)
	}
	for _, e := range res.Events {
		if e.Type == "StateEntered" && e.State == stack.StateReattach && !within(e.At, rec.RestoreAt) {
			t.Errorf("Restore guardrail entered at %v, want %v", e.At, rec.RestoreAt)
		}
	}
	s.unchanged()
}

// Under the old clock (36,000 times the wall clock while an execution ran), three seconds of
// real delay were 30 hours: a cooldown of an hour had passed, and a start three hours ahead was
// in the past. In virtual time neither moves.
func TestADelayedStepSeesNoTimePass(t *testing.T) {
	t.Run("cooldown", func(t *testing.T) {
		s := begin(t)
		if err := h.Configure(s.ctx, map[string]string{contract.EnvCooldownMinutes: "60"}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.Configure(s.ctx, nil) })
		if res := s.run("cool-1", request([]string{"111111111111"}, 1, nil)); res.Status != "SUCCEEDED" {
			t.Fatalf("first: %s %s", res.Status, res.Cause)
		}
		h.BeforeInvoke(contract.TaskValidate, func(context.Context) { time.Sleep(3 * time.Second) })
		res := s.run("cool-2", request([]string{"111111111111"}, 1, nil))
		if res.Error != contract.ErrRequestRejected || !strings.Contains(res.Cause, "(cooldownMinutes is 60)") {
			t.Fatalf("%s %s: %s", res.Status, res.Error, res.Cause)
		}
		s.unchanged()
	})
	t.Run("scheduled start", func(t *testing.T) {
		s := begin(t)
		startAt := h.Clock.Now().Add(3 * time.Hour).Truncate(time.Second)
		h.BeforeInvoke(contract.TaskValidate, func(context.Context) { time.Sleep(3 * time.Second) })
		res := s.run("later-1", request([]string{"222222222222"}, 1, map[string]any{"startAt": startAt.Format(time.RFC3339)}))
		if res.Status != "SUCCEEDED" {
			t.Fatalf("%s %s: %s", res.Status, res.Error, res.Cause)
		}
		if rec := s.record("later-1"); !rec.OpenedAt.Equal(startAt) {
			t.Errorf("opened at %v, want the start %v", rec.OpenedAt, startAt)
		}
		s.unchanged()
	})
}

// Executions running at once each hold their window exactly as long as asked: their restores
// come in the order of their ends, each at its own, whichever node process the machine runs
// first.
func TestConcurrentExecutionsTimersFireInOrder(t *testing.T) {
	s := begin(t)
	windows := []struct {
		account string
		hours   int
	}{{"111111111111", 3}, {"222222222222", 1}, {"333333333333", 2}}
	// Held until every execution has started, so that they all start at one instant.
	hold := h.Clock.Go("test")
	var wg sync.WaitGroup
	results := make([]harness.Result, len(windows))
	for i, w := range windows {
		wg.Go(func() {
			res, err := h.Run(s.ctx, fmt.Sprintf("together-%d", i), request([]string{w.account}, w.hours, nil))
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		})
	}
	until(t, "every execution is running", func() bool { return len(h.AWS.Executions()) == len(windows) })
	hold.Done()
	wg.Wait()
	var restored []string
	for _, c := range calls("AttachPolicy") {
		restored = append(restored, c.Target)
	}
	if got := strings.Join(restored, " "); got != "222222222222 333333333333 111111111111" {
		t.Errorf("restored in the order %s, want the 1 h window's first, then 2 h, then 3 h", got)
	}
	for i, w := range windows {
		if results[i].Status != "SUCCEEDED" {
			t.Fatalf("together-%d: %s %s", i, results[i].Status, results[i].Cause)
		}
		rec := s.record(fmt.Sprintf("together-%d", i))
		if rec.Status != ledger.Closed || rec.RestoreAt.Sub(rec.History[1].At.Truncate(time.Second)) != time.Duration(w.hours)*time.Hour ||
			!within(rec.ClosedAt, rec.RestoreAt) {
			t.Errorf("together-%d (%d h): %s, lifting %v, restoreAt %v, closed %v", i, w.hours, rec.Status, rec.History[1].At, rec.RestoreAt, rec.ClosedAt)
		}
	}
	s.unchanged()
}
