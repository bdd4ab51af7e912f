package rootaccess_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rootwindow/rootwindow/internal/rootemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/rootaccess"
)

// Checker returns a checker whose real STS and IAM clients talk to emu.
func checker(t *testing.T, emu *rootemu.Server) *rootaccess.Checker {
	url := emu.Start()
	t.Cleanup(emu.Close)
	cfg := testenv.AWSConfig()
	return &rootaccess.Checker{
		STS: sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(url) }),
		IAM: func(creds aws.CredentialsProvider) rootaccess.IAMAPI {
			return iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint, o.Credentials = aws.String(url), creds })
		},
		Region: "us-east-1",
	}
}

func TestAuditAndPrepare(t *testing.T) {
	ctx := context.Background()
	emu := rootemu.New(map[string]rootemu.Root{
		"111111111111": {Password: true, MFADevices: 1},
		"222222222222": {},
		"333333333333": {Denied: true},
	})
	c := checker(t, emu)
	if got := c.Audit(ctx, "111111111111", "a@example.com"); got.RootPassword != rootaccess.PasswordPresent || got.MFADevices != 1 || got.Email != "a@example.com" {
		t.Errorf("with a password: %+v", got)
	}
	got := c.Audit(ctx, "222222222222", "b@example.com")
	if got.RootPassword != rootaccess.PasswordAbsent || !strings.Contains(got.Detail, "password recovery (to b@example.com)") {
		t.Errorf("without one: %+v", got)
	}
	if got := c.Audit(ctx, "333333333333", ""); got.RootPassword != rootaccess.PasswordUnknown || !strings.Contains(got.Detail, "AccessDenied") {
		t.Errorf("denied: %+v", got)
	}
	// Preparing: only with the create-password task policy; once.
	if changed, err := c.AllowPasswordRecovery(ctx, "222222222222"); err != nil || !changed || !emu.Root("222222222222").Password {
		t.Fatalf("allow recovery: %v %v", changed, err)
	}
	if changed, err := c.AllowPasswordRecovery(ctx, "222222222222"); err != nil || changed {
		t.Errorf("again: %v %v", changed, err)
	}
	for _, call := range emu.Calls() {
		if call.Task != rootaccess.TaskAudit && call.Task != rootaccess.TaskCreatePassword {
			t.Errorf("a session with %q: %+v", call.Task, call)
		}
		if call.Action == "CreateLoginProfile" && call.Task != rootaccess.TaskCreatePassword {
			t.Errorf("created a password in a %s session", call.Task)
		}
	}
	if !strings.Contains(c.DeleteCommand("222222222222"), "root-task/IAMDeleteRootUserCredentials") {
		t.Error(c.DeleteCommand("222222222222"))
	}
}
