package cdktest

import (
	"encoding/json"
	"fmt"
	"strings"

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
		// A statement of the bus busARN names: a bus named in the template (the default bus), or
		// the stack's own bus, named by reference.
		name, named := props["EventBusName"].(string)
		if named != strings.HasSuffix(busARN, ":event-bus/default") || (named && !strings.HasSuffix(busARN, ":event-bus/"+name)) {
			continue
		}
		st, ok := props["Statement"].(map[string]any)
		if !ok {
			return policy.Document{}, fmt.Errorf("an event bus policy without a statement: %v", props)
		}
		resolved, _ := Resolve(template, st).(map[string]any)
		if r, _ := st["Resource"].(map[string]any); r["Fn::GetAtt"] != nil {
			resolved["Resource"] = busARN // the bus itself
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

// ARNOf is the ARN the tests give a resource of the template that CloudFormation would name:
// a role's or a function's, by its logical ID, in account 999999999999.
func ARNOf(template map[string]any, logicalID string) string {
	resources, _ := template["Resources"].(map[string]any)
	res, _ := resources[logicalID].(map[string]any)
	switch res["Type"] {
	case "AWS::IAM::Role":
		return "arn:aws:iam::999999999999:role/" + logicalID
	case "AWS::Lambda::Function":
		return "arn:aws:lambda:us-east-1:999999999999:function:" + logicalID
	}
	return "arn:aws:unknown:us-east-1:999999999999:" + logicalID
}

// Resolve replaces, wherever they are in v, the template's Fn::GetAtt [id, "Arn"] with
// ARNOf(id), its pseudo parameters (AWS::Partition aws, AWS::AccountId 999999999999,
// AWS::Region us-east-1) by their values and Fn::Join by the joined text: what CloudFormation
// would deploy, for pkg/policy.
func Resolve(template map[string]any, v any) any { return resolve(template, v) }

func resolve(template map[string]any, v any) any {
	switch x := v.(type) {
	case map[string]any:
		if att, ok := x["Fn::GetAtt"].([]any); ok && len(att) == 2 && att[1] == "Arn" {
			id, _ := att[0].(string)
			return ARNOf(template, id)
		}
		if ref, ok := x["Ref"].(string); ok {
			switch ref {
			case "AWS::Partition":
				return "aws"
			case "AWS::AccountId":
				return "999999999999"
			case "AWS::Region":
				return "us-east-1"
			}
			return ARNOf(template, ref) // a resource's Ref: its ARN for the types policies name
		}
		if join, ok := x["Fn::Join"].([]any); ok && len(join) == 2 {
			sep, _ := join[0].(string)
			parts, _ := resolve(template, join[1]).([]any)
			texts := make([]string, len(parts))
			for i, p := range parts {
				texts[i] = fmt.Sprint(p)
			}
			return strings.Join(texts, sep)
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = resolve(template, e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = resolve(template, e)
		}
		return out
	}
	return v
}

// LambdaPolicies are the functions' resource-based policies (AWS::Lambda::ResourcePolicy) by
// the ARN of the function each governs, their ARNs resolved with ARNOf, for pkg/policy.
func LambdaPolicies(template map[string]any) (map[string]policy.Document, error) {
	out := map[string]policy.Document{}
	resources, _ := template["Resources"].(map[string]any)
	for _, r := range resources {
		res, _ := r.(map[string]any)
		if res["Type"] != "AWS::Lambda::ResourcePolicy" {
			continue
		}
		props, _ := res["Properties"].(map[string]any)
		fn, _ := resolve(template, props["ResourceArn"]).(string)
		doc, err := json.Marshal(resolve(template, props["PolicyDocument"]))
		if err != nil {
			return nil, err
		}
		if out[fn], err = policy.Parse(doc); err != nil {
			return nil, fmt.Errorf("the resource policy of %s: %w", fn, err)
		}
	}
	return out, nil
}
