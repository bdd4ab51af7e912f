package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
)

// The steps' own job is tested here: reading the execution's envelope, and answering Step
// Functions with named errors. What the steps do through the window service is tested beside
// the service, in pkg/window.

const (
	alice = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_abc/alice@example.com"
	bob   = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_abc/bob@example.com"
)

var (
	members = []string{"111111111111", "222222222222", "333333333333"}
	db      testenv.DB
	t0      = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
)

func TestMain(m *testing.M) {
	os.Exit(testenv.MainWithDynamoDB(m, func(c testenv.DB) { db = c }))
}

func newEnv(t *testing.T) *testenv.Windows {
	t.Helper()
	return testenv.NewWindows(t, db, orgemu.Standard(testenv.Management, "alice@example.com", members...), t0)
}

func TestErrorTypesAsLambdaReportsThem(t *testing.T) {
	e := newEnv(t)
	h := lambda.NewHandler(e.Steps.Validate)
	payload, _ := json.Marshal(e.Started("x-1", json.RawMessage(`{"request":{"hours":0}}`), testenv.Person(alice)))
	_, err := h.Invoke(context.Background(), payload)
	var rr *contract.RequestRejected
	if !errors.As(err, &rr) {
		t.Fatalf("got %T %v", err, err)
	}
	for name, e := range contract.ErrorNames {
		if got := reflect.TypeOf(e).Elem().Name(); got != name {
			t.Errorf("error %s has type name %s", name, got)
		}
	}
}
