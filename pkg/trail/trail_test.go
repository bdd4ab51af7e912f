package trail_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/rootwindow/rootwindow/internal/awsemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/identity"
	"github.com/rootwindow/rootwindow/pkg/trail"
)

const execution = "arn:aws:states:us-east-1:999999999999:execution:rootwindow:req-1"

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// Through the real CloudTrail client against the emulator's event history.
func TestStarterFromCloudTrail(t *testing.T) {
	emu := awsemu.New()
	emu.Start()
	t.Cleanup(emu.Close)
	alice := testenv.Person("arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_AdministratorAccess_abc/alice@example.com")
	emu.Started("arn:aws:states:us-east-1:999999999999:execution:rootwindow:other", testenv.EventsRule, t0)
	emu.Started(execution, alice, t0)
	got, err := trail.New(testenv.Trail(emu)).StarterOf(context.Background(), execution, t0)
	if err != nil || got != (identity.Starter{ARN: alice.ARN, RoleARN: "arn:aws:iam::999999999999:role/AWSReservedSSO_AdministratorAccess_abc"}) {
		t.Fatalf("%+v, %v", got, err)
	}
	if _, err := trail.New(testenv.Trail(emu)).StarterOf(context.Background(), execution+"-2", t0); !errors.Is(err, identity.ErrNotYetRecorded) {
		t.Errorf("an execution not in the history: %v", err)
	}
}

// pages is a CloudTrail event history served a page at a time.
type pages [][]string

func (p pages) LookupEvents(_ context.Context, in *cloudtrail.LookupEventsInput, _ ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error) {
	i := 0
	if in.NextToken != nil {
		fmt.Sscanf(*in.NextToken, "%d", &i)
	}
	out := &cloudtrail.LookupEventsOutput{}
	for _, raw := range p[i] {
		out.Events = append(out.Events, types.Event{CloudTrailEvent: aws.String(raw)})
	}
	if i+1 < len(p) {
		out.NextToken = aws.String(fmt.Sprint(i + 1))
	}
	return out, nil
}

func event(arn, by, errorCode string) string {
	return fmt.Sprintf(`{"eventSource":"states.amazonaws.com","eventName":"StartExecution","errorCode":%q,"userIdentity":{"arn":%q},"responseElements":{"executionArn":%q}}`, errorCode, by, arn)
}

func TestStarterIsTheSuccessfulCallForThisExecution(t *testing.T) {
	history := pages{
		{event(execution+"x", "arn:aws:iam::999999999999:user/someone", ""), `not json`},
		{event(execution, "arn:aws:iam::999999999999:user/mallory", "ExecutionAlreadyExists")},
		{event(execution, "arn:aws:iam::999999999999:user/alice", "")},
	}
	got, err := trail.New(history).StarterOf(context.Background(), execution, t0)
	if err != nil || got.ARN != "arn:aws:iam::999999999999:user/alice" || got.RoleARN != "" {
		t.Fatalf("%+v, %v", got, err)
	}
}
