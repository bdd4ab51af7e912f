package guardrail

import (
	"reflect"
	"testing"
)

func TestExtraStatements(t *testing.T) {
	const rootDeny = `{"Sid":"DenyRoot","Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":["arn:aws:iam::*:root"]}}}`
	tests := []struct {
		name    string
		doc     string
		allowed []string
		want    []string
	}{
		{"root deny alone", `{"Version":"2012-10-17","Statement":[` + rootDeny + `]}`, nil, nil},
		{"one statement, not in a list", `{"Statement":` + rootDeny + `}`, nil, nil},
		{"with the centralized root exemption", `{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"},"Null":{"aws:AssumedRoot":"true"}}}]}`, nil, nil},
		{"another deny", `{"Statement":[` + rootDeny + `,{"Sid":"DenyLeaveOrg","Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}`, nil, []string{"DenyLeaveOrg"}},
		{"another deny, allowed", `{"Statement":[` + rootDeny + `,{"Sid":"DenyLeaveOrg","Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}`, []string{"DenyLeaveOrg"}, nil},
		{"a statement without Sid cannot be allowed", `{"Statement":[{"Effect":"Deny","Action":"cloudtrail:StopLogging","Resource":"*"}]}`, []string{""}, []string{"#0"}},
		{"an allow is not a root deny", `{"Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"}}}]}`, nil, []string{"A"}},
		{"a deny of someone else", `{"Statement":[{"Sid":"B","Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Admin"}}}]}`, nil, []string{"B"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExtraStatements(tt.doc, tt.allowed)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := ExtraStatements(`not json`, nil); err == nil {
		t.Error("a document that is not JSON passed")
	}
}
