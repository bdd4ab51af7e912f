package contract

// Environment variable names: the stack sets them on the functions, the functions read them once
// at cold start (see package config).
const (
	EnvTableName            = "ROOTWINDOW_TABLE_NAME"
	EnvGuardrailPolicyID    = "ROOTWINDOW_GUARDRAIL_POLICY_ID"
	EnvAdminPrincipals      = "ROOTWINDOW_ADMIN_PRINCIPALS" // comma-separated patterns
	EnvApproverPrincipals   = "ROOTWINDOW_APPROVER_PRINCIPALS"
	EnvOwnerTagKey          = "ROOTWINDOW_OWNER_TAG_KEY"
	EnvMaxAccounts          = "ROOTWINDOW_MAX_ACCOUNTS"
	EnvBookingHorizonDays   = "ROOTWINDOW_BOOKING_HORIZON_DAYS"
	EnvAnyRoleSessionName   = "ROOTWINDOW_ANY_ROLE_SESSION_NAME"
	EnvOrganizationID       = "ROOTWINDOW_ORGANIZATION_ID"
	EnvManagementAccountID  = "ROOTWINDOW_MANAGEMENT_ACCOUNT_ID"
	EnvIdentityStoreID      = "ROOTWINDOW_IDENTITY_STORE_ID"
	EnvNotificationEmail    = "ROOTWINDOW_NOTIFICATION_EMAIL" // the sweeper checks its subscription
	EnvGuardrailSHA256      = "ROOTWINDOW_GUARDRAIL_SHA256"
	EnvGuardrailAllowedSids = "ROOTWINDOW_GUARDRAIL_ALLOWED_SIDS"
	EnvCooldownMinutes      = "ROOTWINDOW_COOLDOWN_MINUTES"
	EnvDriftScanMinutes     = "ROOTWINDOW_DRIFT_SCAN_MINUTES"
	EnvTrailEventDataStore  = "ROOTWINDOW_TRAIL_EVENT_DATA_STORE_ARN"
	EnvTrailLogGroup        = "ROOTWINDOW_TRAIL_LOG_GROUP_ARN"
	EnvRootScanMinutes      = "ROOTWINDOW_ROOT_ACTIVITY_SCAN_MINUTES"
	EnvApproval             = "ROOTWINDOW_APPROVAL"
	EnvCentralizedRoot      = "ROOTWINDOW_CENTRALIZED_ROOT_ACCESS"
	EnvPrepareRootSignIn    = "ROOTWINDOW_PREPARE_ROOT_SIGN_IN"
	EnvBreakGlass           = "ROOTWINDOW_BREAK_GLASS"
	EnvApprovalMinutes      = "ROOTWINDOW_APPROVAL_TIMEOUT_MINUTES"
	EnvApprovalChannels     = "ROOTWINDOW_APPROVAL_CHANNELS"
	EnvApprovalScope        = "ROOTWINDOW_APPROVAL_ACCOUNTS"
	EnvMaxConcurrentPerUser = "ROOTWINDOW_MAX_CONCURRENT_PER_REQUESTER"
	EnvMaxDailyPerUser      = "ROOTWINDOW_MAX_DAILY_PER_REQUESTER"
	EnvMaxAccountsAtOnce    = "ROOTWINDOW_MAX_ACCOUNTS_AT_ONCE"
	EnvEventIntegrations    = "ROOTWINDOW_EVENT_INTEGRATIONS" // comma-separated principal ARNs
	EnvEventConfirmMinutes  = "ROOTWINDOW_EVENT_CONFIRMATION_MINUTES"
	EnvSCPsPerTargetQuota   = "ROOTWINDOW_SCPS_PER_TARGET_QUOTA"
	EnvSCPSizeQuota         = "ROOTWINDOW_SCP_SIZE_QUOTA"
	EnvLiftStrategy         = "ROOTWINDOW_LIFT_STRATEGY"
	EnvEventBus             = "ROOTWINDOW_EVENT_BUS"         // where notifications go; default "default"
	EnvTopicARN             = "ROOTWINDOW_TOPIC_ARN"         // the operators' SNS topic; "" sends events only
	EnvStateMachineARN      = "ROOTWINDOW_STATE_MACHINE_ARN" // the api function starts executions of it
	// EnvStateMachineRoleARN is the role rootwindow's state machine runs as: a step binds itself
	// to an execution of the state machine that runs as it (its ARN would make a cycle).
	EnvStateMachineRoleARN = "ROOTWINDOW_STATE_MACHINE_ROLE_ARN"
	// The roles whose sessions start executions for the EventBridge door (the request rule's
	// target role) and the API door (the api function's role): any other starter is the console.
	EnvEventsRoleARN = "ROOTWINDOW_EVENTS_ROLE_ARN"
	EnvAPIRoleARN    = "ROOTWINDOW_API_ROLE_ARN"
	// EnvOwnRoleARNs lists the roles of rootwindow's functions that change attachments: the
	// sweeper ignores CloudTrail's events of their calls (comma-separated).
	EnvOwnRoleARNs = "ROOTWINDOW_OWN_ROLE_ARNS"
	// EnvRootSessionRoleARNs lists the roles of rootwindow's functions that may open root sessions
	// (sts:AssumeRoot: the sign-in audit, password recovery allowed and deleted): the sweeper does
	// not take what those sessions did for root activity outside windows (comma-separated).
	EnvRootSessionRoleARNs = "ROOTWINDOW_ROOT_SESSION_ROLE_ARNS"
	// EnvDeploymentRoleARN is the role that deploys the stack: the sweeper tells its changes to
	// rootwindow's resources from anyone else's.
	EnvDeploymentRoleARN = "ROOTWINDOW_DEPLOYMENT_ROLE_ARN"
	// EnvDeployment names this deployment of rootwindow, <account>/<region>/<stack name>: the same
	// stack deployed again is the same deployment, another stack (name, account or Region) another.
	// Its window SCPs carry it, and its claim on the guardrail; default the ledger's table name.
	EnvDeployment = "ROOTWINDOW_DEPLOYMENT"
)

// The ledger table's schema: partition key pk, and an index of requests (and leases) by kind and
// creation time.
const (
	KeyAttribute     = "pk"
	KindAttribute    = "kind"
	CreatedAttribute = "createdAt"
	ByCreatedIndex   = "byCreated"
)
