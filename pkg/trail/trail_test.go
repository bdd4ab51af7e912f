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

// The AssumeRoot sessions rootwindow's roles opened, from the event history through the real
// client: every page is read; another role's sessions, calls outside the time range and other
// events are not among them.
func TestRootSessionsOpenedByRootwindowsRoles(t *testing.T) {
	emu := awsemu.New()
	emu.Start()
	t.Cleanup(emu.Close)
	const (
		sweeper = "arn:aws:iam::999999999999:role/rootwindow/RootWindow-FunctionsSweeperRole-ABC"
		api     = "arn:aws:iam::999999999999:role/rootwindow/RootWindow-FunctionsApiRole-DEF"
		admin   = "arn:aws:iam::999999999999:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_abc"
	)
	session := func(role string) awsemu.Identity {
		return awsemu.Identity{ARN: "arn:aws:sts::999999999999:assumed-role/" + role[len("arn:aws:iam::999999999999:role/"):] + "/s", IssuerARN: role}
	}
	want := map[string]bool{}
	for i := range 120 { // three pages of 50
		key := fmt.Sprintf("ASIAROOTWINDOW%06d", i)
		role := []string{sweeper, api}[i%2]
		emu.AssumedRoot(session(role), "111111111111", key, t0.Add(time.Duration(i)*time.Second))
		want[key] = true
	}
	emu.AssumedRoot(session(admin), "111111111111", "ASIAPERSON", t0.Add(time.Minute))
	emu.AssumedRoot(session(sweeper), "111111111111", "ASIAEARLIER", t0.Add(-time.Hour))
	emu.Started(execution, session(sweeper), t0)
	got, err := trail.New(testenv.Trail(emu)).RootSessionsOpenedBy(context.Background(), []string{sweeper, api}, t0.Add(-time.Minute), t0.Add(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || got["ASIAPERSON"] || got["ASIAEARLIER"] {
		t.Errorf("%d sessions (want %d), a person's %v, an earlier one %v", len(got), len(want), got["ASIAPERSON"], got["ASIAEARLIER"])
	}
	for key := range want {
		if !got[key] {
			t.Errorf("%s missing", key)
			break
		}
	}
	if calls, _ := emu.Lookups(); calls != 3 {
		t.Errorf("%d LookupEvents calls, want 3 pages", calls)
	}
}
