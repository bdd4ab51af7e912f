package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/window"
	"github.com/rootwindow/rootwindow/pkg/workflow"
)

// Windows is the window service and the state machine's steps over it, against an organization
// and the emulators, as the behaviour tests of pkg/window and pkg/workflow drive them: a test
// calls the steps as Step Functions would and looks at the organization and the ledger.
type Windows struct {
	Org   *orgemu.Server
	Emu   *awsemu.Server // EventBridge, SNS, CloudTrail and Step Functions
	Steps *workflow.Steps
	Deps  window.Deps // what Steps works with; change it with With
	Store *ledger.Store
	Table string
	Now   time.Time // the service's and the ledger's clock
}

var windowsTables atomic.Int32

// NewWindows is Windows over org, with a fresh ledger table on db, its clock at now.
func NewWindows(t testing.TB, db DB, org *orgemu.Server, now time.Time) *Windows {
	t.Helper()
	e := &Windows{Org: org, Emu: awsemu.New(), Now: now, Table: fmt.Sprintf("windows-%d", windowsTables.Add(1))}
	e.Deps = Deps(t, e.Org, e.Emu, db, e.Table, func() time.Time { return e.Now })
	e.With(func(*window.Deps) {})
	return e
}

// With changes what the service works with and builds it and the steps again over it.
func (e *Windows) With(change func(*window.Deps)) {
	change(&e.Deps)
	e.Steps, e.Store = workflow.New(window.New(e.Deps)), e.Deps.Ledger
}

// Input is the console's execution input for req: {"request": req}.
func Input(t testing.TB, req map[string]any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(map[string]any{"request": req})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Started records that by started execution id with input now, as CloudTrail would, and returns
// the Validate payload the state machine passes for it.
func (e *Windows) Started(id string, in json.RawMessage, by awsemu.Identity) contract.ValidateInput {
	return Started(e.Emu, id, in, by, e.Now)
}

// AssertGuardrail fails t unless the guardrail's attachment to each of ids is attached.
func (e *Windows) AssertGuardrail(t testing.TB, attached bool, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if got := e.Org.IsAttached(id, orgemu.GuardrailID); got != attached {
			t.Errorf("guardrail on %s attached = %v, want %v", id, got, attached)
		}
	}
}

// AssertStatus fails t unless request id is want, and returns its record.
func (e *Windows) AssertStatus(t testing.TB, id string, want ledger.Status) ledger.Record {
	t.Helper()
	rec, err := e.Store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != want {
		t.Errorf("request %s is %s, want %s (history %+v)", id, rec.Status, want, rec.History)
	}
	return rec
}

// Writes is how many AttachPolicy and DetachPolicy calls Organizations has had.
func (e *Windows) Writes() int {
	return e.Org.CountCalls("AttachPolicy", "") + e.Org.CountCalls("DetachPolicy", "")
}

// StatusChange is the Step Functions status change of execution `name` of state machine sm, as
// the stack's rule delivers it to the sweeper (events/status-change-aborted.json, changed), with
// errName as its error when not nil.
func StatusChange(t testing.TB, sm, name, status string, errName *string) events.CloudWatchEvent {
	t.Helper()
	var ev events.CloudWatchEvent
	DecodeSample(t, "status-change-aborted.json", &ev)
	var d map[string]any
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		t.Fatal(err)
	}
	d["name"], d["status"], d["stateMachineArn"], d["executionArn"] = name, status, sm, strings.Replace(sm, ":stateMachine:", ":execution:", 1)+":"+name
	if errName != nil {
		d["error"] = *errName
	}
	ev.Detail, _ = json.Marshal(d)
	return ev
}

// EndedEarly delivers to steps' safety net what follows an early end in AWS: the status change of
// request id's execution (of StateMachineARN, which steps must be configured with), stopped with
// contract.ErrEndedEarly. The safety net puts the guardrail back.
func EndedEarly(t testing.TB, steps *workflow.Steps, id string) error {
	t.Helper()
	ended := contract.ErrEndedEarly
	_, err := steps.SafetyNet(context.Background(), StatusChange(t, StateMachineARN, id, "ABORTED", &ended))
	return err
}
