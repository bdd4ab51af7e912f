package window_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/rootemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// With centralized root access, each account's sign-in is reported at booking (its root email,
// whether the root user has a password); with prepareRootSignIn, password recovery is allowed at
// the lift where there is none, recorded and announced with how to delete it again. An account
// whose root sessions are denied is reported unknown, and its window opens all the same.
func TestReadyToSignInAsRoot(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	emu := rootemu.New(map[string]rootemu.Root{
		members[0]: {Password: true, MFADevices: 1},
		members[1]: {},
		members[2]: {Denied: true},
	})
	e.With(func(d *window.Deps) { d.Root = testenv.RootAccess(t, emu) })
	e.With(func(d *window.Deps) { d.Config.CentralizedRoot, d.Config.PrepareRootSignIn = true, true })
	before := e.Org.CountCalls("DescribeAccount", "")
	if _, err := e.validate(t, "req-1", validRequest(members...)); err != nil {
		t.Fatal(err)
	}
	// The audit takes each email address from the booking's inspection: one DescribeAccount an account.
	if n := e.Org.CountCalls("DescribeAccount", "") - before; n != len(members) {
		t.Errorf("%d DescribeAccount calls for %d accounts: the audit read again what the inspection had read", n, len(members))
	}
	rec := e.AssertStatus(t, "req-1", ledger.Scheduled)
	if len(rec.SignIn) != 3 {
		t.Fatalf("sign-in %+v", rec.SignIn)
	}
	want := map[string]string{members[0]: contract.PasswordPresent, members[1]: contract.PasswordAbsent, members[2]: contract.PasswordUnknown}
	for _, si := range rec.SignIn {
		if si.RootPassword != want[si.AccountID] || si.Email != "aws+"+si.AccountID+"@example.com" {
			t.Errorf("%+v", si)
		}
	}
	if emu.Root(members[1]).Password {
		t.Fatal("prepared at booking, before the window")
	}
	if _, err := e.Steps.Detach(ctx, testenv.Decided(t, e.Deps.Ledger, "req-1")); err != nil {
		t.Fatal(err)
	}
	rec = e.AssertStatus(t, "req-1", ledger.Open)
	if !emu.Root(members[1]).Password || emu.Root(members[0]).AccessKeys != 0 {
		t.Error("password recovery was not allowed on the account without a password")
	}
	for _, si := range rec.SignIn {
		if si.Prepared != (si.AccountID == members[1]) {
			t.Errorf("prepared %+v", si)
		}
		if si.AccountID == members[1] && !strings.Contains(si.Detail, "root-task/IAMDeleteRootUserCredentials") {
			t.Errorf("no way to delete it again: %q", si.Detail)
		}
		if si.AccountID == members[2] && !strings.Contains(si.Detail, "aws:AssumedRoot") {
			t.Errorf("why unknown: %q", si.Detail)
		}
	}
	if last := rec.History[len(rec.History)-1]; !strings.Contains(last.Note, "password recovery allowed for the window on "+members[1]) {
		t.Errorf("history %q", last.Note)
	}
	// Messages and events, which others read, point to rootwindow status; they never carry a root
	// user's email or credential state.
	opened := false
	for _, m := range e.Emu.Messages() {
		if strings.Contains(m.Body, "req-1/Opened") && strings.Contains(m.Body, "Sign-in:") && strings.Contains(m.Body, "what signing in as each account's root user takes: rootwindow status req-1, as the requester") {
			opened = true
		}
		if strings.Contains(m.Body, "@example.com, root password") || strings.Contains(m.Body, "aws+"+members[1]) {
			t.Errorf("a message carries root sign-in state: %s", m.Body)
		}
	}
	if !opened {
		t.Errorf("the Opened message does not say where to find how to sign in: %v", e.Emu.Messages())
	}
	for _, ev := range e.Emu.Events() {
		if strings.Contains(string(ev.Detail), "aws+"+members[1]) || strings.Contains(string(ev.Detail), "rootPassword") {
			t.Errorf("an event carries root sign-in state: %s", ev.Detail)
		}
	}
	for _, c := range emu.Calls() {
		if c.Task != "IAMAuditRootUserCredentials" && c.Task != "IAMCreateRootUserPassword" {
			t.Errorf("a root session with %q", c.Task)
		}
	}
}

// Nothing left behind: the root password rootwindow allowed for a window is deleted again once
// the window is over (the sweep, IAMDeleteRootUserCredentials), recorded with the request; one
// that cannot be deleted is counted at every sweep (RootPasswordsLeft) until it is.
func TestTheRootPasswordAllowedForAWindowIsDeletedAfterIt(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	emu := rootemu.New(map[string]rootemu.Root{members[0]: {}, members[1]: {}})
	var metrics strings.Builder
	e.With(func(d *window.Deps) {
		d.Root = testenv.RootAccess(t, emu)
		d.Config.CentralizedRoot, d.Config.PrepareRootSignIn = true, true
		d.Metrics = &metrics
	})
	e.open(t, "req-1", members[0], members[1])
	if !emu.Root(members[0]).Password || !emu.Root(members[1]).Password {
		t.Fatal("password recovery was not allowed for the window")
	}
	// During the window the sweep leaves them.
	if _, err := e.Steps.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if !emu.Root(members[0]).Password {
		t.Fatal("deleted during the window")
	}
	e.Now = t0.Add(2 * time.Hour)
	if _, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "req-1", Mode: contract.ModeClose}); err != nil {
		t.Fatal(err)
	}
	// The window over: one account refuses its root session for now; the other is cleaned up.
	emu.SetDenied(members[1], true)
	rep, err := e.Steps.Sweep(ctx)
	if err == nil || !slices.Equal(rep.RootPasswordsDeleted, []string{members[0]}) || emu.Root(members[0]).Password || !emu.Root(members[1]).Password {
		t.Fatalf("first sweep after the window: %+v %v", rep, err)
	}
	if !strings.Contains(metrics.String(), `"RootPasswordsLeft":1`) {
		t.Errorf("metrics %q", metrics.String())
	}
	emu.SetDenied(members[1], false)
	if rep, err = e.Steps.Sweep(ctx); err != nil || !slices.Equal(rep.RootPasswordsDeleted, []string{members[1]}) || emu.Root(members[1]).Password {
		t.Fatalf("second sweep: %+v %v", rep, err)
	}
	rec := e.AssertStatus(t, "req-1", ledger.Closed)
	for _, si := range rec.SignIn {
		if !si.Prepared || !si.Deleted {
			t.Errorf("sign-in %+v", si)
		}
	}
	if last := rec.History[len(rec.History)-1]; !strings.Contains(last.Note, "root password deleted again after the window on "+members[1]) {
		t.Errorf("history %+v", last)
	}
	// Nothing more to do: later sweeps leave it.
	if rep, err = e.Steps.Sweep(ctx); err != nil || len(rep.RootPasswordsDeleted) != 0 {
		t.Errorf("a later sweep: %+v %v", rep, err)
	}
	deletes := 0
	for _, c := range emu.Calls() {
		if c.Action == "DeleteLoginProfile" && c.Error == "" {
			deletes++
		}
	}
	if deletes != 2 {
		t.Errorf("%d deletions", deletes)
	}
}
