package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// API is the REST API in front of the api function: IAM (SigV4) authorization on every method.
type API struct {
	constructs.Construct
	RestAPI awsapigateway.RestApi
}

// APIStage is the API's one stage.
const APIStage = "v1"

// NewAPI creates the REST API and its access log. Its resource policy admits the principals of
// organization orgID, and of those only the principals of the accounts the administrators are in
// (accounts; none: every account of the organization, when an administrator pattern is a name
// rather than an ARN): everyone who calls it is an administrator (a requester, an approver, a
// requester confirming, a subscriber), so a principal of any other account is refused before the
// function runs, whatever it signs with.
func NewAPI(scope constructs.Construct, id string, fn awslambda.IFunction, orgID string, accounts []string) *API {
	c := constructs.NewConstruct(scope, jsii.String(id))
	logs := awslogs.NewLogGroup(c, jsii.String("AccessLogs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_YEAR,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	t := jsii.Bool(true)
	api := awsapigateway.NewRestApi(c, jsii.String("Api"), &awsapigateway.RestApiProps{
		Description:   jsii.String("rootwindow: ask for, read, end and cancel root access windows"),
		EndpointTypes: &[]awsapigateway.EndpointType{awsapigateway.EndpointType_REGIONAL},
		DefaultMethodOptions: &awsapigateway.MethodOptions{
			AuthorizationType: awsapigateway.AuthorizationType_IAM,
		},
		// API Gateway writes access logs through an account-wide role.
		CloudWatchRole: t,
		Policy:         apiPolicy(orgID, accounts),
		DeployOptions: &awsapigateway.StageOptions{
			StageName:            jsii.String(APIStage),
			AccessLogDestination: awsapigateway.NewLogGroupLogDestination(logs),
			AccessLogFormat: awsapigateway.AccessLogFormat_JsonWithStandardFields(&awsapigateway.JsonWithStandardFieldProps{
				Caller: t, HttpMethod: t, Ip: t, Protocol: t, RequestTime: t, ResourcePath: t, ResponseLength: t, Status: t, User: t,
			}),
			TracingEnabled: t,
			MetricsEnabled: t,
			// Execution logs for errors only, and never request or response bodies.
			LoggingLevel:         awsapigateway.MethodLoggingLevel_ERROR,
			DataTraceEnabled:     jsii.Bool(false),
			ThrottlingRateLimit:  jsii.Number(10),
			ThrottlingBurstLimit: jsii.Number(20),
			// Each method its own limits, so that a loop on one (asking, listing, polling) cannot
			// starve those with deadlines (approve, deny, confirm, end).
			MethodOptions: methodThrottles(),
		},
	})
	// No test-invoke-stage permission: the console's "Test" would call the function without
	// SigV4 and without the resource policy.
	integration := awsapigateway.NewLambdaIntegration(fn, &awsapigateway.LambdaIntegrationOptions{AllowTestInvoke: jsii.Bool(false)})
	requests := api.Root().AddResource(jsii.String("requests"), nil)
	requests.AddMethod(jsii.String("POST"), integration, nil)
	requests.AddMethod(jsii.String("GET"), integration, nil)
	api.Root().AddResource(jsii.String("subscriptions"), nil).AddMethod(jsii.String("POST"), integration, nil)
	one := requests.AddResource(jsii.String("{id}"), nil)
	one.AddMethod(jsii.String("GET"), integration, nil)
	one.AddResource(jsii.String("end"), nil).AddMethod(jsii.String("POST"), integration, nil)
	one.AddResource(jsii.String("cancel"), nil).AddMethod(jsii.String("POST"), integration, nil)
	one.AddResource(jsii.String("confirm"), nil).AddMethod(jsii.String("POST"), integration, nil)
	one.AddResource(jsii.String("approve"), nil).AddMethod(jsii.String("POST"), integration, nil)
	one.AddResource(jsii.String("deny"), nil).AddMethod(jsii.String("POST"), integration, nil)
	one.AddResource(jsii.String("review"), nil).AddMethod(jsii.String("POST"), integration, nil)
	suppress(api, "AwsSolutions-COG4", "Every method uses IAM (SigV4) authorization: callers are the organization's own AWS principals, whose ARN is the requester; there are no Cognito users")
	suppress(api, "AwsSolutions-APIG2", "The api function validates every input strictly and answers 400 with every field error; an API Gateway model would duplicate that with worse messages")
	suppress(api, "AwsSolutions-APIG3", "Only SigV4-signed calls from the administrators' accounts reach the API, and each method is throttled on its own (5/s, burst 10, for most); a WAF web ACL can be added by operators who want one")
	suppress(api, "AwsSolutions-IAM4", "API Gateway's account-level CloudWatch role needs the AWS-managed AmazonAPIGatewayPushToCloudWatchLogs policy, which only allows writing logs",
		"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
	return &API{Construct: c, RestAPI: api}
}

// apiPolicy admits the principals of organization orgID in accounts (any of its accounts when
// none are given) and denies everyone else: aws:PrincipalOrgID and aws:PrincipalAccount are set
// by AWS from the caller's credentials (IAM User Guide, "AWS global condition context keys").
func apiPolicy(orgID string, accounts []string) awsiam.PolicyDocument {
	statement := func(sid string, effect awsiam.Effect, condition map[string]any) awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String(sid), Effect: effect, Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			Actions: jsii.Strings("execute-api:Invoke"), Resources: jsii.Strings("execute-api:/*"), Conditions: &condition,
		})
	}
	allow := map[string]any{"aws:PrincipalOrgID": orgID}
	statements := []awsiam.PolicyStatement{
		statement("NobodyOutsideTheOrganization", awsiam.Effect_DENY, map[string]any{"StringNotEquals": map[string]any{"aws:PrincipalOrgID": orgID}}),
	}
	if len(accounts) > 0 {
		allow["aws:PrincipalAccount"] = accounts
		statements = append(statements, statement("OnlyTheAdministratorsAccounts", awsiam.Effect_DENY,
			map[string]any{"StringNotEquals": map[string]any{"aws:PrincipalAccount": accounts}}))
	}
	statements = append(statements, statement("AdministratorsMayCall", awsiam.Effect_ALLOW, map[string]any{"StringEquals": allow}))
	return awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &statements})
}

// methodThrottles are the API's per-method limits (requests a second, burst): asking and listing
// at a person's pace, polling a request faster, each deciding verb on its own, subscribing rarely.
func methodThrottles() *map[string]*awsapigateway.MethodDeploymentOptions {
	limits := map[string][2]float64{
		"/requests/POST": {5, 10}, "/requests/GET": {5, 10}, "/requests/{id}/GET": {10, 20},
		"/requests/{id}/end/POST": {5, 10}, "/requests/{id}/cancel/POST": {5, 10}, "/requests/{id}/confirm/POST": {5, 10},
		"/requests/{id}/approve/POST": {5, 10}, "/requests/{id}/deny/POST": {5, 10}, "/requests/{id}/review/POST": {5, 10}, "/subscriptions/POST": {1, 2},
	}
	out := map[string]*awsapigateway.MethodDeploymentOptions{}
	for path, l := range limits {
		out[path] = &awsapigateway.MethodDeploymentOptions{ThrottlingRateLimit: jsii.Number(l[0]), ThrottlingBurstLimit: jsii.Number(l[1])}
	}
	return &out
}
