package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// safetyRule is the part of the status-change rule's pattern the harness honours: which statuses
// of which state machine reach the sweeper function.
type safetyRule struct {
	Statuses []string
}

// statusRule reads the status-change rule's pattern from the template.
func statusRule(template map[string]any) (safetyRule, error) {
	for _, r := range template["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::Events::Rule" {
			continue
		}
		var p struct {
			EventPattern struct {
				DetailType []string `json:"detail-type"`
				Detail     struct {
					Status []string `json:"status"`
				} `json:"detail"`
			}
		}
		raw, _ := json.Marshal(res["Properties"])
		if json.Unmarshal(raw, &p) == nil && slices.Contains(p.EventPattern.DetailType, contract.DetailTypeStatusChange) {
			return safetyRule{Statuses: p.EventPattern.Detail.Status}, nil
		}
	}
	return safetyRule{}, fmt.Errorf("the template has no status-change rule")
}

// ExecutionEnded delivers the Step Functions status change of an execution that ended as res,
// as the stack's rule does: only statuses its pattern names reach the sweeper function, which
// runs with Lambda's JSON handling. It reports whether the event was delivered.
func (h *Harness) ExecutionEnded(ctx context.Context, name string, res Result) (bool, error) {
	if !slices.Contains(h.safety.Statuses, res.Status) {
		return false, nil
	}
	detail := map[string]any{
		"executionArn":    "arn:aws:states:us-east-1:999999999999:execution:rootwindow:" + name,
		"stateMachineArn": StateMachineARN, "name": name, "status": res.Status,
		"error": nil, "cause": nil,
	}
	if res.Error != "" {
		detail["error"], detail["cause"] = res.Error, res.Cause
	}
	return true, h.deliver(ctx, contract.DetailTypeStatusChange, "aws.states", detail)
}

// Sweep runs the sweeper as its schedule does.
func (h *Harness) Sweep(ctx context.Context) error {
	return h.deliver(ctx, contract.DetailTypeSchedule, "aws.events", map[string]any{})
}

func (h *Harness) deliver(ctx context.Context, detailType, source string, detail map[string]any) error {
	raw, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	ev, err := json.Marshal(events.CloudWatchEvent{
		Version: "0", ID: fmt.Sprintf("harness-%d", time.Now().UnixNano()), DetailType: detailType, Source: source,
		AccountID: Management, Time: h.Clock.Now(), Region: "us-east-1", Resources: []string{}, Detail: raw,
	})
	if err != nil {
		return err
	}
	_, err = lambda.NewHandler(h.Steps().SafetyNet).Invoke(ctx, ev)
	return err
}
