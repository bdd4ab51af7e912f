package lambdaenv_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/guardrail"
	"github.com/rootwindow/rootwindow/pkg/lambdaenv"
	"github.com/rootwindow/rootwindow/pkg/workflow"
)

const alice = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_abc/alice@example.com"

var members = []string{"111111111111", "222222222222", "333333333333"}

// The Lambdas' own wiring, configured only by environment variables as in AWS, with the real SDK
// clients sent to the emulators by AWS_ENDPOINT_URL_*, and Lambda's JSON handling.
func TestLoadRunsAWindow(t *testing.T) {
	testenv.SkipWithoutNode(t) // the real clients need a DynamoDB endpoint: dynalite
	org := orgemu.Standard(testenv.Management, "alice@example.com", members...)
	orgURL := org.Start()
	t.Cleanup(org.Close)
	dbURL, stop, err := testenv.StartDynalite()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	testenv.LedgerTable(t, testenv.DynamoDB(dbURL), "rootwindow-ledger")
	emu := awsemu.New() // CloudTrail, EventBridge, SNS
	emuURL := emu.Start()
	t.Cleanup(emu.Close)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_ORGANIZATIONS": orgURL, "AWS_ENDPOINT_URL_DYNAMODB": dbURL, "AWS_ENDPOINT_URL": emuURL,
		"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "eu-west-1",
		contract.EnvTableName: "rootwindow-ledger", contract.EnvGuardrailPolicyID: orgemu.GuardrailID,
		contract.EnvAdminPrincipals: testenv.AdminPattern, contract.EnvOrganizationID: orgemu.OrganizationID,
		contract.EnvStateMachineRoleARN: testenv.StateMachineRoleARN, contract.EnvDeployment: deployment,
	} {
		t.Setenv(k, v)
	}
	instance, err := lambdaenv.Load(context.Background(), lambdaenv.Options{Getenv: os.Getenv})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Adapters(instance) // as the functions' mains wire them
	steps := workflow.New(instance.Service())
	ctx := context.Background()
	invoke := func(fn any, payload string) json.RawMessage {
		t.Helper()
		out, err := lambda.NewHandler(fn).Invoke(ctx, []byte(payload))
		if err != nil {
			t.Fatalf("%s: %v", payload, err)
		}
		return out
	}
	validate, _ := json.Marshal(testenv.Started(emu, "env-1",
		json.RawMessage(`{"request":{"accountIds":["111111111111"],"hours":1,"reason":"reset root password (SEC-9)","requester":"`+alice+`"}}`),
		testenv.Person(alice), time.Now()))
	w := invoke(steps.Validate, string(validate))
	if !strings.Contains(string(w), `"requestId":"env-1"`) {
		t.Errorf("validate answered %s", w)
	}
	invoke(steps.Detach, `{"requestId":"env-1","executionArn":"`+testenv.ExecutionARN("env-1")+`","accountIds":["111111111111"],"hours":1}`) // Validate's decision
	if org.IsAttached("111111111111", orgemu.GuardrailID) {
		t.Error("not lifted")
	}
	r := invoke(steps.Reattach, `{"requestId":"env-1","mode":"close"}`)
	if !strings.Contains(string(r), `"status":"CLOSED"`) || !org.IsAttached("111111111111", orgemu.GuardrailID) {
		t.Errorf("reattach answered %s", r)
	}

	// The deployment is named by ROOTWINDOW_DEPLOYMENT: its claim on the guardrail carries it, and
	// a window SCP it left behind under its former name (its table's, as 0.9.0 named it) is
	// still its own to clean up.
	api := guardrail.NewClient(testenv.AWSConfig(), func(o *organizations.Options) { o.BaseEndpoint = aws.String(orgURL) })
	tags, err := api.ListTagsForResource(ctx, &organizations.ListTagsForResourceInput{ResourceId: aws.String(org.Root())})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != deployment {
		t.Errorf("the claim on the root: %v, %v, want %s", tags, err, deployment)
	}
	former := guardrail.New(api, orgemu.GuardrailID, guardrail.Options{Deployment: "rootwindow-ledger", Rates: guardrail.Unpaced})
	left, err := former.Lift(ctx, guardrail.Window{RequestID: "ghost", End: time.Now().Add(time.Hour), AccountIDs: []string{"222222222222"}})
	if err != nil {
		t.Fatal(err)
	}
	swept := invoke(steps.SafetyNet, `{"id":"sweep-1","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`)
	if !strings.Contains(string(swept), left) || !org.IsAttached("222222222222", orgemu.GuardrailID) {
		t.Errorf("the sweep answered %s: the window SCP %s left under the former name is not cleaned up", swept, left)
	}
}

const deployment = "999999999999/eu-west-1/RootWindow"

func TestLoadRefusesBadConfiguration(t *testing.T) {
	_, err := lambdaenv.Load(context.Background(), lambdaenv.Options{Getenv: func(string) string { return "" }})
	if err == nil || !strings.Contains(err.Error(), "ROOTWINDOW_TABLE_NAME is required") {
		t.Errorf("got %v", err)
	}
}
