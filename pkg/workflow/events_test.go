package workflow_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/request"
	"github.com/rootwindow/rootwindow/pkg/workflow"
)

// The samples in events/ are what the README shows and what a person pastes into the console:
// each must decode strictly into its task's contract and carry a valid request.
func TestSampleEvents(t *testing.T) {
	decode := func(name string, into any) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "events", name))
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(into); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	policy := request.Policy{Now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}

	var env workflow.Envelope
	decode("stepfunctions-input.json", &env)
	if _, err := request.Parse(env.Request, policy); err != nil {
		t.Errorf("stepfunctions-input.json: %v", err)
	}
	var v workflow.ValidateInput
	decode("validate.json", &v)
	var inner workflow.Envelope
	if err := json.Unmarshal(v.Input, &inner); err != nil {
		t.Fatal(err)
	}
	if _, err := request.Parse(inner.Request, policy); err != nil || v.Execution == "" {
		t.Errorf("validate.json: %v (execution %q)", err, v.Execution)
	}
	var d workflow.DetachInput
	decode("detach.json", &d)
	for _, name := range []string{"reattach.json", "compensate.json"} {
		var r workflow.ReattachInput
		decode(name, &r)
		if r.Mode != workflow.ModeClose && r.Mode != workflow.ModeCompensate {
			t.Errorf("%s: mode %q", name, r.Mode)
		}
	}
}
