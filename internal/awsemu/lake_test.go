package awsemu_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/smithy-go"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
)

// The emulated CloudTrail Lake runs the statements it can parse and refuses the rest as Lake
// does (a statement that is not a SELECT, a column Lake's schema lacks, a comparison it does not
// emulate), so that a statement rootwindow gets wrong fails here instead of passing by accident;
// at most 10 queries run at once.
func TestLakeRefusesWhatItCannotRun(t *testing.T) {
	const store = "arn:aws:cloudtrail:us-east-1:999999999999:eventdatastore/EXAMPLE-1"
	emu := awsemu.New()
	emu.Start()
	t.Cleanup(emu.Close)
	emu.AddEventDataStore(store)
	emu.AddLakeEvents(store, awsemu.LakeEvent{Time: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC), Fields: map[string]string{"eventID": "e-1", "userIdentity.type": "Root"}})
	c := testenv.Trail(emu)
	ctx := context.Background()
	start := func(stmt string) (string, string) {
		out, err := c.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(stmt)})
		var api smithy.APIError
		if errors.As(err, &api) {
			return "", api.ErrorCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.QueryId), ""
	}
	for stmt, code := range map[string]string{
		"DELETE FROM EXAMPLE-1": "InvalidQueryStatementException",
		"SELECT eventID FROM EXAMPLE-1 WHERE eventName LIKE 'Put%'":  "InvalidQueryStatementException",
		"SELECT secret FROM EXAMPLE-1":                               "InvalidQueryStatementException",
		"SELECT eventID FROM EXAMPLE-1; DROP TABLE x":                "InvalidQueryStatementException",
		"SELECT eventID FROM EXAMPLE-1 WHERE eventName = 'a' OR 1=1": "InvalidQueryStatementException",
		"SELECT eventID FROM EXAMPLE-2":                              "EventDataStoreNotFoundException",
	} {
		if _, got := start(stmt); got != code {
			t.Errorf("%s: %q, want %s", stmt, got, code)
		}
	}
	id, code := start("SELECT eventID, eventTime FROM EXAMPLE-1 WHERE userIdentity.type = 'Root' AND eventTime >= '2026-12-06 10:00:00'")
	if code != "" {
		t.Fatal(code)
	}
	out, err := c.GetQueryResults(ctx, &cloudtrail.GetQueryResultsInput{QueryId: aws.String(id)})
	if err != nil || out.QueryStatus != "FINISHED" || len(out.QueryResultRows) != 1 || out.QueryResultRows[0][1]["eventTime"] != "2026-12-06 10:00:00.000" {
		t.Errorf("results %+v %v", out, err)
	}
	emu.SetQueryRuns(5)
	for i := range 10 {
		if _, code := start("SELECT eventID FROM EXAMPLE-1"); code != "" {
			t.Fatalf("query %d: %s", i+1, code)
		}
	}
	if _, code := start("SELECT eventID FROM EXAMPLE-1"); code != "MaxConcurrentQueriesException" {
		t.Errorf("an eleventh query at once: %q", code)
	}
}
