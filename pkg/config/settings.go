package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/rootwindow/rootwindow/pkg/authz"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/request"
)

// Keys of the configuration file (ROOTWINDOW_CONFIG) and the CDK context (cdk.json, -c key=value).
const (
	KeyGuardrailPolicyID     = "guardrailPolicyId"
	KeyAdminPrincipals       = "adminPrincipals"
	KeyApproverPrincipals    = "approverPrincipals"
	KeyOwnerTagKey           = "ownerTagKey"
	KeyBookingHorizonDays    = "bookingHorizonDays"
	KeyMaxAccountsPerRequest = "maxAccountsPerRequest"
	KeyNotificationEmail     = "notificationEmail"
	KeyEventIntegrations     = "eventIntegrations"
	KeyOrganizationID        = "organizationId"
	KeyManagementAccountID   = "managementAccountId"
	KeyIdentityStoreID       = "identityStoreId"
	KeyLedgerBreakGlassRole  = "ledgerBreakGlassRoleArn"
	KeyLedgerAuditorRoles    = "ledgerAuditorRoleArns"
	KeyDeploymentRole        = "deploymentRoleArn"
	KeyAnyRoleSessionName    = "anyRoleSessionName"
	KeyGuardrailSHA256       = "guardrailContentSha256"
	KeyGuardrailAllowedSids  = "guardrailAllowedStatements"
	KeyCooldownMinutes       = "cooldownMinutes"
	KeyMaxConcurrentPerUser  = "maxConcurrentWindowsPerRequester"
	KeyMaxDailyPerUser       = "maxWindowsPerRequesterPerDay"
	KeyMaxAccountsAtOnce     = "maxAccountsLiftedAtOnce"
	KeyEventConfirmMinutes   = "eventConfirmationMinutes"
	KeySCPsPerTargetQuota    = "scpsPerTargetQuota"
	KeySCPSizeQuota          = "scpSizeQuota"
	KeyLiftStrategy          = "liftStrategy"
	KeyDriftScanMinutes      = "driftScanMinutes"
	KeyTrailEventDataStore   = "trailEventDataStoreArn"
	KeyTrailLogGroup         = "trailLogGroupArn"
	KeyRootScanMinutes       = "rootActivityScanMinutes"
	KeyCentralizedRoot       = "centralizedRootAccess"
	KeyPrepareRootSignIn     = "prepareRootSignIn"
	KeyBreakGlass            = "breakGlass"
	KeyApproval              = "approval"
	KeyApprovalMinutes       = "approvalTimeoutMinutes"
	KeyApprovalChannels      = "approvalChannels"
	KeyApprovalScope         = "approvalAccounts"
	// KeyTrustedEventAccounts is no longer read: whole accounts are not trusted any more.
	KeyTrustedEventAccounts = "trustedEventAccounts"
)

// Settings are what a deployment chooses. The CDK app reads them from the configuration file or
// the context (FromLookup); the stack passes those the functions need in their environment (Env),
// and each function reads them back at cold start (Load). One type, one set of bounds.
type Settings struct {
	GuardrailPolicyID string
	AdminPrincipals   []string
	// ApproverPrincipals are the patterns of who may approve or deny a request that needs a second
	// administrator (the same rules as AdminPrincipals); none: the administrators.
	ApproverPrincipals    []string
	OwnerTagKey           string
	BookingHorizonDays    int
	MaxAccountsPerRequest int
	// NotificationEmail, if set, is subscribed to the operators' topic; every sweep checks that
	// the subscription is there, confirmed, and confirmed with authentication.
	NotificationEmail string
	// EventIntegrations are the principal ARNs (IAM roles or users) that may put requests on the
	// request bus; nobody else may, not even in this account. The functions refuse an event from
	// an account none of them is in, and record them as the party asserting the requester.
	EventIntegrations []string
	// EventConfirmMinutes, when not 0, makes a request that came through EventBridge wait that
	// many minutes for its named requester to confirm it through the authenticated API; unconfirmed,
	// it is refused and nothing is lifted.
	EventConfirmMinutes int
	// SCPsPerTargetQuota and SCPSizeQuota are Organizations' quotas (SCPs attached directly to
	// one target; characters in one SCP), AWS's documented values unless the organization's differ.
	SCPsPerTargetQuota int
	SCPSizeQuota       int
	// LiftStrategy is how the guardrail is lifted: contract.StrategyDetach (attached directly to
	// each account), contract.StrategyExempt (its document rewritten; attached anywhere) or
	// contract.StrategyAuto (detach where every account of a request allows it, else exempt).
	LiftStrategy string
	// OrganizationID is this organization (o-...): only its principals may call the API, and the
	// functions act only on it.
	OrganizationID string
	// ManagementAccountID is the organization's management account, when the stack runs in a
	// delegated administrator account for policy management; "" means the stack's own account.
	ManagementAccountID string
	// BreakGlass lets an owner ask for an emergency window that needs no approval (request field
	// breakGlass): one hour at most, from now, announced to every operator as such, and reviewed
	// afterwards by another administrator (BreakGlassUnreviewed alarms until then).
	BreakGlass bool
	// IdentityStoreID is IAM Identity Center's identity store (d-1234567890): with it, an owner tag
	// may name groups (authz.GroupPrefix) whose members own the account, and the four-eyes rule
	// knows Identity Center users by user ID too; "" for none.
	IdentityStoreID string
	// LedgerBreakGlassRole is a role that may write the ledger's items besides rootwindow's own
	// functions (deploy time only); "" for none.
	LedgerBreakGlassRole string
	// LedgerAuditorRoles may read the ledger's items besides rootwindow's own functions and the
	// break-glass role (deploy time only): the records hold each account's root email and
	// credential state. They may decrypt the state machine's executions too.
	LedgerAuditorRoles []string
	// DeploymentRole is the role that deploys the stack (CloudFormation's execution role): the
	// only principal the ledger's table lets change its policy, settings or existence. ""
	// means the CDK bootstrap's default (cdk-hnb659fds-cfn-exec-role-<account>-<region>).
	DeploymentRole string
	// AnyRoleSessionName lets any assumed role's session name stand for an owner, not only IAM
	// Identity Center's (see authz.Policy).
	AnyRoleSessionName bool
	// GuardrailSHA256 pins the guardrail's document (hex SHA-256 of its content); "" pins the
	// content rootwindow first sees, in the ledger.
	GuardrailSHA256 string
	// GuardrailAllowedSids are the Sids of statements besides the root deny that may be lifted
	// with it.
	GuardrailAllowedSids []string
	// Limits. CooldownMinutes must pass between the end of a window on an account and the start
	// of the next one on it; a requester holds at most MaxConcurrentPerRequester windows
	// (scheduled or open) and gets at most MaxDailyPerRequester accepted in 24 hours; the
	// organization holds at most MaxAccountsAtOnce accounts in windows (scheduled or open).
	CooldownMinutes           int
	MaxConcurrentPerRequester int
	MaxDailyPerRequester      int
	MaxAccountsAtOnce         int
	// DriftScanMinutes is how often the sweeper reads the whole organization (by parent and by
	// policy target) for protected accounts that lost the guardrail; between scans it checks the
	// accounts rootwindow knows and those the last scan found drifted.
	DriftScanMinutes int
	// TrailEventDataStore is the ARN of a CloudTrail Lake event data store holding the
	// organization's management events ("" for none): the sweeper reads what root did in each
	// window (the window report) and looks for root activity outside any window, every
	// RootScanMinutes.
	TrailEventDataStore string
	// TrailLogGroup is, instead, the ARN of the CloudWatch Logs log group an organization trail
	// delivers to, read with CloudWatch Logs Insights ("" for none; at most one of the two).
	TrailLogGroup   string
	RootScanMinutes int
	// Approval is ApprovalNone, or ApprovalSecondAdmin: a request waits (ApprovalMinutes at most,
	// then nothing is lifted) for an administrator other than its requester to approve it. Only
	// requests through ApprovalChannels (all when empty) for an account in ApprovalScope (account
	// or OU IDs, at any depth; all accounts when empty) need it.
	Approval        string
	ApprovalMinutes int
	// CentralizedRoot says centralized root access is enabled in the organization: a request
	// for a task it performs is answered with the sts:AssumeRoot command instead of a window,
	// unless the requester says why that will not do.
	CentralizedRoot bool
	// PrepareRootSignIn (with CentralizedRoot) allows password recovery at the lift for an
	// account whose root user has no password, so that its owner can sign in.
	PrepareRootSignIn bool
	ApprovalChannels  []string
	ApprovalScope     []string
}

// Approval settings.
const (
	ApprovalNone        = "none"
	ApprovalSecondAdmin = "second-admin"
)

// NeedsApproval reports whether a request through channel needs a second administrator's
// approval, given the accounts' ancestors (each account ID with its OUs and root).
func (s Settings) NeedsApproval(channel string, ancestors [][]string) bool {
	if s.Approval != ApprovalSecondAdmin || (len(s.ApprovalChannels) > 0 && !slices.Contains(s.ApprovalChannels, channel)) {
		return false
	}
	if len(s.ApprovalScope) == 0 {
		return true
	}
	for _, path := range ancestors {
		for _, id := range path {
			if slices.Contains(s.ApprovalScope, id) {
				return true
			}
		}
	}
	return false
}

// DefaultSettings are the values of the settings left unset.
func DefaultSettings() Settings {
	return Settings{OwnerTagKey: authz.DefaultOwnerTagKey, BookingHorizonDays: 7, MaxAccountsPerRequest: request.DefaultMaxAccounts,
		CooldownMinutes: 60, MaxConcurrentPerRequester: 3, MaxDailyPerRequester: 10, MaxAccountsAtOnce: 200,
		SCPsPerTargetQuota: contract.SCPsPerTargetQuota, SCPSizeQuota: contract.SCPSizeQuota, LiftStrategy: contract.StrategyDetach, DriftScanMinutes: 60, RootScanMinutes: 60,
		Approval: ApprovalNone, ApprovalMinutes: 60}
}

var (
	emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	// Organizations' Tag key and value characters (API reference, "Tag"): no comma, no control
	// character. The lengths (key 1 to 128, value at most 256) are counted apart: a counted
	// repetition of a Unicode class compiles into that many copies (4 ms and 7 MiB at every
	// function's cold start, measured).
	tagPattern    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	orgIDPattern  = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// Identity Store API reference, IdentityStoreId.
	identityStorePattern = regexp.MustCompile(`^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	accountPattern       = regexp.MustCompile(`^[0-9]{12}$`)
	ouIDPattern          = regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`)
	rootIDPattern        = regexp.MustCompile(`^r-[0-9a-z]{4,32}$`)
	// CloudTrail Lake's event data store ARN (API reference, StartQuery's FROM takes its ID).
	eventDataStorePattern = regexp.MustCompile(`^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:[0-9]{12}:eventdatastore/[A-Za-z0-9-]+$`)
	// A CloudWatch Logs log group's ARN (names: letters, digits, _ - / . #), with or without :*.
	logGroupPattern = regexp.MustCompile(`^arn:aws[a-z-]*:logs:[a-z0-9-]+:[0-9]{12}:log-group:[A-Za-z0-9_/.#-]+(:\*)?$`)
	sidPattern      = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	// Role and principal ARNs (a path and name of at most 512 characters: arnPath).
	rolePattern      = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
	principalPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[\w+=,.@/-]+$`)
)

// isRole and isPrincipal check an IAM role ARN (a user's too, for isPrincipal) and the length of
// its path and name.
func isRole(s string) bool      { return rolePattern.MatchString(s) && arnPathFits(s) }
func isPrincipal(s string) bool { return principalPattern.MatchString(s) && arnPathFits(s) }

func arnPathFits(s string) bool {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) < 6 {
		return false
	}
	_, pathAndName, _ := strings.Cut(parts[5], "/")
	return len(pathAndName) <= 512
}

// setting is one key: where the functions find it (env, "" for deploy-time only), how a value is
// read into Settings, and how it is written into the functions' environment.
type setting struct {
	key      string
	env      string
	required string // what to say when it is missing; "" when it has a default
	read     func(s *Settings, v any) error
	write    func(s Settings) string
}

const adminsRequired = "is required: at least one principal ARN pattern allowed to ask for windows, e.g. arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_AdministratorAccess_*/*"

var settings = []setting{
	{
		key: KeyGuardrailPolicyID, env: contract.EnvGuardrailPolicyID,
		required: "is required: the ID (p-...) of the SCP that blocks the root user, attached directly to member accounts",
		read: func(s *Settings, v any) error {
			str, ok := v.(string)
			if !ok {
				return fmt.Errorf("must be a string like p-abcd1234, got %T", v)
			}
			s.GuardrailPolicyID = strings.TrimSpace(str)
			return ValidPolicyID(s.GuardrailPolicyID)
		},
		write: func(s Settings) string { return s.GuardrailPolicyID },
	},
	{
		key: KeyAdminPrincipals, env: contract.EnvAdminPrincipals,
		required: adminsRequired,
		read: func(s *Settings, v any) error {
			principals, err := stringList(v)
			if err != nil {
				return err
			}
			if len(principals) == 0 {
				return errors.New(adminsRequired)
			}
			s.AdminPrincipals = principals
			var errs []error
			if err := authz.ValidatePatterns(principals); err != nil {
				errs = append(errs, err)
			}
			for i, p := range principals {
				if strings.Contains(p, ",") {
					errs = append(errs, fmt.Errorf("[%d] %q must not contain a comma", i, p))
				}
			}
			return errors.Join(errs...)
		},
		write: func(s Settings) string { return strings.Join(s.AdminPrincipals, ",") },
	},
	listSetting(KeyApproverPrincipals, contract.EnvApproverPrincipals, func(s *Settings) *[]string { return &s.ApproverPrincipals },
		func(p string) string {
			if strings.Contains(p, ",") {
				return "must not contain a comma"
			}
			return authz.PatternProblem(p)
		}),
	{
		key: KeyOwnerTagKey, env: contract.EnvOwnerTagKey,
		read: func(s *Settings, v any) error {
			str, ok := v.(string)
			if !ok || !IsTagKey(str) {
				return fmt.Errorf("must be an AWS tag key (1 to 128 letters, digits, spaces or _.:/=+-@), got %v", v)
			}
			s.OwnerTagKey = str
			return nil
		},
		write: func(s Settings) string { return s.OwnerTagKey },
	},
	{
		key: KeyBookingHorizonDays, env: contract.EnvBookingHorizonDays,
		read: func(s *Settings, v any) (err error) {
			s.BookingHorizonDays, err = intValue(v, 1, MaxBookingHorizonDays)
			return err
		},
		write: func(s Settings) string { return strconv.Itoa(s.BookingHorizonDays) },
	},
	{
		key: KeyMaxAccountsPerRequest, env: contract.EnvMaxAccounts,
		read: func(s *Settings, v any) (err error) {
			s.MaxAccountsPerRequest, err = intValue(v, 1, request.DefaultMaxAccounts)
			return err
		},
		write: func(s Settings) string { return strconv.Itoa(s.MaxAccountsPerRequest) },
	},
	boolSetting(KeyAnyRoleSessionName, contract.EnvAnyRoleSessionName, "", func(s *Settings) *bool { return &s.AnyRoleSessionName }),
	{
		key: KeyGuardrailSHA256, env: contract.EnvGuardrailSHA256,
		read: func(s *Settings, v any) error {
			str, ok := v.(string)
			if !ok || !sha256Pattern.MatchString(strings.ToLower(strings.TrimSpace(str))) {
				return fmt.Errorf("must be the guardrail document's SHA-256, 64 hexadecimal digits (aws organizations describe-policy --policy-id <id> --query Policy.Content --output json | jq -j . | sha256sum), got %v", v)
			}
			s.GuardrailSHA256 = strings.ToLower(strings.TrimSpace(str))
			return nil
		},
		write: func(s Settings) string { return s.GuardrailSHA256 },
	},
	listSetting(KeyGuardrailAllowedSids, contract.EnvGuardrailAllowedSids, func(s *Settings) *[]string { return &s.GuardrailAllowedSids },
		func(sid string) string {
			return unless(sidPattern.MatchString(sid) && len(sid) <= 128, "is not a statement Sid (letters and digits)")
		}),
	intSetting(KeyCooldownMinutes, contract.EnvCooldownMinutes, 0, 7*24*60, func(s *Settings) *int { return &s.CooldownMinutes }),
	intSetting(KeyMaxConcurrentPerUser, contract.EnvMaxConcurrentPerUser, 1, 50, func(s *Settings) *int { return &s.MaxConcurrentPerRequester }),
	intSetting(KeyMaxDailyPerUser, contract.EnvMaxDailyPerUser, 1, 200, func(s *Settings) *int { return &s.MaxDailyPerRequester }),
	intSetting(KeyMaxAccountsAtOnce, contract.EnvMaxAccountsAtOnce, 1, 10000, func(s *Settings) *int { return &s.MaxAccountsAtOnce }),
	{
		key: KeyNotificationEmail, env: contract.EnvNotificationEmail,
		read: func(s *Settings, v any) error {
			str, ok := v.(string)
			if !ok || !emailPattern.MatchString(strings.TrimSpace(str)) {
				return fmt.Errorf("must be an email address, got %v", v)
			}
			s.NotificationEmail = strings.TrimSpace(str)
			return nil
		},
		write: func(s Settings) string { return s.NotificationEmail },
	},
	{
		key: KeyLiftStrategy, env: contract.EnvLiftStrategy,
		read: func(s *Settings, v any) error {
			str, _ := v.(string)
			switch str = strings.TrimSpace(str); str {
			case contract.StrategyDetach, contract.StrategyExempt, contract.StrategyAuto:
				s.LiftStrategy = str
				return nil
			}
			return fmt.Errorf("must be %q (the guardrail attached directly to each account), %q (its document rewritten; attached anywhere) or %q, got %v",
				contract.StrategyDetach, contract.StrategyExempt, contract.StrategyAuto, v)
		},
		write: func(s Settings) string { return s.LiftStrategy },
	},
	intSetting(KeySCPsPerTargetQuota, contract.EnvSCPsPerTargetQuota, 2, 100, func(s *Settings) *int { return &s.SCPsPerTargetQuota }),
	intSetting(KeySCPSizeQuota, contract.EnvSCPSizeQuota, 1000, 1_000_000, func(s *Settings) *int { return &s.SCPSizeQuota }),
	boolSetting(KeyCentralizedRoot, contract.EnvCentralizedRoot, "is centralized root access enabled in the organization?", func(s *Settings) *bool { return &s.CentralizedRoot }),
	boolSetting(KeyBreakGlass, contract.EnvBreakGlass, "take break-glass requests (no approval, one hour, reviewed after)?", func(s *Settings) *bool { return &s.BreakGlass }),
	boolSetting(KeyPrepareRootSignIn, contract.EnvPrepareRootSignIn, "allow password recovery for the window where the root user has no password?", func(s *Settings) *bool { return &s.PrepareRootSignIn }),
	{
		key: KeyApproval, env: contract.EnvApproval,
		read: func(s *Settings, v any) error {
			str, _ := v.(string)
			switch str = strings.TrimSpace(str); str {
			case ApprovalNone, ApprovalSecondAdmin:
				s.Approval = str
				return nil
			}
			return fmt.Errorf("must be %q or %q (an administrator other than the requester approves each request), got %v", ApprovalNone, ApprovalSecondAdmin, v)
		},
		write: func(s Settings) string { return s.Approval },
	},
	intSetting(KeyApprovalMinutes, contract.EnvApprovalMinutes, 5, 24*60, func(s *Settings) *int { return &s.ApprovalMinutes }),
	listSetting(KeyApprovalChannels, contract.EnvApprovalChannels, func(s *Settings) *[]string { return &s.ApprovalChannels },
		func(c string) string {
			return unless(c == contract.ChannelAPI || c == contract.ChannelEventBridge || c == contract.ChannelStepFunctions,
				fmt.Sprintf("is not a door: %s, %s or %s", contract.ChannelAPI, contract.ChannelEventBridge, contract.ChannelStepFunctions))
		}),
	listSetting(KeyApprovalScope, contract.EnvApprovalScope, func(s *Settings) *[]string { return &s.ApprovalScope },
		func(id string) string {
			return unless(accountPattern.MatchString(id) || ouIDPattern.MatchString(id) || rootIDPattern.MatchString(id),
				"is not an account ID (12 digits), an OU ID (ou-...) or a root ID (r-...)")
		}),
	intSetting(KeyDriftScanMinutes, contract.EnvDriftScanMinutes, 5, 24*60, func(s *Settings) *int { return &s.DriftScanMinutes }),
	intSetting(KeyRootScanMinutes, contract.EnvRootScanMinutes, 5, 24*60, func(s *Settings) *int { return &s.RootScanMinutes }),
	arnSetting(KeyTrailEventDataStore, contract.EnvTrailEventDataStore, eventDataStorePattern, 256,
		"a CloudTrail Lake event data store ARN (arn:aws:cloudtrail:<region>:<account>:eventdatastore/<id>), from `aws cloudtrail list-event-data-stores`",
		func(s *Settings) *string { return &s.TrailEventDataStore }),
	arnSetting(KeyTrailLogGroup, contract.EnvTrailLogGroup, logGroupPattern, 600,
		"the ARN of the CloudWatch Logs log group the organization trail delivers to (arn:aws:logs:<region>:<account>:log-group:<name>)",
		func(s *Settings) *string { return &s.TrailLogGroup }),
	intSetting(KeyEventConfirmMinutes, contract.EnvEventConfirmMinutes, 0, MaxEventConfirmMinutes, func(s *Settings) *int { return &s.EventConfirmMinutes }),
	listSetting(KeyEventIntegrations, contract.EnvEventIntegrations, func(s *Settings) *[]string { return &s.EventIntegrations },
		func(a string) string {
			if strings.Contains(a, ",") {
				return "must not contain a comma"
			}
			return unless(isPrincipal(a), "is not an IAM role or user ARN of one account (arn:aws:iam::123456789012:role/name)")
		}),
	{
		key: KeyOrganizationID, env: contract.EnvOrganizationID,
		required: "is required: this organization's ID (o-...), from `aws organizations describe-organization`; only its principals may call the API",
		read: func(s *Settings, v any) error {
			str, ok := v.(string)
			if !ok || !orgIDPattern.MatchString(strings.TrimSpace(str)) {
				return fmt.Errorf("must be an organization ID: \"o-\" then 10 to 32 lowercase letters or digits, got %v", v)
			}
			s.OrganizationID = strings.TrimSpace(str)
			return nil
		},
		write: func(s Settings) string { return s.OrganizationID },
	},
	{
		key: KeyManagementAccountID, env: contract.EnvManagementAccountID,
		read: func(s *Settings, v any) error {
			str, ok := v.(string)
			if !ok || !accountPattern.MatchString(str) {
				return fmt.Errorf("must be the management account's 12-digit ID, got %v", v)
			}
			s.ManagementAccountID = str
			return nil
		},
		write: func(s Settings) string { return s.ManagementAccountID },
	},
	{
		key: KeyIdentityStoreID, env: contract.EnvIdentityStoreID,
		read: func(s *Settings, v any) error {
			str, ok := v.(string)
			if !ok || !identityStorePattern.MatchString(str) {
				return fmt.Errorf("must be IAM Identity Center's identity store ID (d- then 10 hex digits, or a UUID), from `aws sso-admin list-instances`, got %v", v)
			}
			s.IdentityStoreID = str
			return nil
		},
		write: func(s Settings) string { return s.IdentityStoreID },
	},
	{
		key: KeyLedgerBreakGlassRole,
		read: func(s *Settings, v any) error {
			str, ok := v.(string)
			if !ok || !isRole(str) {
				return fmt.Errorf("must be an IAM role ARN of one account (arn:aws:iam::123456789012:role/name), got %v", v)
			}
			s.LedgerBreakGlassRole = str
			return nil
		},
	},
	listSetting(KeyLedgerAuditorRoles, "", func(s *Settings) *[]string { return &s.LedgerAuditorRoles },
		func(a string) string {
			return unless(isRole(a), "is not an IAM role ARN of one account (arn:aws:iam::123456789012:role/name)")
		}),
	{
		key: KeyDeploymentRole,
		read: func(s *Settings, v any) error {
			str, ok := v.(string)
			if !ok || !isRole(str) {
				return fmt.Errorf("must be an IAM role ARN of one account (arn:aws:iam::123456789012:role/name): CloudFormation's execution role for the stack, got %v", v)
			}
			s.DeploymentRole = str
			return nil
		},
	},
	{
		key: KeyTrustedEventAccounts,
		read: func(*Settings, any) error {
			return errors.New("is no longer supported: a whole account is not trusted to assert requesters any more; list the integration principals that may put requests in eventIntegrations (IAM role or user ARNs)")
		},
	},
}

// MaxEventConfirmMinutes bounds eventConfirmationMinutes: a requester confirms within two hours.
const MaxEventConfirmMinutes = 120

// IntegrationsIn lists the configured integration principals of account.
func (s Settings) IntegrationsIn(account string) []string {
	var out []string
	for _, arn := range s.EventIntegrations {
		if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 && parts[4] == account {
			out = append(out, arn)
		}
	}
	return out
}

// intSetting is a whole-number setting from lo to hi, kept in the field field points to.
// boolSetting is a true/false key; hint, if any, says what it asks.
func boolSetting(key, env, hint string, field func(*Settings) *bool) setting {
	return setting{
		key: key, env: env,
		read: func(s *Settings, v any) error {
			switch v {
			case true, "true":
				*field(s) = true
			case false, "false":
				*field(s) = false
			default:
				if hint != "" {
					return fmt.Errorf("must be true or false (%s), got %v", hint, v)
				}
				return fmt.Errorf("must be true or false, got %v", v)
			}
			return nil
		},
		write: func(s Settings) string { return strconv.FormatBool(*field(&s)) },
	}
}

// arnSetting is an ARN matching pattern, at most maxLen characters; what it must be is said.
func arnSetting(key, env string, pattern *regexp.Regexp, maxLen int, what string, field func(*Settings) *string) setting {
	return setting{
		key: key, env: env,
		read: func(s *Settings, v any) error {
			str, _ := v.(string)
			if str = strings.TrimSpace(str); !pattern.MatchString(str) || len(str) > maxLen {
				return fmt.Errorf("must be %s, got %v", what, v)
			}
			*field(s) = str
			return nil
		},
		write: func(s Settings) string { return *field(&s) },
	}
}

func intSetting(key, env string, lo, hi int, field func(*Settings) *int) setting {
	return setting{
		key: key, env: env,
		read: func(s *Settings, v any) (err error) {
			*field(s), err = intValue(v, lo, hi)
			return err
		},
		write: func(s Settings) string { return strconv.Itoa(*field(&s)) },
	}
}

// listSetting is a list of strings, each of which problem checks ("" when it is fine, else why,
// said after the item); env "" for a deploy-time setting.
func listSetting(key, env string, field func(*Settings) *[]string, problem func(string) string) setting {
	st := setting{
		key: key, env: env,
		read: func(s *Settings, v any) error {
			items, err := stringList(v)
			if err != nil {
				return err
			}
			var errs []error
			for i, it := range items {
				if p := problem(it); p != "" {
					errs = append(errs, fmt.Errorf("[%d] %q %s", i, it, p))
				}
			}
			*field(s) = items
			return errors.Join(errs...)
		},
	}
	if env != "" {
		st.write = func(s Settings) string { return strings.Join(*field(&s), ",") }
	}
	return st
}

// unless is why, when ok is false.
func unless(ok bool, why string) string {
	if ok {
		return ""
	}
	return why
}

// Keys lists every configuration key.
func Keys() []string {
	keys := make([]string, len(settings))
	for i, st := range settings {
		keys[i] = st.key
	}
	return keys
}

// FromLookup reads the settings through get (the CDK app's context, see WithFile) and returns
// every problem at once, each naming its key and how to fix it.
func FromLookup(get func(key string) any) (Settings, error) {
	s := DefaultSettings()
	var errs []error
	for _, st := range settings {
		errs = append(errs, st.apply(&s, get(st.key), st.key)...)
	}
	if len(errs) == 0 {
		errs = s.together()
	}
	if len(errs) > 0 {
		return Settings{}, fmt.Errorf("rootwindow configuration is not valid (set these in the JSON file named by ROOTWINDOW_CONFIG, which make sets to rootwindow.json; in cdk.json \"context\"; or with -c key=value):\n%w", errors.Join(errs...))
	}
	return s, nil
}

// together checks what one key alone cannot say. Under the exempt strategy (exempt or auto)
// rootwindow writes the guardrail's document from a base kept in its ledger: the base must be
// pinned by configuration, or whoever can write the ledger's base item writes the organization's
// guardrail.
func (s Settings) together() []error {
	var errs []error
	if s.LiftStrategy != contract.StrategyDetach && s.LiftStrategy != "" && s.GuardrailSHA256 == "" {
		errs = append(errs, fmt.Errorf("%s: is required when %s is %s: rootwindow rewrites the guardrail's document from a base kept in its ledger, and lifts only the base with this hash (sha256sum of the document as Organizations returns it, no trailing newline)",
			KeyGuardrailSHA256, KeyLiftStrategy, s.LiftStrategy))
	}
	if s.TrailEventDataStore != "" && s.TrailLogGroup != "" {
		errs = append(errs, fmt.Errorf("%s: cannot be set with %s: root activity is read from one source", KeyTrailLogGroup, KeyTrailEventDataStore))
	}
	return errs
}

// apply reads v (nil when unset) into s and returns its problems, each named by name.
func (st setting) apply(s *Settings, v any, name string) []error {
	if v == nil {
		if st.required != "" {
			return []error{fmt.Errorf("%s: %s", name, st.required)}
		}
		return nil
	}
	err := st.read(s, v)
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range unjoin(err) {
		out = append(out, fmt.Errorf("%s: %w", name, e))
	}
	return out
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Env is the settings as the functions' environment variables (the deploy-time-only ones left
// out); Load reads them back.
func (s Settings) Env() map[string]string {
	env := map[string]string{}
	for _, st := range settings {
		if st.env != "" {
			env[st.env] = st.write(s)
		}
	}
	return env
}

// loadSettings reads the settings the functions get from their environment, every problem named
// by its variable and its key.
func loadSettings(getenv func(string) string) (Settings, []error) {
	s := DefaultSettings()
	var errs []error
	for _, st := range settings {
		if st.env == "" {
			continue
		}
		var v any
		if raw := strings.TrimSpace(getenv(st.env)); raw != "" {
			v = raw
		}
		errs = append(errs, st.apply(&s, v, st.env+" ("+st.key+")")...)
	}
	if len(errs) == 0 {
		errs = s.together()
	}
	return s, errs
}

// WithFile returns a lookup that answers from get (the CDK context) first, then from the JSON
// object in the file at path; an empty path means the context alone. A key in the file that is
// not a configuration key is an error naming it and the nearest key there is.
func WithFile(get func(key string) any, path string) (func(key string) any, error) {
	if path == "" {
		return get, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ROOTWINDOW_CONFIG: %w", err)
	}
	// Read strictly: a key given twice would otherwise keep its last value silently (the
	// guardrail's policy ID replaced, approval turned off, administrators widened).
	members, repeated, err := request.ObjectMembers(b)
	if err != nil {
		return nil, fmt.Errorf("ROOTWINDOW_CONFIG %s %v: it must hold one JSON object of configuration keys", path, err)
	}
	var errs []error
	for _, k := range repeated {
		errs = append(errs, fmt.Errorf("%q is given more than once: give each key once", k))
	}
	file := map[string]any{}
	for k, raw := range members {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			errs = append(errs, fmt.Errorf("%q: %s is not a value rootwindow can read (%v)", k, shorten(string(raw)), err))
			continue
		}
		file[k] = v
	}
	if err := errors.Join(append(errs, CheckKeys(slices.Sorted(maps.Keys(members))))...); err != nil {
		return nil, fmt.Errorf("ROOTWINDOW_CONFIG %s: %w", path, err)
	}
	return func(key string) any {
		if v := get(key); v != nil {
			return v // context given to the CLI wins over the file
		}
		return file[key]
	}, nil
}

// shorten cuts a value quoted back to its author to a readable length.
func shorten(v string) string {
	if len(v) > 40 {
		return v[:40] + "…"
	}
	return v
}

// CheckKeys refuses keys that are not configuration keys, naming each and the nearest known key:
// a misspelt key would otherwise be ignored silently (a misspelt notificationEmail creates no
// subscription, and alerts go nowhere).
func CheckKeys(keys []string) error {
	var errs []error
	for _, k := range keys {
		if slices.Contains(Keys(), k) {
			continue
		}
		errs = append(errs, fmt.Errorf("%q is not a configuration key (did you mean %q?)", k, nearest(k, Keys())))
	}
	return errors.Join(errs...)
}

// ContextKeys picks from the CDK context the keys meant for rootwindow: CDK's own keys (feature
// flags such as "@aws-cdk/core:..." and "aws:cdk:...") all hold a colon, which none of ours does.
func ContextKeys(context map[string]any) []string {
	var keys []string
	for _, k := range slices.Sorted(maps.Keys(context)) {
		if !strings.Contains(k, ":") {
			keys = append(keys, k)
		}
	}
	return keys
}

// nearest is the candidate with the smallest edit distance to s, ignoring case.
func nearest(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// stringList accepts a JSON list of strings (cdk.json), or a JSON list or comma-separated string
// given with -c on the command line or in an environment variable.
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

func intValue(v any, lo, hi int) (int, error) {
	var n int
	switch t := v.(type) {
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
