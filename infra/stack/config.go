package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/rootwindow/rootwindow/pkg/authz"
	"github.com/rootwindow/rootwindow/pkg/config"
	"github.com/rootwindow/rootwindow/pkg/request"
)

// Context keys the app reads (cdk.json "context", or `cdk synth -c key=value`).
const (
	CtxGuardrailPolicyID     = "guardrailPolicyId"
	CtxAdminPrincipals       = "adminPrincipals"
	CtxOwnerTagKey           = "ownerTagKey"
	CtxBookingHorizonDays    = "bookingHorizonDays"
	CtxMaxAccountsPerRequest = "maxAccountsPerRequest"
	CtxNotificationEmail     = "notificationEmail"
	CtxTrustedEventAccounts  = "trustedEventAccounts"
)

// Config is the deployment's configuration, validated before anything is synthesized.
type Config struct {
	GuardrailPolicyID     string
	AdminPrincipals       []string
	OwnerTagKey           string
	BookingHorizonDays    int
	MaxAccountsPerRequest int
	// NotificationEmail, if set, is subscribed to the operators' topic.
	NotificationEmail string
	// TrustedEventAccounts may put requests on the request bus (the management account always may).
	TrustedEventAccounts []string
}

var (
	emailPattern     = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
)

var tagKeyPattern = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$`)

// LoadConfig reads the configuration through get (the CDK app's TryGetContext) and returns every
// problem at once, each naming its context key and how to fix it.
func LoadConfig(get func(key string) any) (Config, error) {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	c := Config{OwnerTagKey: authz.DefaultOwnerTagKey, BookingHorizonDays: 7, MaxAccountsPerRequest: request.DefaultMaxAccounts}

	switch v := get(CtxGuardrailPolicyID).(type) {
	case nil:
		bad(CtxGuardrailPolicyID, "is required: the ID (p-...) of the SCP that blocks the root user, attached directly to member accounts")
	case string:
		c.GuardrailPolicyID = strings.TrimSpace(v)
		if err := config.ValidPolicyID(c.GuardrailPolicyID); err != nil {
			bad(CtxGuardrailPolicyID, "%v", err)
		}
	default:
		bad(CtxGuardrailPolicyID, "must be a string like p-abcd1234, got %T", v)
	}

	principals, err := stringList(get(CtxAdminPrincipals))
	switch {
	case err != nil:
		bad(CtxAdminPrincipals, "%v", err)
	case len(principals) == 0:
		bad(CtxAdminPrincipals, "is required: at least one principal ARN pattern allowed to ask for windows, e.g. arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_AdministratorAccess_*/*")
	default:
		c.AdminPrincipals = principals
		if err := authz.ValidatePatterns(principals); err != nil {
			bad(CtxAdminPrincipals, "%v", err)
		}
		for i, p := range principals {
			if strings.Contains(p, ",") {
				bad(CtxAdminPrincipals, "[%d] %q must not contain a comma", i, p)
			}
		}
	}

	if v := get(CtxOwnerTagKey); v != nil {
		s, ok := v.(string)
		if !ok || !tagKeyPattern.MatchString(s) {
			bad(CtxOwnerTagKey, "must be an AWS tag key (1 to 128 letters, digits, spaces or _.:/=+-@), got %v", v)
		} else {
			c.OwnerTagKey = s
		}
	}
	if n, err := intValue(get(CtxBookingHorizonDays), c.BookingHorizonDays, 1, config.MaxBookingHorizonDays); err != nil {
		bad(CtxBookingHorizonDays, "%v", err)
	} else {
		c.BookingHorizonDays = n
	}
	if n, err := intValue(get(CtxMaxAccountsPerRequest), c.MaxAccountsPerRequest, 1, request.DefaultMaxAccounts); err != nil {
		bad(CtxMaxAccountsPerRequest, "%v", err)
	} else {
		c.MaxAccountsPerRequest = n
	}
	if v := get(CtxNotificationEmail); v != nil {
		s, ok := v.(string)
		if !ok || !emailPattern.MatchString(strings.TrimSpace(s)) {
			bad(CtxNotificationEmail, "must be an email address, got %v", v)
		} else {
			c.NotificationEmail = strings.TrimSpace(s)
		}
	}
	accounts, err := stringList(get(CtxTrustedEventAccounts))
	if err != nil {
		bad(CtxTrustedEventAccounts, "%v", err)
	}
	for i, a := range accounts {
		if !accountIDPattern.MatchString(a) {
			bad(CtxTrustedEventAccounts, "[%d] %q is not a 12-digit account ID", i, a)
		}
	}
	c.TrustedEventAccounts = accounts
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("rootwindow configuration is not valid (set these in the JSON file named by ROOTWINDOW_CONFIG, which make sets to rootwindow.json; in cdk.json \"context\"; or with -c key=value):\n%w", errors.Join(errs...))
	}
	return c, nil
}

// WithConfigFile returns a lookup that answers from get (the CDK context) first, then from the
// JSON object in the file at path; an empty path means the context alone.
func WithConfigFile(get func(key string) any, path string) (func(key string) any, error) {
	if path == "" {
		return get, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ROOTWINDOW_CONFIG: %w", err)
	}
	var file map[string]any
	if err := json.Unmarshal(b, &file); err != nil {
		return nil, fmt.Errorf("ROOTWINDOW_CONFIG %s is not a JSON object: %w", path, err)
	}
	return func(key string) any {
		if v := get(key); v != nil {
			return v // context given to the CLI wins over the file
		}
		return file[key]
	}, nil
}

// stringList accepts a JSON list of strings (cdk.json), or a JSON list or comma-separated string
// given with -c on the command line.
func stringList(v any) ([]string, error) {
	var items []string
	switch t := v.(type) {
	case nil:
		return nil, nil
	case []any:
		for i, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("[%d] must be a string, got %T", i, e)
			}
			items = append(items, s)
		}
	case string:
		if strings.HasPrefix(strings.TrimSpace(t), "[") {
			if err := json.Unmarshal([]byte(t), &items); err != nil {
				return nil, fmt.Errorf("is not a JSON list of strings: %v", err)
			}
		} else {
			items = strings.Split(t, ",")
		}
	default:
		return nil, fmt.Errorf("must be a list of strings, got %T", v)
	}
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

func intValue(v any, def, lo, hi int) (int, error) {
	n := def
	switch t := v.(type) {
	case nil:
		return def, nil
	case float64:
		if t != float64(int(t)) {
			return 0, fmt.Errorf("must be a whole number from %d to %d, got %v", lo, hi, t)
		}
		n = int(t)
	case string:
		var err error
		if n, err = strconv.Atoi(strings.TrimSpace(t)); err != nil {
			return 0, fmt.Errorf("must be a whole number from %d to %d, got %q", lo, hi, t)
		}
	default:
		return 0, fmt.Errorf("must be a whole number from %d to %d, got %T", lo, hi, v)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("must be a whole number from %d to %d, got %d", lo, hi, n)
	}
	return n, nil
}
