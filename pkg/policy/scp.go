package policy

import (
	"time"
)

// Service control policies are evaluated level by level down an account's path: the root, each
// OU, the account. A request is permitted only if, at every level, some SCP attached there allows
// it, and no SCP anywhere on the path denies it ("SCP evaluation", AWS Organizations User Guide).
// SCPs never apply to the management account; callers leave it out.

// RootUser is a request by account's root user at instant at, with the condition keys AWS puts in
// a root user's request context: aws:PrincipalArn (arn:aws:iam::<account>:root),
// aws:PrincipalAccount and aws:CurrentTime. Root users carry no principal tags. A session from
// centralized root access (sts:AssumeRoot) adds aws:AssumedRoot = true.
func RootUser(account string, at time.Time, assumedRoot bool) Request {
	arn := "arn:aws:iam::" + account + ":root"
	ctx := map[string][]string{
		"aws:PrincipalArn": {arn}, "aws:PrincipalAccount": {account},
		"aws:CurrentTime": {at.UTC().Format(time.RFC3339)},
	}
	if assumedRoot {
		ctx["aws:AssumedRoot"] = []string{"true"}
	}
	return Request{Principal: arn, Action: "iam:CreateVirtualMFADevice", Resource: "*", Context: ctx}
}

// Permits reports whether SCPs permit r, given the documents attached at each level of the
// account's path, root first.
func Permits(levels [][]Document, r Request) bool {
	for _, docs := range levels {
		allowed := false
		for _, d := range docs {
			switch d.Evaluate(r) {
			case Deny:
				return false
			case Allow:
				allowed = true
			}
		}
		if !allowed {
			return false
		}
	}
	return len(levels) > 0
}
