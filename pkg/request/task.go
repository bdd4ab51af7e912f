package request

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// The task a request is for: AWS's list of tasks that need the root user ("Tasks that require
// root user credentials", AWS Account Management and IAM User Guides), and the five privileged
// tasks that centralized root access performs with sts:AssumeRoot instead, in a session of at
// most 15 minutes scoped by an AWS managed task policy ("Perform a privileged task on an AWS
// Organizations member account", IAM User Guide). A request may name its task; for one that
// centralized root access can do, where it is enabled, rootwindow answers with the command instead
// of lifting the guardrail, unless the requester says why that will not do (WhyNotAssumeRoot).

// Task is one task that needs the root user.
type Task struct {
	Name string
	What string
	// TaskPolicy is the AWS managed policy (arn:aws:iam::aws:policy/root-task/...) that scopes an
	// sts:AssumeRoot session to this task; "" when centralized root access cannot do it.
	TaskPolicy string
}

// Tasks are the tasks a request may name, in the order `rootwindow help` shows them.
var Tasks = []Task{
	{"account-settings", "change the account's name, email address, root password or root access keys", ""},
	{"restore-iam-permissions", "restore the permissions of an IAM administrator who revoked their own", ""},
	{"activate-iam-billing-access", "activate IAM access to the Billing and Cost Management console", ""},
	{"tax-invoices", "view certain tax invoices", ""},
	{"close-account", "close the account", ""},
	{"reserved-instance-marketplace", "register as a seller in the Reserved Instance Marketplace", ""},
	{"s3-mfa-delete", "configure an S3 bucket to enable MFA delete", ""},
	{"govcloud-signup", "sign up for AWS GovCloud (US)", ""},
	{"support-plan", "change the AWS Support plan", ""},
	{"audit-root-credentials", "review the root user's credentials", "IAMAuditRootUserCredentials"},
	{"delete-root-credentials", "delete the root user's credentials (password, access keys, signing certificates, MFA)", "IAMDeleteRootUserCredentials"},
	{"create-root-password", "allow password recovery for the root user", "IAMCreateRootUserPassword"},
	{"unlock-s3-bucket-policy", "edit or delete an S3 bucket policy that denies all principals", "S3UnlockBucketPolicy"},
	{"unlock-sqs-queue-policy", "edit or delete an SQS queue policy that denies all principals", "SQSUnlockQueuePolicy"},
}

// TaskNamed is the task of that name.
func TaskNamed(name string) (Task, bool) {
	i := slices.IndexFunc(Tasks, func(t Task) bool { return t.Name == name })
	if i < 0 {
		return Task{}, false
	}
	return Tasks[i], true
}

// AssumeRootCommand is the AWS CLI command that opens a privileged session for the task on the
// account: sts:AssumeRoot, from the management account or the delegated administrator for IAM,
// through a Regional STS endpoint (the global one does not serve it), for at most 900 seconds.
func (t Task) AssumeRootCommand(accountID, region string) string {
	return fmt.Sprintf("aws sts assume-root --region %s --target-principal %s --task-policy-arn arn=arn:aws:iam::aws:policy/root-task/%s --duration-seconds 900",
		region, accountID, t.TaskPolicy)
}

func taskNames() string {
	names := make([]string, len(Tasks))
	for i, t := range Tasks {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// parseTask reads the optional task and the requester's reason not to use centralized root access.
func parseTask(task, why json.RawMessage, probs *Problems) (string, string) {
	var name string
	if task != nil {
		if jsonKind(task) != "a string" || json.Unmarshal(task, &name) != nil {
			probs.Add("task", "must be a string, got %s", jsonKind(task))
			return "", ""
		}
		if _, ok := TaskNamed(name); !ok {
			probs.Add("task", "%s is not a task rootwindow knows: one of %s", quote(name), taskNames())
			return "", ""
		}
	}
	reason := parseText(why, "whyNotAssumeRoot", MaxReasonRunes, false, probs)
	if why != nil && reason != "" {
		if t, _ := TaskNamed(name); t.TaskPolicy == "" {
			probs.Add("whyNotAssumeRoot", "is only for a task that centralized root access performs (audit-root-credentials, delete-root-credentials, create-root-password, unlock-s3-bucket-policy, unlock-sqs-queue-policy)")
		}
	}
	return name, reason
}
