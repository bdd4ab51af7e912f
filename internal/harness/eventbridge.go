package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/policy"
)

// BusARN is the request bus as the harness names it (the template refers to it by reference).
const BusARN = "arn:aws:events:us-east-1:" + Management + ":event-bus/rootwindow-requests"

// ErrPutDenied is EventBridge's AccessDeniedException: the bus policy refused the PutEvents call.
var ErrPutDenied = errors.New("AccessDeniedException: not authorized to perform events:PutEvents on the request bus (its resource policy)")

// PutRequest is principal (an IAM role or user ARN, as aws:PrincipalArn names it) putting event
// on the request bus, as the synthesized bus policy decides it: refused with ErrPutDenied and
// nothing run, or matched by the request rule and run as execution name, with the event's
// account set to the principal's as EventBridge sets it. The principal is taken to hold every IAM
// permission in its own account: only the bus policy stands in its way.
func (h *Harness) PutRequest(ctx context.Context, name, principal string, event []byte) (Result, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(event, &fields); err != nil {
		return Result{}, fmt.Errorf("event: %w", err)
	}
	var source, detailType string
	_ = json.Unmarshal(fields["source"], &source)
	_ = json.Unmarshal(fields["detail-type"], &detailType)
	account := policy.AccountOf(principal)
	effect := h.busPolicy.Evaluate(policy.Request{Principal: principal, Action: "events:PutEvents", Resource: BusARN,
		Context: map[string][]string{"aws:PrincipalArn": {principal}, "aws:PrincipalAccount": {account},
			"events:source": {source}, "events:detail-type": {detailType}}})
	// A principal of another account needs the bus policy's Allow; one of the bus's own account
	// may rely on its IAM permissions, unless the bus policy denies it.
	if effect == policy.Deny || (effect != policy.Allow && account != Management) {
		return Result{}, ErrPutDenied
	}
	fields["account"], _ = json.Marshal(account)
	event, _ = json.Marshal(fields)
	input, err := h.EventBridgeInput(event)
	if err != nil {
		return Result{}, err
	}
	rule := testenv.EventsRule
	return h.RunWith(ctx, name, input, RunOptions{StartedBy: &rule})
}

// inputTransformer is an EventBridge rule target's InputTransformer, as synthesized.
type inputTransformer struct {
	Paths    map[string]string `json:"InputPathsMap"`
	Template string            `json:"InputTemplate"`
}

// requestRule finds the request rule's target transformer in the template.
func requestRule(template map[string]any) (inputTransformer, error) {
	var it inputTransformer
	for _, r := range template["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::Events::Rule" {
			continue
		}
		pattern, _ := json.Marshal(res["Properties"].(map[string]any)["EventPattern"])
		if !strings.Contains(string(pattern), `"source":["`+contract.RequestSource+`"]`) {
			continue // the safety net's rules
		}
		targets, _ := res["Properties"].(map[string]any)["Targets"].([]any)
		if len(targets) != 1 {
			return it, fmt.Errorf("the request rule has %d targets, want the state machine alone", len(targets))
		}
		raw, err := json.Marshal(targets[0].(map[string]any)["InputTransformer"])
		if err != nil {
			return it, err
		}
		if err := json.Unmarshal(raw, &it); err != nil || it.Template == "" {
			return it, fmt.Errorf("the request rule's target has no input transformer: %s", raw)
		}
		return it, nil
	}
	return it, fmt.Errorf("the template has no request rule with an input transformer")
}

var placeholder = regexp.MustCompile(`<([A-Za-z0-9_.]+)>`)

// EventBridgeInput is what the request rule hands the state machine for event: its input
// transformer applied as EventBridge applies it. Each path is a top-level "$.field"; a placeholder
// takes that field's JSON value (strings with their quotes, objects whole).
func (h *Harness) EventBridgeInput(event []byte) (json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(event, &fields); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	values := map[string]string{}
	for name, path := range h.rule.Paths {
		field, ok := strings.CutPrefix(path, "$.")
		if !ok || strings.Contains(field, ".") {
			return nil, fmt.Errorf("input path %s: only top-level fields are emulated", path)
		}
		v, ok := fields[field]
		if !ok {
			v = json.RawMessage("null")
		}
		values[name] = string(v)
	}
	out := placeholder.ReplaceAllStringFunc(h.rule.Template, func(m string) string {
		if v, ok := values[m[1:len(m)-1]]; ok {
			return v
		}
		return m
	})
	if !json.Valid([]byte(out)) {
		return nil, fmt.Errorf("the transformed input is not JSON: %s", out)
	}
	return json.RawMessage(out), nil
}
