package stack

import (
	"encoding/json"
	"fmt"
	"strings"
)

// DefinitionFromTemplate extracts the state machine's definition from a synthesized template as
// plain Amazon States Language, replacing each Lambda ARN token with arn(logicalID). The
// synthesized DefinitionString is an Fn::Join of literal text and Fn::GetAtt tokens.
func DefinitionFromTemplate(template map[string]any, arn func(logicalID string) string) ([]byte, error) {
	resources, _ := template["Resources"].(map[string]any)
	for _, r := range resources {
		res, _ := r.(map[string]any)
		if res["Type"] != "AWS::StepFunctions::StateMachine" {
			continue
		}
		props, _ := res["Properties"].(map[string]any)
		def, err := resolve(props["DefinitionString"], arn)
		if err != nil {
			return nil, fmt.Errorf("state machine definition: %w", err)
		}
		var check any
		if err := json.Unmarshal([]byte(def), &check); err != nil {
			return nil, fmt.Errorf("state machine definition is not JSON after resolving tokens: %w", err)
		}
		return []byte(def), nil
	}
	return nil, fmt.Errorf("the template has no AWS::StepFunctions::StateMachine")
}

func resolve(v any, arn func(string) string) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case map[string]any:
		if join, ok := t["Fn::Join"].([]any); ok && len(join) == 2 {
			sep, _ := join[0].(string)
			parts, _ := join[1].([]any)
			out := make([]string, len(parts))
			for i, p := range parts {
				s, err := resolve(p, arn)
				if err != nil {
					return "", err
				}
				out[i] = s
			}
			return strings.Join(out, sep), nil
		}
		if att, ok := t["Fn::GetAtt"].([]any); ok && len(att) == 2 && att[1] == "Arn" {
			id, _ := att[0].(string)
			return arn(id), nil
		}
		if ref, ok := t["Ref"].(string); ok && ref == "AWS::Partition" {
			return "aws", nil
		}
	}
	return "", fmt.Errorf("cannot resolve %v", v)
}
