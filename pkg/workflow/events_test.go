package workflow_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/request"
)

// The samples in events/ are what the README shows and what a person pastes into the console:
// each must decode strictly into its task's contract and carry a valid request, today and for
// years to come (a fixed startAt would soon be in the past, so the samples ask to start now).
func TestSampleEvents(t *testing.T) {
	for _, now := range []time.Time{time.Now(), time.Now().AddDate(10, 0, 0)} {
		sampleEventsAt(t, now.UTC())
	}
}

func sampleEventsAt(t *testing.T, now time.Time) {
	decode := func(name string, into any) { t.Helper(); testenv.DecodeSample(t, name, into) }
	policy := request.Policy{Now: now}

	var env contract.Envelope
	decode("stepfunctions-input.json", &env)
	if _, err := request.Parse(env.Request, policy); err != nil {
		t.Errorf("stepfunctions-input.json: %v", err)
	}
	var v contract.ValidateInput
	decode("validate.json", &v)
	var inner contract.Envelope
	if err := json.Unmarshal(v.Input, &inner); err != nil {
		t.Fatal(err)
	}
	if _, err := request.Parse(inner.Request, policy); err != nil || v.Execution == "" {
		t.Errorf("validate.json: %v (execution %q)", err, v.Execution)
	}
	var ev events.CloudWatchEvent
	decode("eventbridge-request.json", &ev)
	if _, err := request.Parse(ev.Detail, policy); err != nil || ev.Source != "rootwindow.requests" || ev.DetailType != "Root Access Window Requested" {
		t.Errorf("eventbridge-request.json: %v (%s / %s)", err, ev.Source, ev.DetailType)
	}
	var entries []struct {
		EventBusName, Source, DetailType, Detail string
	}
	decode("put-events.json", &entries)
	if len(entries) != 1 || entries[0].Source != ev.Source || entries[0].DetailType != ev.DetailType {
		t.Errorf("put-events.json: %+v", entries)
	} else if _, err := request.Parse([]byte(entries[0].Detail), policy); err != nil {
		t.Errorf("put-events.json detail: %v", err)
	}
	var d contract.DetachInput
	decode("detach.json", &d)
	for _, name := range []string{"reattach.json", "compensate.json"} {
		var r contract.ReattachInput
		decode(name, &r)
		if r.Mode != contract.ModeClose && r.Mode != contract.ModeCompensate {
			t.Errorf("%s: mode %q", name, r.Mode)
		}
	}
}
