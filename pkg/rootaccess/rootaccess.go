// Package rootaccess answers what signing in as a member account's root user takes, and prepares
// it, through centralized root access: sts:AssumeRoot opens a session of at most 15 minutes on the
// account's root user, scoped by an AWS managed task policy ("Perform a privileged task on an AWS
// Organizations member account", IAM User Guide). With centralized root access a member account
// may have no root password and password recovery turned off; lifting the guardrail alone would
// leave its owner at the sign-in page. rootwindow audits the root user's credentials
// (IAMAuditRootUserCredentials) and, when configured, allows password recovery for the window
// (IAMCreateRootUserPassword: CreateLoginProfile without a password); it only ever asks for those
// two task policies, and its IAM permissions allow no other (sts:TaskPolicyArn).
package rootaccess

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// Task policies rootwindow uses (arn:aws:iam::aws:policy/root-task/...).
const (
	TaskAudit          = "IAMAuditRootUserCredentials"
	TaskCreatePassword = "IAMCreateRootUserPassword"
	TaskDelete         = "IAMDeleteRootUserCredentials"
)

// TaskPolicyARN is a task policy's ARN.
func TaskPolicyARN(task string) string { return "arn:aws:iam::aws:policy/root-task/" + task }

// STSAPI is the STS call this package makes.
type STSAPI interface {
	AssumeRoot(ctx context.Context, in *sts.AssumeRootInput, optFns ...func(*sts.Options)) (*sts.AssumeRootOutput, error)
}

// IAMAPI is the IAM calls this package makes as the root user of a member account.
type IAMAPI interface {
	GetLoginProfile(ctx context.Context, in *iam.GetLoginProfileInput, optFns ...func(*iam.Options)) (*iam.GetLoginProfileOutput, error)
	ListMFADevices(ctx context.Context, in *iam.ListMFADevicesInput, optFns ...func(*iam.Options)) (*iam.ListMFADevicesOutput, error)
	ListAccessKeys(ctx context.Context, in *iam.ListAccessKeysInput, optFns ...func(*iam.Options)) (*iam.ListAccessKeysOutput, error)
	CreateLoginProfile(ctx context.Context, in *iam.CreateLoginProfileInput, optFns ...func(*iam.Options)) (*iam.CreateLoginProfileOutput, error)
	DeleteLoginProfile(ctx context.Context, in *iam.DeleteLoginProfileInput, optFns ...func(*iam.Options)) (*iam.DeleteLoginProfileOutput, error)
}

// Checker audits and prepares root sign-in.
type Checker struct {
	STS STSAPI
	// IAM is an IAM client signing with the given (root session) credentials.
	IAM func(aws.CredentialsProvider) IAMAPI
	// Region is the Regional STS endpoint's (the global endpoint does not serve AssumeRoot).
	Region string
}

// FromConfig returns a Checker with STS and IAM clients of cfg (sent to the given endpoints when
// not nil), asking the Regional STS endpoint of region: sts:AssumeRoot is served by Regional
// endpoints only.
func FromConfig(cfg aws.Config, stsEndpoint, iamEndpoint *string, region string) *Checker {
	return &Checker{
		STS: sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = stsEndpoint }),
		IAM: func(creds aws.CredentialsProvider) IAMAPI {
			return iam.NewFromConfig(cfg, func(o *iam.Options) { o.Credentials, o.BaseEndpoint = creds, iamEndpoint })
		},
		Region: region,
	}
}

// Password states of a root user.
const (
	PasswordPresent = contract.PasswordPresent
	PasswordAbsent  = contract.PasswordAbsent
	PasswordUnknown = contract.PasswordUnknown
)

// SignIn is what signing in as an account's root user takes (contract.SignIn).
type SignIn = contract.SignIn

// session opens a root session on account scoped to task and returns an IAM client for it.
func (c *Checker) session(ctx context.Context, account, task string) (IAMAPI, error) {
	out, err := c.STS.AssumeRoot(ctx, &sts.AssumeRootInput{
		TargetPrincipal: aws.String(account), TaskPolicyArn: &ststypes.PolicyDescriptorType{Arn: aws.String(TaskPolicyARN(task))},
		DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		return nil, fmt.Errorf("sts:AssumeRoot on %s with %s: %w", account, task, err)
	}
	cr := out.Credentials
	return c.IAM(aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: aws.ToString(cr.AccessKeyId), SecretAccessKey: aws.ToString(cr.SecretAccessKey),
			SessionToken: aws.ToString(cr.SessionToken), Source: "sts:AssumeRoot", CanExpire: true, Expires: aws.ToTime(cr.Expiration)}, nil
	}))), nil
}

// Audit reads the root user's credentials of account. A call refused or failing leaves the
// answer unknown, saying why: it never stops a request.
func (c *Checker) Audit(ctx context.Context, account, email string) SignIn {
	si := SignIn{AccountID: account, Email: email, RootPassword: PasswordUnknown}
	client, err := c.session(ctx, account, TaskAudit)
	if err != nil {
		si.Detail = why(err)
		return si
	}
	_, err = client.GetLoginProfile(ctx, &iam.GetLoginProfileInput{})
	var none *iamtypes.NoSuchEntityException
	switch {
	case errors.As(err, &none):
		si.RootPassword = PasswordAbsent
		si.Detail = "the root user has no password: signing in needs password recovery (to " + orUnknown(email) + "), which rootwindow can allow for the window (prepareRootSignIn)"
	case err != nil:
		si.Detail = why(err)
		return si
	default:
		si.RootPassword = PasswordPresent
	}
	if mfa, err := client.ListMFADevices(ctx, &iam.ListMFADevicesInput{}); err == nil {
		si.MFADevices = len(mfa.MFADevices)
	}
	if keys, err := client.ListAccessKeys(ctx, &iam.ListAccessKeysInput{}); err == nil {
		si.AccessKeys = len(keys.AccessKeyMetadata)
	}
	return si
}

// AllowPasswordRecovery lets the root user of account recover a password (CreateLoginProfile
// without a password, in a session scoped to IAMCreateRootUserPassword). It reports whether it
// changed anything: a root user that has a password already needs nothing.
func (c *Checker) AllowPasswordRecovery(ctx context.Context, account string) (bool, error) {
	client, err := c.session(ctx, account, TaskCreatePassword)
	if err != nil {
		return false, err
	}
	_, err = client.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{})
	var exists *iamtypes.EntityAlreadyExistsException
	switch {
	case errors.As(err, &exists):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("iam:CreateLoginProfile on %s: %w", account, err)
	}
	return true, nil
}

// DeletePassword deletes the root user's password of account (DeleteLoginProfile in a session
// scoped to IAMDeleteRootUserCredentials): what AllowPasswordRecovery allowed for a window does not
// outlive it. A root user with no password needs nothing.
func (c *Checker) DeletePassword(ctx context.Context, account string) error {
	client, err := c.session(ctx, account, TaskDelete)
	if err != nil {
		return err
	}
	_, err = client.DeleteLoginProfile(ctx, &iam.DeleteLoginProfileInput{})
	var none *iamtypes.NoSuchEntityException
	if err != nil && !errors.As(err, &none) {
		return fmt.Errorf("iam:DeleteLoginProfile on %s: %w", account, err)
	}
	return nil
}

// DeleteCommand is how an operator deletes the root credentials again once the window is over.
func (c *Checker) DeleteCommand(account string) string {
	return fmt.Sprintf("aws sts assume-root --region %s --target-principal %s --task-policy-arn arn=%s --duration-seconds 900, then with those credentials: aws iam delete-login-profile",
		c.Region, account, TaskPolicyARN(TaskDelete))
}

func why(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "AccessDenied" || api.ErrorCode() == "AccessDeniedException") {
		return "centralized root access was refused (AccessDenied): is it enabled for the organization, and does the guardrail exempt aws:AssumedRoot sessions?"
	}
	if errors.As(err, &api) {
		return "could not be read: " + api.ErrorCode()
	}
	return "could not be read"
}

func orUnknown(email string) string {
	if email == "" {
		return "the account's root email address"
	}
	return email
}
