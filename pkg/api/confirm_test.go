package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// TestConfirm: a request an integration asserted for alice is confirmed by alice through the API,
// and by nobody else; one that waits for nothing cannot be confirmed.
func TestConfirm(t *testing.T) {
	e := newEnv(t)
	e.with(func(d *window.Deps) { d.Config.EventConfirmMinutes = 15 })
	in, err := json.Marshal(map[string]any{
		"request": map[string]any{"accountIds": []string{members[0]}, "hours": 1, "reason": "Reset the root password (SEC-7)", "requester": alice},
		"origin":  map[string]string{"channel": "eventbridge", "eventId": "0d9d1c56-0001-4000-8000-00000000000a", "sourceAccount": members[0]},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.steps.Validate(context.Background(), testenv.Started(e.emu, "evt-1", in, testenv.EventsRule, t0))
	if !errors.As(err, new(*contract.AwaitingConfirmation)) {
		t.Fatalf("validate: %v", err)
	}
	const confirm = "/requests/{id}/confirm"
	if a := e.call(t, on(t, "GET", "/requests/{id}", "evt-1", alice)); a.body["confirmBy"] != "2026-11-23T10:15:00Z" || a.body["confirmedBy"] != nil {
		t.Errorf("the request does not show its deadline: %s", a.raw)
	}
	// bob, an administrator, may see it but not confirm it; mallory may not even see it.
	for caller, want := range map[string]int{bob: http.StatusForbidden, mallory: http.StatusNotFound} {
		if a := e.call(t, on(t, "POST", confirm, "evt-1", caller)); a.status != want {
			t.Errorf("%s confirming: %d %s", caller, a.status, a.raw)
		}
	}
	a := e.call(t, on(t, "POST", confirm, "evt-1", alice))
	if a.status != http.StatusOK || a.body["confirmedBy"] != alice || a.body["status"] != "SCHEDULED" {
		t.Fatalf("alice confirming: %d %s", a.status, a.raw)
	}
	if a := e.call(t, on(t, "POST", confirm, "evt-1", alice)); a.status != http.StatusOK {
		t.Errorf("confirming again: %d %s", a.status, a.raw)
	}
	id := e.accept(t, members[1])
	if a := e.call(t, on(t, "POST", confirm, id, alice)); a.status != http.StatusConflict {
		t.Errorf("confirming a request through the API: %d %s", a.status, a.raw)
	}
}
