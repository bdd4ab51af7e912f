package window_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/window"
)

func breakGlassRequest(accounts ...string) map[string]any {
	req := validRequest(accounts...)
	req["hours"], req["breakGlass"] = 1, true
	return req
}

// Break-glass: where the deployment takes it, an owner's emergency window skips the approval the
// deployment otherwise asks for, is one hour at most from now, is announced as break-glass, and
// is counted by every sweep (BreakGlassUnreviewed) until another administrator reviews it; the
// requester, under any of their names, may not; a second review is refused. Off, it is refused.
func TestBreakGlass(t *testing.T) {
	ctx := context.Background()
	e := approvalEnv(t)
	_, err := e.validate(t, "req-0", breakGlassRequest(members[0]))
	if got := strings.Join(rejection(t, err), "\n"); !strings.Contains(got, "breakGlass: this deployment takes no break-glass request") {
		t.Errorf("break-glass where it is off: %s", got)
	}

	var metrics strings.Builder
	e.With(func(d *window.Deps) { d.Config.BreakGlass, d.Metrics = true, &metrics })
	long := breakGlassRequest(members[0])
	long["hours"] = 2
	_, err = e.validate(t, "req-1", long)
	if got := strings.Join(rejection(t, err), "\n"); !strings.Contains(got, "hours: a break-glass window is 1 hour at most, got 2") {
		t.Errorf("a two-hour break-glass window: %s", got)
	}

	// An integration asserts its requester: no emergency skips an approval on its word.
	_, err = e.Steps.Validate(ctx, e.Started("req-e", eventInput(t, "0d9d1c56-0001-4000-8000-0000000000bg", members[0], breakGlassRequest(members[0])), testenv.EventsRule))
	if got := strings.Join(rejection(t, err), "\n"); !strings.Contains(got, "breakGlass: a break-glass window is asked for by its requester in person") {
		t.Errorf("break-glass through an integration: %s", got)
	}

	w, err := e.validate(t, "req-2", breakGlassRequest(members[0]))
	if err != nil {
		t.Fatal(err)
	}
	if w.NeedsApproval {
		t.Fatal("a break-glass request waits for an approval")
	}
	if _, err := e.Steps.Detach(ctx, testenv.Decided(t, e.Deps.Ledger, "req-2")); err != nil {
		t.Fatal(err)
	}
	e.AssertStatus(t, "req-2", ledger.Open)
	e.AssertGuardrail(t, false, members[0])
	announced := 0
	for _, m := range e.Emu.Messages() {
		if strings.Contains(m.Body, "req-2") {
			announced++
			if !strings.HasPrefix(m.Subject, "rootwindow: BREAK-GLASS") || !strings.Contains(m.Body, "rootwindow review req-2 --note") || !strings.Contains(m.For("https"), ":rotating_light:") {
				t.Errorf("an announcement of the break-glass window: %q\n%s", m.Subject, m.Body)
			}
		}
	}
	if announced < 2 { // scheduled, opened
		t.Errorf("%d announcements of the break-glass window", announced)
	}
	// Another break-glass request for a held account is rejected: it needs no review.
	if _, err := e.validate(t, "req-3", breakGlassRequest(members[0])); err == nil {
		t.Fatal("a second window on a held account")
	}

	rep, err := e.Steps.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rep.Unreviewed, ",") != "req-2" || !strings.Contains(metrics.String(), contract.MetricBreakGlassUnreviewed) {
		t.Errorf("unreviewed %v, metrics %q", rep.Unreviewed, metrics.String())
	}

	var notYours *window.NotRequesterError
	for _, who := range []string{alice, aliceAgain} {
		if _, err := e.Steps.Review(ctx, "req-2", who, "fine"); !errors.As(err, &notYours) {
			t.Errorf("%s reviewed their own window: %v", who, err)
		}
	}
	rec, err := e.Steps.Review(ctx, "req-2", bob, "reset the root password as asked; checked CloudTrail (SEC-9)")
	if err != nil || rec.ReviewedBy != bob || rec.ReviewedAt.IsZero() {
		t.Fatalf("bob's review: %+v %v", rec, err)
	}
	var invalid *contract.InvalidState
	if _, err := e.Steps.Review(ctx, "req-2", "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_abc/carol@example.com", "again"); !errors.As(err, &invalid) || !strings.Contains(err.Error(), "was reviewed by "+bob) {
		t.Errorf("a second review: %v", err)
	}
	metrics.Reset()
	rep, err = e.Steps.Sweep(ctx)
	if err != nil || len(rep.Unreviewed) != 0 || strings.Contains(metrics.String(), contract.MetricBreakGlassUnreviewed) {
		t.Errorf("after the review: unreviewed %v, %v, metrics %q", rep.Unreviewed, err, metrics.String())
	}
	if ids, _ := e.Store.AwaitingReview(ctx); len(ids) != 0 {
		t.Errorf("still awaiting review: %v", ids)
	}
	// A request that is not break-glass has nothing to review.
	if _, err := e.validate(t, "req-4", validRequest(members[1])); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Steps.Review(ctx, "req-4", bob, "x"); !errors.As(err, &invalid) || !strings.Contains(err.Error(), "not a break-glass request") {
		t.Errorf("a review of a request that is not break-glass: %v", err)
	}
}
