package guardrail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
)

// Content is the guardrail policy's document as Organizations holds it now.
type Content struct {
	Name   string
	Text   string
	SHA256 string // hex
}

// ControlTowerPrefix starts the names of the SCPs AWS Control Tower creates for its controls
// (aws-guardrails-…): Control Tower treats a change to them as drift and puts them back.
const ControlTowerPrefix = "aws-guardrails-"

// Content reads the guardrail's document (DescribePolicy).
func (g *Guardrail) Content(ctx context.Context) (Content, error) {
	var out *organizations.DescribePolicyOutput
	err := g.call(ctx, "DescribePolicy", g.policyID, func() (err error) {
		out, err = g.api.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String(g.policyID)})
		return err
	})
	if err != nil {
		return Content{}, fmt.Errorf("describe policy %s: %w", g.policyID, err)
	}
	if out.Policy == nil {
		return Content{}, fmt.Errorf("describe policy %s: no policy in the answer", g.policyID)
	}
	text := aws.ToString(out.Policy.Content)
	sum := sha256.Sum256([]byte(text))
	var name string
	if out.Policy.PolicySummary != nil {
		name = aws.ToString(out.Policy.PolicySummary.Name)
	}
	return Content{Name: name, Text: text, SHA256: hex.EncodeToString(sum[:])}, nil
}

// statement is the part of a policy statement the check reads.
type statement struct {
	Sid       string                    `json:"Sid"`
	Effect    string                    `json:"Effect"`
	Condition map[string]map[string]any `json:"Condition"`
}

// ExtraStatements lists the statements of a guardrail document other than a root deny, by Sid
// ("#<index>" for one without), leaving out those whose Sid is in allowed. Lifting the guardrail
// lifts every statement in it: a document that also denies, say, leaving the organization must
// not be lifted for a root task unless an operator allowed that statement by its Sid. A root
// deny is a Deny statement whose condition matches aws:PrincipalArn against the root user
// (arn:aws:iam::*:root), with or without an aws:AssumedRoot exemption.
func ExtraStatements(doc string, allowed []string) ([]string, error) {
	var policy struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &policy); err != nil {
		return nil, fmt.Errorf("the guardrail's document is not JSON: %w", err)
	}
	var stmts []statement
	if err := json.Unmarshal(policy.Statement, &stmts); err != nil {
		var one statement // a single statement need not be in a list
		if err := json.Unmarshal(policy.Statement, &one); err != nil {
			return nil, fmt.Errorf("the guardrail's document has no readable statements: %w", err)
		}
		stmts = []statement{one}
	}
	var extra []string
	for i, st := range stmts {
		if isRootDeny(st) {
			continue
		}
		name := st.Sid
		if name == "" {
			name = fmt.Sprintf("#%d", i)
		}
		if st.Sid == "" || !slices.Contains(allowed, st.Sid) {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	return extra, nil
}

func isRootDeny(st statement) bool {
	if st.Effect != "Deny" {
		return false
	}
	for op, keys := range st.Condition {
		if op != "ArnLike" && op != "StringLike" && op != "ArnEquals" && op != "StringEquals" {
			continue
		}
		for key, v := range keys {
			if !strings.EqualFold(key, "aws:PrincipalArn") {
				continue
			}
			for _, s := range values(v) {
				if strings.HasPrefix(s, "arn:aws") && strings.HasSuffix(s, ":root") && strings.Contains(s, ":iam::") {
					return true
				}
			}
		}
	}
	return false
}

func values(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
