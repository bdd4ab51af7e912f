package ledger

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/request"
)

func sampleRecord() Record {
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	return Record{
		RequestID: "req-1", Fields: request.Fields{Requester: "arn:aws:sts::999999999999:assumed-role/Admin/alice", Reason: "reset root password",
			AccountIDs: []string{"111111111111", "222222222222"}, Hours: 2, StartAt: t0},
		Origin: contract.Origin{Channel: contract.ChannelAPI, Caller: "arn:aws:sts::999999999999:assumed-role/Admin/alice"},
		Status: Scheduled, CreatedAt: t0.Add(-time.Minute),
		History: []Transition{{Status: Scheduled, At: t0.Add(-time.Minute).Add(123 * time.Millisecond), Actor: "rootwindow:api", Note: "validated"}},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	rec := sampleRecord()
	got, err := decodeRecord(encodeRecord(rec))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rec) {
		t.Errorf("got  %+v\nwant %+v", got, rec)
	}
	item := encodeRecord(rec)
	if _, isList := item["accountIds"].(*types.AttributeValueMemberL); !isList {
		t.Errorf("accountIds is stored as %T; items already in tables hold a list", item["accountIds"])
	}
	if _, isNumber := item["hours"].(*types.AttributeValueMemberN); !isNumber {
		t.Errorf("hours is stored as %T", item["hours"])
	}
	if c := item[contract.CreatedAttribute].(*types.AttributeValueMemberS).Value; len(c) != len("2006-01-02T15:04:05.000000000Z") {
		t.Errorf("createdAt %q is not fixed-width, so the index would not sort it", c)
	}
}

// An item that is not a whole record (planted by hand, or of another schema) is an error, never
// a record of zero values that a step would act on.
func TestItemsThatDoNotDecode(t *testing.T) {
	tests := []struct {
		name string
		edit func(map[string]types.AttributeValue)
		want string
	}{
		{"hours as text", func(m map[string]types.AttributeValue) { m["hours"] = str("2") }, "is not a request"},
		{"status unknown", func(m map[string]types.AttributeValue) { m["status"] = str("LIFTED") }, `status "LIFTED" is not a status`},
		{"no status", func(m map[string]types.AttributeValue) { delete(m, "status") }, `status "" is not a status`},
		{"no accounts", func(m map[string]types.AttributeValue) { delete(m, "accountIds") }, "needs accounts and hours"},
		{"no history", func(m map[string]types.AttributeValue) { delete(m, "history") }, "no history"},
		{"key of another request", func(m map[string]types.AttributeValue) { m[contract.KeyAttribute] = str("request#other") }, "do not agree"},
		{"a lease under a request key", func(m map[string]types.AttributeValue) { m[contract.KindAttribute] = str(kindLease) }, "do not agree"},
		{"bad time", func(m map[string]types.AttributeValue) { m["restoreAt"] = str("tomorrow") }, "restoreAt"},
		{"no createdAt", func(m map[string]types.AttributeValue) { delete(m, contract.CreatedAttribute) }, "createdAt is missing"},
		{"history entry without time", func(m map[string]types.AttributeValue) {
			m["history"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"status": str("OPEN")}}}}
		}, "history[0] is not a transition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			item := encodeRecord(sampleRecord())
			tt.edit(item)
			rec, err := decodeRecord(item)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %+v, %v; want an error with %q", rec, err, tt.want)
			}
			if !strings.Contains(err.Error(), `"request#`) {
				t.Errorf("the error does not name the item: %v", err)
			}
		})
	}
}

func TestLeaseItems(t *testing.T) {
	until := time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)
	item := encodeLease(Lease{AccountID: "111111111111", RequestID: "req-1", Until: until}, until.Add(-2*time.Hour))
	l, err := decodeLease(item)
	if err != nil || l != (Lease{AccountID: "111111111111", RequestID: "req-1", Until: until}) {
		t.Fatalf("%+v, %v", l, err)
	}
	delete(item, "until")
	if _, err := decodeLease(item); err == nil || !strings.Contains(err.Error(), "until is missing") {
		t.Errorf("lease without an end: %v", err)
	}
	item = encodeLease(Lease{AccountID: "111111111111", RequestID: "", Until: until}, until)
	if _, err := decodeLease(item); err == nil {
		t.Error("a lease held by no request decoded")
	}
}

// unprocessed is a DynamoDB that never gets round to a batch read.
type unprocessed struct{ DynamoDBAPI }

func (unprocessed) BatchGetItem(_ context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	return &dynamodb.BatchGetItemOutput{UnprocessedKeys: in.RequestItems}, nil
}

func TestLeasesHonourTheirContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New(unprocessed{}, "ledger", time.Now, nil).Leases(ctx, []string{"111111111111"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled read of unprocessed keys returned %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = New(unprocessed{}, "ledger", time.Now, nil).Leases(ctx, []string{"111111111111"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a read past its deadline returned %v", err)
	}
}

// BenchmarkRecordCodec encodes and decodes one request record of two accounts and one history
// entry, as every step does a few times (BENCHMARKS.md).
func BenchmarkRecordCodec(b *testing.B) {
	rec := sampleRecord()
	for b.Loop() {
		if _, err := decodeRecord(encodeRecord(rec)); err != nil {
			b.Fatal(err)
		}
	}
}
