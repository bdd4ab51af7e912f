package stack

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func ctx(m map[string]any) func(string) any { return func(k string) any { return m[k] } }

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name string
		ctx  map[string]any
		want Config
	}{
		{"cdk.json list and defaults", map[string]any{
			CtxGuardrailPolicyID: "p-rootguard01",
			CtxAdminPrincipals:   []any{"arn:aws:iam::*:role/Admin", "ops@example.com"},
		}, Config{GuardrailPolicyID: "p-rootguard01", AdminPrincipals: []string{"arn:aws:iam::*:role/Admin", "ops@example.com"},
			OwnerTagKey: "owner", BookingHorizonDays: 7, MaxAccountsPerRequest: 50}},
		{"-c strings", map[string]any{
			CtxGuardrailPolicyID: "p-rootguard01", CtxAdminPrincipals: "arn:aws:iam::*:role/Admin, arn:aws:iam::*:role/Break",
			CtxOwnerTagKey: "rootwindow:owners", CtxBookingHorizonDays: "14", CtxMaxAccountsPerRequest: "10",
			CtxNotificationEmail: " cloud-ops@example.com ", CtxTrustedEventAccounts: "111111111111,222222222222",
		}, Config{GuardrailPolicyID: "p-rootguard01", AdminPrincipals: []string{"arn:aws:iam::*:role/Admin", "arn:aws:iam::*:role/Break"},
			OwnerTagKey: "rootwindow:owners", BookingHorizonDays: 14, MaxAccountsPerRequest: 10,
			NotificationEmail: "cloud-ops@example.com", TrustedEventAccounts: []string{"111111111111", "222222222222"}}},
		{"-c JSON list", map[string]any{CtxGuardrailPolicyID: "p-rootguard01", CtxAdminPrincipals: `["a","b"]`, CtxBookingHorizonDays: float64(3)},
			Config{GuardrailPolicyID: "p-rootguard01", AdminPrincipals: []string{"a", "b"}, OwnerTagKey: "owner", BookingHorizonDays: 3, MaxAccountsPerRequest: 50}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadConfig(ctx(tt.ctx))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
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
		}},
		{"malformed", map[string]any{
			CtxGuardrailPolicyID: "scp-123", CtxAdminPrincipals: []any{"ok", float64(7)},
			CtxOwnerTagKey: "", CtxBookingHorizonDays: "31", CtxMaxAccountsPerRequest: float64(2.5),
			CtxNotificationEmail: "ops", CtxTrustedEventAccounts: []any{"111111111111", "12345"},
		}, []string{
			"notificationEmail: must be an email address, got ops",
			`trustedEventAccounts: [1] "12345" is not a 12-digit account ID`,
			`guardrailPolicyId: "scp-123" is not a policy ID`,
			"adminPrincipals: [1] must be a string, got float64",
			"ownerTagKey: must be an AWS tag key",
			"bookingHorizonDays: must be a whole number from 1 to 30, got 31",
			"maxAccountsPerRequest: must be a whole number from 1 to 50, got 2.5",
		}},
		{"policy ID of the wrong type", map[string]any{CtxGuardrailPolicyID: float64(1), CtxAdminPrincipals: "a"},
			[]string{"guardrailPolicyId: must be a string like p-abcd1234, got float64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(ctx(tt.ctx))
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

func TestWithConfigFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "rootwindow.json")
	if err := os.WriteFile(good, []byte(`{"guardrailPolicyId":"p-fromfile01","adminPrincipals":["a"],"bookingHorizonDays":3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	get, err := WithConfigFile(ctx(map[string]any{CtxBookingHorizonDays: "5"}), good)
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(get)
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
	if _, err := WithConfigFile(ctx(nil), bad); err == nil || !strings.Contains(err.Error(), "is not a JSON object") {
		t.Errorf("bad file: %v", err)
	}
	if _, err := WithConfigFile(ctx(nil), filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "ROOTWINDOW_CONFIG") {
		t.Errorf("missing file: %v", err)
	}
}

func TestSampleConfigIsValid(t *testing.T) {
	get, err := WithConfigFile(ctx(nil), filepath.Join("..", "..", "config", "sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(get)
	if err != nil {
		t.Fatal(err)
	}
	if c.NotificationEmail == "" || len(c.TrustedEventAccounts) != 1 {
		t.Errorf("the sample shows every key: %+v", c)
	}
}
