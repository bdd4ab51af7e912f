package cdktest

import (
	"encoding/json"
	"fmt"

	"github.com/rootwindow/rootwindow/pkg/policy"
)

// BusPolicy is the request bus's resource policy as the template writes it: the statements of
// every AWS::Events::EventBusPolicy, as one document for pkg/policy. CloudFormation resolves the
// bus's ARN, which the template names by reference; here it is busARN.
func BusPolicy(template map[string]any, busARN string) (policy.Document, error) {
	var stmts []any
	resources, _ := template["Resources"].(map[string]any)
	for _, r := range resources {
		res, _ := r.(map[string]any)
		if res["Type"] != "AWS::Events::EventBusPolicy" {
			continue
		}
		props, _ := res["Properties"].(map[string]any)
		st, ok := props["Statement"].(map[string]any)
		if !ok {
			return policy.Document{}, fmt.Errorf("an event bus policy without a statement: %v", props)
		}
		resolved := map[string]any{}
		for k, v := range st {
			resolved[k] = v
		}
		if _, literal := st["Resource"].(string); !literal {
			resolved["Resource"] = busARN
		}
		stmts = append(stmts, resolved)
	}
	if len(stmts) == 0 {
		return policy.Document{}, fmt.Errorf("the template has no event bus policy")
	}
	doc, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	if err != nil {
		return policy.Document{}, err
	}
	return policy.Parse(doc)
}
