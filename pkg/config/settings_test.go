package config

import (
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/request"
)

func lookup(m map[string]any) func(string) any { return func(k string) any { return m[k] } }

func TestFromLookup(t *testing.T) {
	tests := []struct {
		name string
		ctx  map[string]any
		want Settings
	}{
		{"cdk.json list and defaults", map[string]any{
			KeyGuardrailPolicyID: "p-rootguard01", KeyOrganizationID: "o-exampleorg1",
			KeyAdminPrincipals: []any{"arn:aws:iam::111111111111:role/Admin", "ops@example.com"},
		}, Settings{GuardrailPolicyID: "p-rootguard01", AdminPrincipals: []string{"arn:aws:iam::111111111111:role/Admin", "ops@example.com"},
			OwnerTagKey: "owner", BookingHorizonDays: 7, MaxAccountsPerRequest: 50, OrganizationID: "o-exampleorg1"}},
		{"-c strings", map[string]any{
			KeyGuardrailPolicyID: "p-rootguard01", KeyAdminPrincipals: "arn:aws:iam::111111111111:role/Admin, arn:aws:iam::111111111111:role/Break",
			KeyOwnerTagKey: "rootwindow:owners", KeyBookingHorizonDays: "14", KeyMaxAccountsPerRequest: "10",
			KeyNotificationEmail: " cloud-ops@example.com ", KeyEventIntegrations: "arn:aws:iam::111111111111:role/Ticketing,arn:aws:iam::222222222222:user/bot",
			KeyOrganizationID: "o-exampleorg1", KeyLedgerBreakGlassRole: "arn:aws:iam::999999999999:role/BreakGlass",
		}, Settings{GuardrailPolicyID: "p-rootguard01", AdminPrincipals: []string{"arn:aws:iam::111111111111:role/Admin", "arn:aws:iam::111111111111:role/Break"},
			OwnerTagKey: "rootwindow:owners", BookingHorizonDays: 14, MaxAccountsPerRequest: 10,
			NotificationEmail: "cloud-ops@example.com", EventIntegrations: []string{"arn:aws:iam::111111111111:role/Ticketing", "arn:aws:iam::222222222222:user/bot"},
			OrganizationID: "o-exampleorg1", LedgerBreakGlassRole: "arn:aws:iam::999999999999:role/BreakGlass"}},
		{"-c JSON list", map[string]any{KeyGuardrailPolicyID: "p-rootguard01", KeyAdminPrincipals: `["a","b"]`, KeyBookingHorizonDays: float64(3), KeyOrganizationID: "o-exampleorg1"},
			Settings{GuardrailPolicyID: "p-rootguard01", AdminPrincipals: []string{"a", "b"}, OwnerTagKey: "owner", BookingHorizonDays: 3, MaxAccountsPerRequest: 50, OrganizationID: "o-exampleorg1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromLookup(lookup(tt.ctx))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, withDefaultLimits(tt.want)) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// withDefaultLimits gives s the default limits it leaves unset.
func withDefaultLimits(s Settings) Settings {
	d := DefaultSettings()
	if s.Approval == "" {
		s.Approval = d.Approval
	}
	for _, f := range []struct{ got, def *int }{
		{&s.CooldownMinutes, &d.CooldownMinutes}, {&s.MaxConcurrentPerRequester, &d.MaxConcurrentPerRequester},
		{&s.MaxDailyPerRequester, &d.MaxDailyPerRequester}, {&s.MaxAccountsAtOnce, &d.MaxAccountsAtOnce},
		{&s.SCPsPerTargetQuota, &d.SCPsPerTargetQuota}, {&s.SCPSizeQuota, &d.SCPSizeQuota}, {&s.DriftScanMinutes, &d.DriftScanMinutes}, {&s.RootScanMinutes, &d.RootScanMinutes}, {&s.ApprovalMinutes, &d.ApprovalMinutes},
	} {
		if *f.got == 0 {
			*f.got = *f.def
		}
	}
	if s.LiftStrategy == "" {
		s.LiftStrategy = d.LiftStrategy
	}
	return s
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		ctx  map[string]any
		want []string
	}{
		{"nothing set", map[string]any{}, []string{
			"guardrailPolicyId: is required",
			"adminPrincipals: is required",
			"organizationId: is required",
		}},
		{"malformed", map[string]any{
			KeyGuardrailPolicyID: "scp-123", KeyAdminPrincipals: []any{"ok", float64(7)},
			KeyOwnerTagKey: "", KeyBookingHorizonDays: "31", KeyMaxAccountsPerRequest: float64(2.5),
			KeyNotificationEmail: "ops", KeyEventIntegrations: []any{"arn:aws:iam::111111111111:role/Ticketing", "arn:aws:iam::*:role/Any"},
			KeyOrganizationID: "r-abcd", KeyLedgerBreakGlassRole: "arn:aws:iam::999999999999:user/alice",
		}, []string{
			"notificationEmail: must be an email address, got ops",
			`eventIntegrations: [1] "arn:aws:iam::*:role/Any" is not an IAM role or user ARN of one account`,
			`organizationId: must be an organization ID: "o-" then 10 to 32 lowercase letters or digits, got r-abcd`,
			"ledgerBreakGlassRoleArn: must be an IAM role ARN of one account",
			`guardrailPolicyId: "scp-123" is not a policy ID`,
			"adminPrincipals: [1] must be a string, got float64",
			"ownerTagKey: must be an AWS tag key",
			"bookingHorizonDays: must be a whole number from 1 to 30, got 31",
			"maxAccountsPerRequest: must be a whole number from 1 to 50, got 2.5",
		}},
		{"whole accounts trusted the old way", map[string]any{KeyGuardrailPolicyID: "p-rootguard01", KeyAdminPrincipals: "a", KeyOrganizationID: "o-exampleorg1", KeyTrustedEventAccounts: []any{"111111111111"}},
			[]string{"trustedEventAccounts: is no longer supported: a whole account is not trusted to assert requesters any more; list the integration principals that may put requests in eventIntegrations"}},
		{"administrators that make authorization meaningless", map[string]any{KeyGuardrailPolicyID: "p-rootguard01", KeyAdminPrincipals: []any{"*"}, KeyAnyRoleSessionName: "yes", KeyOrganizationID: "o-exampleorg1"},
			[]string{`adminPrincipals: adminPrincipals[0] "*" matches everyone`, "anyRoleSessionName: must be true or false, got yes"}},
		{"limits out of range", map[string]any{KeyGuardrailPolicyID: "p-rootguard01", KeyAdminPrincipals: "a", KeyOrganizationID: "o-exampleorg1",
			KeyCooldownMinutes: float64(-1), KeyMaxConcurrentPerUser: "0", KeyMaxDailyPerUser: float64(201), KeyMaxAccountsAtOnce: "many"},
			[]string{"cooldownMinutes: must be a whole number from 0 to 10080, got -1", "maxConcurrentWindowsPerRequester: must be a whole number from 1 to 50, got 0",
				"maxWindowsPerRequesterPerDay: must be a whole number from 1 to 200, got 201", `maxAccountsLiftedAtOnce: must be a whole number from 1 to 10000, got "many"`}},
		{"quotas and confirmation out of range", map[string]any{KeyGuardrailPolicyID: "p-rootguard01", KeyAdminPrincipals: "a", KeyOrganizationID: "o-exampleorg1",
			KeySCPsPerTargetQuota: float64(1), KeySCPSizeQuota: "5k", KeyEventConfirmMinutes: float64(121), KeyEventIntegrations: "arn:aws:iam::111111111111:role/a,b",
			KeyLiftStrategy: "detatch"},
			[]string{`liftStrategy: must be "detach" (the guardrail attached directly to each account), "exempt" (its document rewritten; attached anywhere) or "auto", got detatch`, "scpsPerTargetQuota: must be a whole number from 2 to 100, got 1", `scpSizeQuota: must be a whole number from 1000 to 1000000, got "5k"`,
				"eventConfirmationMinutes: must be a whole number from 0 to 120, got 121", `eventIntegrations: [1] "b" is not an IAM role or user ARN`}},
		{"approval and drift scan out of range", map[string]any{KeyGuardrailPolicyID: "p-rootguard01", KeyAdminPrincipals: "a", KeyOrganizationID: "o-exampleorg1",
			KeyApproval: "two-admins", KeyApprovalMinutes: float64(2), KeyApprovalChannels: "api,console", KeyApprovalScope: []any{"111111111111", "prod"}, KeyDriftScanMinutes: "0"},
			[]string{`approval: must be "none" or "second-admin"`, "approvalTimeoutMinutes: must be a whole number from 5 to 1440, got 2",
				`approvalChannels: [1] "console" is not a door: api, eventbridge or stepfunctions`, `approvalAccounts: [1] "prod" is not an account ID (12 digits), an OU ID (ou-...) or a root ID (r-...)`,
				"driftScanMinutes: must be a whole number from 5 to 1440, got 0"}},
		{"root activity source out of range", map[string]any{KeyGuardrailPolicyID: "p-rootguard01", KeyAdminPrincipals: "a", KeyOrganizationID: "o-exampleorg1",
			KeyTrailEventDataStore: "arn:aws:cloudtrail:us-east-1:999999999999:trail/org", KeyRootScanMinutes: float64(1), KeyTrailLogGroup: "aws-cloudtrail-logs"},
			[]string{"trailEventDataStoreArn: must be a CloudTrail Lake event data store ARN", "rootActivityScanMinutes: must be a whole number from 5 to 1440, got 1",
				"trailLogGroupArn: must be the ARN of the CloudWatch Logs log group"}},
		{"two sources of root activity", map[string]any{KeyGuardrailPolicyID: "p-rootguard01", KeyAdminPrincipals: "a", KeyOrganizationID: "o-exampleorg1",
			KeyTrailEventDataStore: "arn:aws:cloudtrail:us-east-1:999999999999:eventdatastore/EXAMPLE-1", KeyTrailLogGroup: "arn:aws:logs:us-east-1:999999999999:log-group:org-trail:*"},
			[]string{"trailLogGroupArn: cannot be set with trailEventDataStoreArn"}},
		{"administrators of any account", map[string]any{KeyGuardrailPolicyID: "p-rootguard01", KeyAdminPrincipals: "arn:aws:sts::*:assumed-role/AWSReservedSSO_Admin_*/*", KeyOrganizationID: "o-exampleorg1"},
			[]string{"must name one 12-digit account in its ARN"}},
		{"the exempt strategy with no pinned document", map[string]any{KeyGuardrailPolicyID: "p-rootguard01", KeyAdminPrincipals: "a", KeyOrganizationID: "o-exampleorg1", KeyLiftStrategy: "auto"},
			[]string{"guardrailContentSha256: is required when liftStrategy is auto"}},
		{"policy ID of the wrong type", map[string]any{KeyGuardrailPolicyID: float64(1), KeyAdminPrincipals: "a", KeyOrganizationID: "o-exampleorg1"},
			[]string{"guardrailPolicyId: must be a string like p-abcd1234, got float64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromLookup(lookup(tt.ctx))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.HasPrefix(err.Error(), "rootwindow configuration is not valid") {
				t.Errorf("message does not say what is wrong: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
			if n := strings.Count(err.Error(), "\n"); n != len(tt.want) {
				t.Errorf("%d problems reported, want %d:\n%v", n, len(tt.want), err)
			}
		})
	}
}

func TestWithFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "rootwindow.json")
	if err := os.WriteFile(good, []byte(`{"guardrailPolicyId":"p-fromfile01","adminPrincipals":["a"],"bookingHorizonDays":3,"organizationId":"o-exampleorg1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	get, err := WithFile(lookup(map[string]any{KeyBookingHorizonDays: "5"}), good)
	if err != nil {
		t.Fatal(err)
	}
	c, err := FromLookup(get)
	if err != nil {
		t.Fatal(err)
	}
	if c.GuardrailPolicyID != "p-fromfile01" || c.BookingHorizonDays != 5 || !reflect.DeepEqual(c.AdminPrincipals, []string{"a"}) {
		t.Errorf("file values with the context winning: %+v", c)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`["not","an","object"]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WithFile(lookup(nil), bad); err == nil || !strings.Contains(err.Error(), "must be a JSON object") {
		t.Errorf("bad file: %v", err)
	}
	if _, err := WithFile(lookup(nil), filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "ROOTWINDOW_CONFIG") {
		t.Errorf("missing file: %v", err)
	}
}

// A configuration file is read strictly: a key given twice is refused (the last value would
// otherwise win silently: the guardrail's ID replaced, approval turned off, administrators
// widened), and a value that cannot be read is named by its key.
func TestWithFileIsStrict(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ name, doc, want string }{
		{"repeated policy ID", `{"guardrailPolicyId":"p-rootguard01","adminPrincipals":["a"],"guardrailPolicyId":"p-other00001"}`, `"guardrailPolicyId" is given more than once`},
		{"approval turned off by a repeat", `{"approval":"second-admin","approval":"none"}`, `"approval" is given more than once`},
		{"administrators widened by a repeat", `{"adminPrincipals":["a"],"adminPrincipals":["*"]}`, `"adminPrincipals" is given more than once`},
		{"a number that overflows", `{"cooldownMinutes":1e400}`, `"cooldownMinutes": 1e400 is not a value rootwindow can read`},
		{"two objects", `{"approval":"none"}{"approval":"none"}`, "must hold exactly one JSON object"},
		{"not JSON", `{"approval":`, "is not valid JSON"},
	} {
		path := filepath.Join(dir, "rootwindow.json")
		if err := os.WriteFile(path, []byte(tt.doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := WithFile(lookup(nil), path); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestSampleConfigIsValid(t *testing.T) {
	get, err := WithFile(lookup(nil), filepath.Join("..", "..", "config", "sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := FromLookup(get)
	if err != nil {
		t.Fatal(err)
	}
	if c.NotificationEmail == "" || len(c.EventIntegrations) != 1 || c.OrganizationID == "" || c.LedgerBreakGlassRole == "" {
		t.Errorf("the sample shows every key: %+v", c)
	}
}

func TestWithFileNamesAMisspeltKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rootwindow.json")
	if err := os.WriteFile(path, []byte(`{"guardrailPolicyId":"p-rootguard01","adminPrincipals":["a"],"notificationEmial":"ops@example.com","ownerTag":"x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := WithFile(lookup(nil), path)
	if err == nil {
		t.Fatal("a misspelt key was accepted")
	}
	for _, want := range []string{
		`"notificationEmial" is not a configuration key (did you mean "notificationEmail"?)`,
		`"ownerTag" is not a configuration key (did you mean "ownerTagKey"?)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestContextKeysLeaveCDKsOwnAlone(t *testing.T) {
	got := ContextKeys(map[string]any{"@aws-cdk/core:newStyleStackSynthesis": true, "aws:cdk:enable-path-metadata": true, "adminPrincipal": "x", KeyOwnerTagKey: "o"})
	if !reflect.DeepEqual(got, []string{"adminPrincipal", KeyOwnerTagKey}) {
		t.Fatalf("got %v", got)
	}
	if err := CheckKeys(got); err == nil || !strings.Contains(err.Error(), `"adminPrincipal" is not a configuration key (did you mean "adminPrincipals"?)`) {
		t.Errorf("got %v", err)
	}
}

// The functions read back exactly what the stack gives them.
func TestSettingsRoundTripThroughTheEnvironment(t *testing.T) {
	for _, s := range []Settings{
		DefaultSettings(),
		{GuardrailPolicyID: "p-rootguard01", AdminPrincipals: []string{"arn:aws:iam::111111111111:role/Admin", "ops@example.com"},
			OwnerTagKey: "rootwindow:owners", BookingHorizonDays: 30, MaxAccountsPerRequest: 1, AnyRoleSessionName: true,
			GuardrailSHA256: strings.Repeat("ab", 32), GuardrailAllowedSids: []string{"DenyLeaveOrg"},
			CooldownMinutes: 0, MaxConcurrentPerRequester: 50, MaxDailyPerRequester: 1, MaxAccountsAtOnce: 5000,
			EventIntegrations: []string{"arn:aws:iam::111111111111:role/Ticketing"}, EventConfirmMinutes: 30,
			SCPsPerTargetQuota: 10, SCPSizeQuota: 10000, LiftStrategy: "exempt", DriftScanMinutes: 5, RootScanMinutes: 15,
			TrailEventDataStore: "arn:aws:cloudtrail:us-east-1:999999999999:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE",
			CentralizedRoot:     true, PrepareRootSignIn: true, Approval: ApprovalSecondAdmin, ApprovalMinutes: 30, ApprovalChannels: []string{"api", "eventbridge"}, ApprovalScope: []string{"111111111111", "ou-ab12-prod0001", "r-ab12"}},
	} {
		if s.GuardrailPolicyID == "" {
			s.GuardrailPolicyID, s.AdminPrincipals = "p-abcd1234", []string{"a"}
		}
		if s.OrganizationID == "" {
			s.OrganizationID = "o-exampleorg1"
		}
		env := s.Env()
		env[contract.EnvTableName] = "ledger"
		r, err := Load(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r.Settings, s) {
			t.Errorf("sent %+v\nread %+v", s, r.Settings)
		}
	}
}

// Approval applies to the doors and accounts (by their ancestors) configured, and only when on.
func TestNeedsApproval(t *testing.T) {
	paths := [][]string{{"111111111111", "ou-ab12-prod0001", "r-ab12"}, {"222222222222", "r-ab12"}}
	on := Settings{Approval: ApprovalSecondAdmin}
	for _, tt := range []struct {
		name    string
		s       Settings
		channel string
		paths   [][]string
		want    bool
	}{
		{"off", Settings{Approval: ApprovalNone}, "api", paths, false},
		{"every request", on, "stepfunctions", paths, true},
		{"a door listed", Settings{Approval: ApprovalSecondAdmin, ApprovalChannels: []string{"api"}}, "api", paths, true},
		{"a door not listed", Settings{Approval: ApprovalSecondAdmin, ApprovalChannels: []string{"api"}}, "eventbridge", paths, false},
		{"an account under a listed OU", Settings{Approval: ApprovalSecondAdmin, ApprovalScope: []string{"ou-ab12-prod0001"}}, "api", paths, true},
		{"no account under it", Settings{Approval: ApprovalSecondAdmin, ApprovalScope: []string{"ou-ab12-prod0001"}}, "api", paths[1:], false},
		{"an account listed", Settings{Approval: ApprovalSecondAdmin, ApprovalScope: []string{"222222222222"}}, "api", paths, true},
	} {
		if got := tt.s.NeedsApproval(tt.channel, tt.paths); got != tt.want {
			t.Errorf("%s: %v", tt.name, got)
		}
	}
}

// FuzzConfigFile reads arbitrary configuration files: none panics; one that is accepted held one
// JSON object, no key twice, every key a configuration key.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte(`{"guardrailPolicyId":"p-rootguard01","adminPrincipals":["arn:aws:iam::111111111111:role/Admin"],"organizationId":"o-exampleorg1"}`))
	f.Add([]byte(`{"approval":"second-admin","approval":"none"}`))
	f.Add([]byte(`{"cooldownMinutes":1e400}`))
	f.Add([]byte(`{"adminPrincipals":["*@*"]}`))
	f.Add([]byte(`[]`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, doc []byte) {
		path := filepath.Join(dir, "rootwindow.json")
		if err := os.WriteFile(path, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		get, err := WithFile(lookup(nil), path)
		if err != nil {
			if len(err.Error()) > 64<<10 {
				t.Fatalf("an answer of %d bytes", len(err.Error()))
			}
			return
		}
		members, repeated, err := request.ObjectMembers(doc)
		if err != nil || len(repeated) > 0 {
			t.Fatalf("accepted a file that is not one object of distinct keys: %v %v", repeated, err)
		}
		if CheckKeys(slices.Collect(maps.Keys(members))) != nil {
			t.Fatal("accepted a key that is not a configuration key")
		}
		_, _ = FromLookup(get) // any answer, never a panic
	})
}

// Tag keys and values, and role ARNs, are checked for their characters and, apart, their lengths.
func TestTagAndRoleLengths(t *testing.T) {
	for _, tt := range []struct {
		got, want bool
		what      string
	}{
		{IsTagKey(strings.Repeat("k", 128)), true, "a key of 128"},
		{IsTagKey(strings.Repeat("k", 129)), false, "a key of 129"},
		{IsTagKey(""), false, "an empty key"},
		{IsTagValue(strings.Repeat("é", 256)), true, "a value of 256 letters"},
		{IsTagValue(strings.Repeat("v", 257)), false, "a value of 257"},
		{IsTagValue("a, b"), false, "a comma"},
		{isRole("arn:aws:iam::111111111111:role/" + strings.Repeat("r", 512)), true, "a role of 512"},
		{isRole("arn:aws:iam::111111111111:role/" + strings.Repeat("r", 513)), false, "a role of 513"},
		{isPrincipal("arn:aws:iam::111111111111:user/ops/alice"), true, "a user with a path"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %v", tt.what, tt.got)
		}
	}
}

// Approvers follow the administrators' rules, named by their own key; the API admits the accounts
// of both.
func TestApproverPrincipals(t *testing.T) {
	base := map[string]any{KeyGuardrailPolicyID: "p-rootguard01", KeyAdminPrincipals: "arn:aws:iam::111111111111:role/Admin", KeyOrganizationID: "o-exampleorg1"}
	for _, tt := range []struct {
		approvers any
		want      string
	}{
		{[]any{"*@example.com"}, `approverPrincipals: [0] "*@example.com" could match the ARN of a principal of any AWS account`},
		{[]any{"arn:aws:iam::*:role/Sec"}, "approverPrincipals: [0] \"arn:aws:iam::*:role/Sec\" must name one 12-digit account"},
		{[]any{"*"}, "matches everyone"},
	} {
		get := map[string]any{KeyApproverPrincipals: tt.approvers}
		for k, v := range base {
			get[k] = v
		}
		if _, err := FromLookup(lookup(get)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.approvers, err, tt.want)
		}
	}
	get := map[string]any{KeyApproverPrincipals: []any{"arn:aws:iam::222222222222:role/Security"}}
	for k, v := range base {
		get[k] = v
	}
	s, err := FromLookup(lookup(get))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.AdminAccounts(); !slices.Equal(got, []string{"111111111111", "222222222222"}) {
		t.Errorf("accounts the API admits: %v", got)
	}
}
