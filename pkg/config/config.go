// Package config is the Lambdas' runtime configuration: one validated struct read once at cold
// start from the environment variables the CDK stack sets (their names are in package contract). Nothing infrastructure-specific travels in the execution input, so a deploy
// during an open window cannot break its reattach.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rootwindow/rootwindow/pkg/authz"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/request"
)

// MaxBookingHorizonDays bounds how far ahead a window can be booked; the state machine's own
// timeout is sized from it.
const MaxBookingHorizonDays = 30

var policyIDPattern = regexp.MustCompile(`^p-[0-9A-Za-z_]{8,128}$`)

// ValidPolicyID checks an Organizations policy ID.
func ValidPolicyID(id string) error {
	if !policyIDPattern.MatchString(id) {
		return fmt.Errorf("%q is not a policy ID: want \"p-\" then 8 to 128 letters, digits or '_'", id)
	}
	return nil
}

// IsAccountID, IsOUID and IsTagKey check an account ID, an OU ID and a tag key as Organizations
// spells them.
func IsAccountID(s string) bool { return accountPattern.MatchString(s) }
func IsOUID(s string) bool      { return ouIDPattern.MatchString(s) }
func IsTagKey(s string) bool {
	n := utf8.RuneCountInString(s)
	return n >= 1 && n <= 128 && tagPattern.MatchString(s)
}

// IsTagValue reports whether s is a tag value Organizations accepts: at most 256 letters, digits,
// spaces and _.:/=+-@ (so owners in one tag are separated by spaces, never commas).
func IsTagValue(s string) bool {
	return utf8.RuneCountInString(s) <= 256 && tagPattern.MatchString(s)
}

// Runtime is what every Lambda needs to know: the deployment's settings, and the names of the
// resources the stack made.
type Runtime struct {
	Settings
	TableName       string
	EventBus        string
	TopicARN        string
	StateMachineARN string
	// StateMachineRoleARN is the role rootwindow's state machine runs as: validate and detach act
	// only for a running execution of a state machine that runs as it.
	StateMachineRoleARN string
	// EventsRoleARN and APIRoleARN tell the doors apart by who started an execution.
	EventsRoleARN string
	APIRoleARN    string
	// OwnRoleARNs are the roles of rootwindow's functions that attach and detach the guardrail.
	OwnRoleARNs []string
	// RootSessionRoleARNs are the roles of rootwindow's functions that may call sts:AssumeRoot.
	RootSessionRoleARNs []string
	// DeploymentRoleARN is the role that deploys the stack (CloudFormation's execution role): its
	// changes to rootwindow's own resources are deployments, anyone else's are alarmed (sweeper).
	DeploymentRoleARN string
	// Region is the functions' region (Lambda's AWS_REGION).
	Region string
	// Deployment names this deployment (contract.EnvDeployment; default TableName).
	Deployment string
}

// AssumeRootRegion is the Regional STS endpoint to name in an sts:AssumeRoot command (its global
// endpoint does not serve AssumeRoot): the stack's region.
func (r Runtime) AssumeRootRegion() string { return cmp.Or(r.Region, "us-east-1") }

// AdminAccounts are the accounts the administrator patterns name (authz.Accounts): the API admits
// only principals of those; none when a pattern is a name.
func (s Settings) AdminAccounts() []string {
	return authz.Accounts(append(slices.Clone(s.AdminPrincipals), s.ApproverPrincipals...))
}

// Authz is the authorization policy this configuration describes.
func (r Runtime) Authz() authz.Policy {
	return authz.Policy{AdminPatterns: r.AdminPrincipals, ApproverPatterns: r.ApproverPrincipals, OwnerTagKey: r.OwnerTagKey, AnyRoleSessionName: r.AnyRoleSessionName}
}

// RequestPolicy is the request validation policy at now.
func (r Runtime) RequestPolicy(now time.Time) request.Policy {
	return request.Policy{
		Now: now, MaxAccounts: r.MaxAccountsPerRequest,
		BookingHorizon: time.Duration(r.BookingHorizonDays) * 24 * time.Hour, BreakGlass: r.BreakGlass,
	}
}

// Load reads and validates the configuration; the error names every bad variable.
func Load(getenv func(string) string) (Runtime, error) {
	settings, errs := loadSettings(getenv)
	r := Runtime{
		Settings:            settings,
		TableName:           strings.TrimSpace(getenv(contract.EnvTableName)),
		EventBus:            strings.TrimSpace(getenv(contract.EnvEventBus)),
		TopicARN:            strings.TrimSpace(getenv(contract.EnvTopicARN)),
		StateMachineARN:     strings.TrimSpace(getenv(contract.EnvStateMachineARN)),
		StateMachineRoleARN: strings.TrimSpace(getenv(contract.EnvStateMachineRoleARN)),
		EventsRoleARN:       strings.TrimSpace(getenv(contract.EnvEventsRoleARN)),
		APIRoleARN:          strings.TrimSpace(getenv(contract.EnvAPIRoleARN)),
		DeploymentRoleARN:   strings.TrimSpace(getenv(contract.EnvDeploymentRoleARN)),
		Region:              strings.TrimSpace(getenv("AWS_REGION")),
		Deployment:          strings.TrimSpace(getenv(contract.EnvDeployment)),
	}
	r.OwnRoleARNs = SplitList(getenv(contract.EnvOwnRoleARNs))
	r.RootSessionRoleARNs = SplitList(getenv(contract.EnvRootSessionRoleARNs))
	if r.EventBus == "" {
		r.EventBus = "default"
	}
	if r.TopicARN != "" && !strings.HasPrefix(r.TopicARN, "arn:") {
		errs = append(errs, fmt.Errorf("%s must be an SNS topic ARN, got %q", contract.EnvTopicARN, r.TopicARN))
	}
	if r.StateMachineARN != "" && !strings.HasPrefix(r.StateMachineARN, "arn:") {
		errs = append(errs, fmt.Errorf("%s must be a state machine ARN, got %q", contract.EnvStateMachineARN, r.StateMachineARN))
	}
	if r.TableName == "" {
		errs = append(errs, fmt.Errorf("%s is required", contract.EnvTableName))
	}
	if r.Deployment == "" {
		r.Deployment = r.TableName
	}
	// It is a tag value on Organizations' resources (the window SCPs, the root's claim).
	if !IsTagValue(r.Deployment) {
		errs = append(errs, fmt.Errorf("%s must be a tag value Organizations accepts (at most 256 letters, digits, spaces and _.:/=+-@), got %q", contract.EnvDeployment, r.Deployment))
	}
	return r, errors.Join(errs...)
}

// SplitList splits a comma-separated list (an environment value, a command's flag), each item
// trimmed, blanks left out.
func SplitList(value string) []string {
	var out []string
	for v := range strings.SplitSeq(value, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
