// Package config is the Lambdas' runtime configuration: one validated struct read once at cold
// start from the environment variables the CDK stack sets (their names are in package contract). Nothing infrastructure-specific travels in the execution input, so a deploy
// during an open window cannot break its reattach.
package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

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

// Runtime is what every Lambda needs to know.
type Runtime struct {
	TableName          string
	GuardrailPolicyID  string
	AdminPrincipals    []string
	OwnerTagKey        string
	MaxAccounts        int
	BookingHorizonDays int
	EventBus           string
	TopicARN           string
	StateMachineARN    string
}

// Authz is the authorization policy this configuration describes.
func (r Runtime) Authz() authz.Policy {
	return authz.Policy{AdminPatterns: r.AdminPrincipals, OwnerTagKey: r.OwnerTagKey}
}

// RequestPolicy is the request validation policy at now.
func (r Runtime) RequestPolicy(now time.Time) request.Policy {
	return request.Policy{
		Now: now, MaxAccounts: r.MaxAccounts,
		BookingHorizon: time.Duration(r.BookingHorizonDays) * 24 * time.Hour,
	}
}

// Load reads and validates the configuration; the error names every bad variable.
func Load(getenv func(string) string) (Runtime, error) {
	var errs []error
	r := Runtime{
		TableName:         strings.TrimSpace(getenv(contract.EnvTableName)),
		GuardrailPolicyID: strings.TrimSpace(getenv(contract.EnvGuardrailPolicyID)),
		OwnerTagKey:       strings.TrimSpace(getenv(contract.EnvOwnerTagKey)),
		EventBus:          strings.TrimSpace(getenv(contract.EnvEventBus)),
		TopicARN:          strings.TrimSpace(getenv(contract.EnvTopicARN)),
		StateMachineARN:   strings.TrimSpace(getenv(contract.EnvStateMachineARN)),
	}
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
	if err := ValidPolicyID(r.GuardrailPolicyID); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", contract.EnvGuardrailPolicyID, err))
	}
	for p := range strings.SplitSeq(getenv(contract.EnvAdminPrincipals), ",") {
		if p = strings.TrimSpace(p); p != "" {
			r.AdminPrincipals = append(r.AdminPrincipals, p)
		}
	}
	if len(r.AdminPrincipals) == 0 {
		errs = append(errs, fmt.Errorf("%s must list at least one administrator principal pattern", contract.EnvAdminPrincipals))
	} else if err := authz.ValidatePatterns(r.AdminPrincipals); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", contract.EnvAdminPrincipals, err))
	}
	if r.OwnerTagKey == "" {
		r.OwnerTagKey = authz.DefaultOwnerTagKey
	}
	var err error
	if r.MaxAccounts, err = intVar(getenv, contract.EnvMaxAccounts, request.DefaultMaxAccounts, 1, request.DefaultMaxAccounts); err != nil {
		errs = append(errs, err)
	}
	if r.BookingHorizonDays, err = intVar(getenv, contract.EnvBookingHorizonDays, 7, 1, MaxBookingHorizonDays); err != nil {
		errs = append(errs, err)
	}
	return r, errors.Join(errs...)
}

func intVar(getenv func(string) string, name string, def, lo, hi int) (int, error) {
	s := strings.TrimSpace(getenv(name))
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s must be a whole number from %d to %d, got %q", name, lo, hi, s)
	}
	return n, nil
}
