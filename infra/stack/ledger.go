package stack

import (
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// Ledger is the DynamoDB table of requests and leases. It is the audit trail, so it outlives the
// stack and can be restored to any second of the last 35 days.
type Ledger struct {
	constructs.Construct
	Table awsdynamodb.Table
	// Key encrypts the table (a customer managed key): only rootwindow's roles, the break-glass
	// role, the auditors and the deployment may use it, and only through DynamoDB (OnlyWrittenBy);
	// and the state machine's definition and executions, through Step Functions (EncryptsHistoryOf).
	Key awskms.Key
}

// NewLedger creates the ledger table.
func NewLedger(scope constructs.Construct, id string) *Ledger {
	c := constructs.NewConstruct(scope, jsii.String(id))
	// The account administers the key (its policy, rotation, deletion) but uses it for nothing:
	// encrypting and decrypting the items is granted by OnlyWrittenBy to the ledger's principals
	// alone. Kept with the table (a deleted key would leave the retained table unreadable).
	key := awskms.NewKey(c, jsii.String("Key"), &awskms.KeyProps{
		Description:       jsii.String("rootwindow: the ledger's items (requests, with each account's root email and credential state; leases) and the state machine's executions"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		Policy: awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String("TheAccountAdministersTheKey"),
				Principals: &[]awsiam.IPrincipal{awsiam.NewAccountRootPrincipal()},
				Actions: jsii.Strings("kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
					"kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"),
				Resources: jsii.Strings("*"),
			}),
		}}),
	})
	table := awsdynamodb.NewTable(c, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(contract.KeyAttribute), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption:         awsdynamodb.TableEncryption_CUSTOMER_MANAGED,
		EncryptionKey:      key,
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
	})
	// Requests by creation time, for the API's listing (leases and event claims have no createdAt,
	// so they stay out of it).
	table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:      jsii.String(contract.ByCreatedIndex),
		PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(contract.KindAttribute), Type: awsdynamodb.AttributeType_STRING},
		SortKey:        &awsdynamodb.Attribute{Name: jsii.String(contract.CreatedAttribute), Type: awsdynamodb.AttributeType_STRING},
		ProjectionType: awsdynamodb.ProjectionType_ALL,
	})
	return &Ledger{Construct: c, Table: table, Key: key}
}

// DeploymentRoleOf is the role that deploys the stack: the configured one, else the CDK
// bootstrap's CloudFormation execution role (default qualifier hnb659fds) in the stack's account
// and region.
func DeploymentRoleOf(st awscdk.Stack, configured string) string {
	if configured != "" {
		return configured
	}
	return *awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":iam::"), st.Account(),
		jsii.String(":role/cdk-hnb659fds-cfn-exec-role-"), st.Account(), jsii.String("-"), st.Region()})
}

// itemWrites are every way to change the ledger's items.
var itemWrites = []string{
	"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
	"dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete",
}

// itemReads are the ways to read the ledger's items that a table's resource policy governs
// (DynamoDB Developer Guide, "DynamoDB API operations supported by resource-based policies";
// TransactGetItems is authorized as GetItem). An export to S3 is not among them: see SECURITY.md.
var itemReads = []string{
	"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:PartiQLSelect",
}

// tableChanges are every way to change the table itself: its policy, its settings, its backups'
// protection, its existence.
var tableChanges = []string{
	"dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy", "dynamodb:UpdateTable", "dynamodb:DeleteTable",
	"dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTimeToLive",
}

// OnlyWrittenBy denies every write of the ledger's items (in the table's resource policy) to all
// principals but the writers' roles and, if given, one break-glass role: what decides a lift or a
// restore is rootwindow's alone, whatever IAM policies elsewhere in the account allow. The policy
// protects itself too: only the deployment role (CloudFormation's) may change or delete it, or
// change or delete the table. (DynamoDB lets the account's root user delete a table's policy
// whatever it says, so that nobody is locked out: the root user is the one principal this cannot
// stop; see SECURITY.md.) The policy's Resource is "*" because a table's resource policy cannot
// name the table's own ARN in the same template (the table does not exist yet); in a table's
// policy, "*" means this table and its indexes.
// Reads are denied the same way to all but rootwindow's roles, the break-glass role and the
// auditors named: the records hold each account's root email and credential state.
func (l *Ledger) OnlyWrittenBy(writers []awsiam.IRole, breakGlass, deployment string, auditors []string) {
	arns := make([]string, 0, len(writers)+1)
	for _, r := range writers {
		arns = append(arns, *r.RoleArn())
	}
	if breakGlass != "" {
		arns = append(arns, breakGlass)
	}
	readers := append(slices.Clone(arns), auditors...)
	doc := awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("OnlyRootwindowWritesItems"),
			Effect:     awsiam.Effect_DENY,
			Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			Actions:    jsii.Strings(itemWrites...),
			Resources:  jsii.Strings("*"),
			Conditions: &map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": arns}},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("OnlyRootwindowAndItsAuditorsReadItems"),
			Effect:     awsiam.Effect_DENY,
			Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			Actions:    jsii.Strings(itemReads...),
			Resources:  jsii.Strings("*"),
			Conditions: &map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": readers}},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("OnlyTheDeploymentChangesTheTable"),
			Effect:     awsiam.Effect_DENY,
			Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			Actions:    jsii.Strings(tableChanges...),
			Resources:  jsii.Strings("*"),
			Conditions: &map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": deployment}},
		}),
	}})
	cfn := l.Table.Node().DefaultChild().(awsdynamodb.CfnTable)
	cfn.SetResourcePolicy(&awsdynamodb.CfnTable_ResourcePolicyProperty{PolicyDocument: doc})
	// The key: usable through DynamoDB, in this account, by the readers (writers among them) and
	// the deployment (which creates the table's grants) alone, as DynamoDB's own key policy lets
	// every principal of the account (DynamoDB Developer Guide, "Encryption at rest: how it works",
	// the AWS managed key's policy), but named.
	users := []awsiam.IPrincipal{awsiam.NewArnPrincipal(jsii.String(deployment))}
	for _, arn := range readers {
		users = append(users, awsiam.NewArnPrincipal(jsii.String(arn)))
	}
	st := awscdk.Stack_Of(l.Table)
	l.Key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OnlyTheLedgersPrincipalsUseTheKeyThroughDynamoDB"),
		Principals: &users,
		Actions:    jsii.Strings("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": map[string]any{
			"kms:ViaService":    awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("dynamodb."), st.Region(), jsii.String(".amazonaws.com")}),
			"kms:CallerAccount": st.Account(),
		}},
	}), jsii.Bool(false))
}

// EncryptsHistoryOf puts the state machine's definition and its executions (each request's input,
// its accounts and reasons, every step's output, the approval's task token) under the ledger's key
// instead of an AWS owned key, so that reading them takes the key as well as
// states:DescribeExecution or GetExecutionHistory, whatever IAM allows elsewhere in the account.
// What each party needs is the Step Functions Developer Guide's ("Data at rest encryption in Step
// Functions"): the execution role kms:Decrypt and kms:GenerateDataKey, scoped by the encryption
// context Step Functions sets (aws:states:stateMachineArn) and never by kms:ViaService (which
// the guide warns fails executions); with logging on, kms:GenerateDataKey for log deliveries
// (kms:EncryptionContext:SourceArn) and kms:Decrypt for delivery.logs.amazonaws.com; callers of
// DescribeExecution, GetExecutionHistory and DescribeStateMachine kms:Decrypt, unless they ask for
// METADATA_ONLY (the sweeper's look at an execution's status does: it needs no key); and whoever
// creates or updates the state machine (CloudFormation's role) kms:DescribeKey and
// kms:GenerateDataKey. StartExecution, StopExecution and SendTask* need nothing of the key, so the
// doors (the API, the request rule, the console) start executions as before. The state machine's
// ARN cannot be named (the state machine names the key: a cycle), so the context is any state
// machine of this account and Region; the role is rootwindow's and only Step Functions assumes it.
func (l *Ledger) EncryptsHistoryOf(sm sfn.StateMachine, readers []awsiam.IRole, breakGlass, deployment string, auditors []string) {
	sm.Node().DefaultChild().(sfn.CfnStateMachine).SetEncryptionConfiguration(&sfn.CfnStateMachine_EncryptionConfigurationProperty{
		Type: jsii.String("CUSTOMER_MANAGED_KMS_KEY"), KmsKeyId: l.Key.KeyArn(),
	})
	st := awscdk.Stack_Of(sm)
	arn := func(service, resource string) *string {
		return awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":" + service + ":"), st.Region(),
			jsii.String(":"), st.Account(), jsii.String(":" + resource)})
	}
	viaStepFunctions := map[string]any{
		"kms:ViaService":    awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("states."), st.Region(), jsii.String(".amazonaws.com")}),
		"kms:CallerAccount": st.Account(),
	}
	execution := []awsiam.IPrincipal{awsiam.NewArnPrincipal(sm.Role().RoleArn())}
	var users []awsiam.IPrincipal
	for _, r := range readers {
		users = append(users, awsiam.NewArnPrincipal(r.RoleArn()))
	}
	for _, a := range append([]string{breakGlass}, auditors...) {
		if a != "" {
			users = append(users, awsiam.NewArnPrincipal(jsii.String(a)))
		}
	}
	for _, s := range []*awsiam.PolicyStatementProps{
		{
			Sid: jsii.String("TheStateMachineEncryptsItsExecutions"), Principals: &execution,
			Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
			Conditions: &map[string]any{"StringLike": map[string]any{"kms:EncryptionContext:aws:states:stateMachineArn": arn("states", "stateMachine:*")}},
		},
		{
			Sid: jsii.String("TheStateMachineEncryptsItsLogDeliveries"), Principals: &execution,
			Actions:    jsii.Strings("kms:GenerateDataKey"),
			Conditions: &map[string]any{"StringLike": map[string]any{"kms:EncryptionContext:SourceArn": arn("logs", "*")}},
		},
		{
			// For this account's deliveries only, where the service names the account it acts for
			// (aws:SourceAccount: the cross-service confused deputy); the guide's statement has no
			// condition, so none that could be absent is required.
			Sid:        jsii.String("LogDeliveryReadsTheStateMachinesLogs"),
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("delivery.logs.amazonaws.com"), nil)},
			Actions:    jsii.Strings("kms:Decrypt"),
			Conditions: &map[string]any{"StringEqualsIfExists": map[string]any{"aws:SourceAccount": st.Account()}},
		},
		{
			Sid: jsii.String("OnlyRootwindowAndItsAuditorsReadExecutions"), Principals: &users,
			Actions: jsii.Strings("kms:Decrypt"), Conditions: &map[string]any{"StringEquals": viaStepFunctions},
		},
		{
			Sid:        jsii.String("TheDeploymentEncryptsTheStateMachine"),
			Principals: &[]awsiam.IPrincipal{awsiam.NewArnPrincipal(jsii.String(deployment))},
			Actions:    jsii.Strings("kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"),
			Conditions: &map[string]any{"StringEquals": viaStepFunctions},
		},
	} {
		s.Resources = jsii.Strings("*")
		l.Key.AddToResourcePolicy(awsiam.NewPolicyStatement(s), jsii.Bool(false))
	}
}
