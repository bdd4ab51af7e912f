package harness_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/infra/stack"
	"github.com/rootwindow/rootwindow/internal/harness"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// Guardrail layouts the exempt strategy lifts, through the synthesized state machine: the
// guardrail at the root, at an OU, and on the account as well as its OU.

const layoutAccount = "666666666666"

// layout sets the guardrail where the layout puts it for layoutAccount (and, for root, for every
// account); the cleanup takes it all back.
func layout(t *testing.T, s *scenario, name, strategy string) {
	t.Helper()
	ou := "ou-ex01-layout" + name
	h.Org.AddOU(ou, h.Org.Root(), orgemu.FullAWSAccessID)
	direct := []string{orgemu.FullAWSAccessID}
	switch name {
	case "root":
		h.Org.Attach(h.Org.Root(), orgemu.GuardrailID)
	case "ou":
		h.Org.Attach(ou, orgemu.GuardrailID)
	case "mixed":
		h.Org.Attach(ou, orgemu.GuardrailID)
		direct = append(direct, orgemu.GuardrailID)
	}
	h.Org.AddAccount(orgemu.Account{ID: layoutAccount, Parent: ou, Tags: map[string]string{"owner": harness.Owner}}, direct...)
	t.Cleanup(func() {
		h.Org.Detach(h.Org.Root(), orgemu.GuardrailID)
		h.Org.MoveAccount(layoutAccount, h.Org.Root())
		h.Org.Detach(ou, orgemu.GuardrailID)
		h.Org.SetContent(orgemu.GuardrailID, orgemu.GuardrailContent)
		_ = h.Configure(context.Background(), nil)
	})
	if err := h.Configure(s.ctx, map[string]string{contract.EnvLiftStrategy: strategy}); err != nil {
		t.Fatal(err)
	}
	s.before = h.Org.Snapshot()
}

func TestExemptLayoutsThroughTheStateMachine(t *testing.T) {
	for _, name := range []string{"root", "ou", "mixed"} {
		t.Run(name, func(t *testing.T) {
			s := begin(t)
			layout(t, s, name, contract.StrategyAuto)
			// Just before the restore, the document as it stands: root allowed on the account inside
			// the window, blocked after its end and on any other account.
			var inside, after, other bool
			h.BeforeInvoke(contract.TaskReattach, func(context.Context) {
				rec, _ := h.Ledger().Get(context.Background(), "layout-"+name)
				inside = h.Org.RootAllowed(layoutAccount, rec.RestoreAt.Add(-time.Minute), false)
				after = h.Org.RootAllowed(layoutAccount, rec.RestoreAt.Add(time.Second), false)
				other = h.Org.RootAllowed("111111111111", rec.RestoreAt.Add(-time.Minute), false)
			})
			res := s.run("layout-"+name, request([]string{layoutAccount}, 1, nil))
			if res.Status != "SUCCEEDED" || res.Entered()[len(res.Entered())-1] != stack.StateClosed {
				t.Fatalf("%s %s: %s", res.Status, res.Error, res.Cause)
			}
			rec := s.record("layout-" + name)
			if rec.Strategy != contract.StrategyExempt || rec.Status != ledger.Closed {
				t.Errorf("%s by %q", rec.Status, rec.Strategy)
			}
			if !inside || after || other {
				t.Errorf("before the restore: root on the account inside the window %v, after its end %v; on another account %v", inside, after, other)
			}
			if !strings.Contains(strings.Join(s.ledgerNotes("layout-"+name), "; "), "exempted in the guardrail's document") {
				t.Errorf("history %v", s.ledgerNotes("layout-"+name))
			}
			if h.Org.RootAllowed(layoutAccount, rec.RestoreAt.Add(-time.Minute), false) {
				t.Error("root still exempted after the restore")
			}
			if got := h.Org.Content(orgemu.GuardrailID); got != orgemu.GuardrailContent {
				t.Errorf("document after the restore, not back byte for byte:\n%s", got)
			}
			if n := len(calls("AttachPolicy")) + len(calls("DetachPolicy")); n != 0 {
				t.Errorf("%d attachment changes", n)
			}
			s.unchanged()
		})
	}
}

// rootwindow gone mid-window under the exempt strategy: no restore ever runs, and AWS denies the
// root user from the window's end by the document's own statement.
func TestExemptWindowClosedByAWSWhenRootwindowIsGone(t *testing.T) {
	s := begin(t)
	layout(t, s, "ou", contract.StrategyExempt)
	res, err := h.RunWith(s.ctx, "gone-exempt", request([]string{layoutAccount}, 2, nil), harness.RunOptions{AbortAt: stack.StateHold})
	if err != nil || res.Status != "ABORTED" {
		t.Fatalf("%s %v", res.Status, err)
	}
	h.Idle()
	rec := s.record("gone-exempt")
	if !h.Org.RootAllowed(layoutAccount, rec.RestoreAt.Add(-time.Second), false) || h.Org.RootAllowed(layoutAccount, rec.RestoreAt.Add(time.Second), false) {
		t.Errorf("root a second before the end %v, a second after %v", h.Org.RootAllowed(layoutAccount, rec.RestoreAt.Add(-time.Second), false), h.Org.RootAllowed(layoutAccount, rec.RestoreAt.Add(time.Second), false))
	}
	// Then the safety net, had it run, restores it.
	if _, err := h.ExecutionEnded(s.ctx, "gone-exempt", res); err != nil {
		t.Fatal(err)
	}
	if h.Org.RootAllowed(layoutAccount, rec.RestoreAt.Add(-time.Second), false) {
		t.Error("the safety net left the exemption")
	}
	s.unchanged()
}

func (s *scenario) ledgerNotes(id string) []string {
	var out []string
	for _, tr := range s.record(id).History {
		out = append(out, tr.Note)
	}
	return out
}
