package window_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootwindow/rootwindow/internal/orgemu"
	"github.com/rootwindow/rootwindow/internal/testenv"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
	"github.com/rootwindow/rootwindow/pkg/window"
)

// beforeStatus is the ledger's DynamoDB, running hook once just before the write that moves
// request id to status to, and telling on waiting each time a writer finds the guardrail's lock
// taken.
type beforeStatus struct {
	ledger.DynamoDBAPI
	id      string
	to      ledger.Status
	hook    func()
	once    sync.Once
	waiting chan struct{}
}

func (b *beforeStatus) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if s, ok := in.Key[contract.KeyAttribute].(*types.AttributeValueMemberS); ok && s.Value == "request#"+b.id {
		for _, v := range in.ExpressionAttributeValues {
			if s, ok := v.(*types.AttributeValueMemberS); ok && s.Value == string(b.to) {
				b.once.Do(b.hook)
			}
		}
	}
	return b.DynamoDBAPI.UpdateItem(ctx, in, optFns...)
}

func (b *beforeStatus) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	out, err := b.DynamoDBAPI.PutItem(ctx, in, optFns...)
	if s, ok := in.Item[contract.KeyAttribute].(*types.AttributeValueMemberS); ok && s.Value == "lock#guardrail" && err != nil {
		select {
		case b.waiting <- struct{}{}:
		default:
		}
	}
	return out, err
}

// A compensation under exempt writes the document without its window and records the window
// FAILED as one section under the guardrail's lock. Another window's lift renders every window
// its record says is OPENING or OPEN, so if it came between the two it would write the failing
// window's exemption (it never had one: its lift was throttled until the state machine gave up)
// for the rest of its hours. The other lift is started at the last moment it could (just before
// the FAILED write) and the test waits until it has finished or is waiting for the lock.
func TestAnotherLiftCannotExemptAWindowBeingCompensated(t *testing.T) {
	e := layoutEnv(t, "ou", contract.StrategyExempt)
	ctx := context.Background()
	for _, id := range []string{"req-a", "req-b"} {
		if _, err := e.validate(t, id, validRequest(members[map[string]int{"req-a": 0, "req-b": 1}[id]])); err != nil {
			t.Fatal(err)
		}
	}
	e.Org.Inject(orgemu.Fault{Op: "UpdatePolicy", Code: "TooManyRequestsException"})
	if _, err := e.Steps.Detach(ctx, testenv.Decided(t, e.Store, "req-a")); err == nil {
		t.Fatal("a lift throttled at every try succeeded")
	}
	e.Org.ClearFaults()
	e.AssertStatus(t, "req-a", ledger.Opening)

	db := &beforeStatus{DynamoDBAPI: db, id: "req-a", to: ledger.Failed, waiting: make(chan struct{}, 1)}
	var lifted sync.WaitGroup
	var liftErr error
	db.hook = func() {
		lifted.Add(1)
		done := make(chan struct{})
		go func() {
			defer lifted.Done()
			defer close(done)
			_, liftErr = e.Steps.Detach(ctx, testenv.Decided(t, e.Store, "req-b"))
		}()
		select {
		case <-done: // it got in between: the compensated record still said OPENING
		case <-db.waiting: // it waits for the lock the compensation holds
		case <-time.After(time.Minute):
			t.Error("the other lift neither finished nor waited for the lock")
		}
	}
	e.With(func(d *window.Deps) { d.Ledger = ledger.New(db, e.Table, func() time.Time { return e.Now }, nil) })
	if _, err := e.Steps.Reattach(ctx, contract.ReattachInput{RequestID: "req-a", Mode: contract.ModeCompensate, Cause: "Throttled"}); err != nil {
		t.Fatal(err)
	}
	lifted.Wait()
	if liftErr != nil {
		t.Fatalf("the other lift: %v", liftErr)
	}
	e.AssertStatus(t, "req-a", ledger.Failed)
	e.AssertStatus(t, "req-b", ledger.Open)
	if e.rootAllowed(members[0], e.Now) {
		t.Error("the failed window's account is exempted: a lift wrote its exemption between the compensation's write and its record")
	}
	if !e.rootAllowed(members[1], e.Now) {
		t.Error("the other window did not open")
	}
}
