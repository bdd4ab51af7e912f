package ledger

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// Root activity outside windows: each event found is kept once (its CloudTrail event ID is the
// key), listed in the index by when it was found, and the time the last scan ran.

const kindRootOutside = "rootOutsideWindow"

type rootOutsideItem struct {
	PK        string             `dynamodbav:"pk"`
	Kind      string             `dynamodbav:"kind"`
	CreatedAt string             `dynamodbav:"createdAt"` // when it was found: the index lists them by it
	Event     contract.RootEvent `dynamodbav:"event"`
}

// KeepRootOutside records e, root activity found outside any window, unless it is kept already:
// first says whether this call kept it (so it is announced once).
func (s *Store) KeepRootOutside(ctx context.Context, e contract.RootEvent) (first bool, err error) {
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                &s.table,
		Item:                     marshal(rootOutsideItem{PK: "rootoutside#" + e.EventID, Kind: kindRootOutside, CreatedAt: s.now().UTC().Format(sortableTime), Event: e}),
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": contract.KeyAttribute},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("keep root activity %s: %w", e.EventID, err)
	}
	return true, nil
}

// RootOutsideKept reports which of the events, by ID, are kept already.
func (s *Store) RootOutsideKept(ctx context.Context, eventIDs []string) (map[string]bool, error) {
	kept := map[string]bool{}
	ids := slices.Compact(slices.Sorted(slices.Values(eventIDs))) // a batch read refuses a key twice
	err := s.batchGet(ctx, "root activity kept", "rootoutside#", ids, func(item map[string]types.AttributeValue) error {
		var it rootOutsideItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return fmt.Errorf("ledger item %s is not root activity kept: %w", keyOf(item), err)
		}
		kept[strings.TrimPrefix(it.PK, "rootoutside#")] = true
		return nil
	})
	return kept, err
}

type scanItem struct {
	PK   string `dynamodbav:"pk"`
	Kind string `dynamodbav:"kind"`
	At   string `dynamodbav:"at"`
}

var rootScanKey = map[string]types.AttributeValue{contract.KeyAttribute: str("scan#root-activity")}

// RootScannedAt is when the last scan for root activity outside windows ran (zero before the
// first).
func (s *Store) RootScannedAt(ctx context.Context) (time.Time, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: rootScanKey, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return time.Time{}, fmt.Errorf("read when root activity was last scanned: %w", err)
	}
	var it scanItem
	if out.Item == nil || attributevalue.UnmarshalMap(out.Item, &it) != nil {
		return time.Time{}, nil
	}
	at, _ := time.Parse(time.RFC3339Nano, it.At)
	return at, nil
}

// MarkRootScanned records that a scan for root activity outside windows ran now.
func (s *Store) MarkRootScanned(ctx context.Context) error {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: marshal(scanItem{PK: "scan#root-activity", Kind: "scan", At: timeText(s.now())})})
	if err != nil {
		return fmt.Errorf("record the root activity scan: %w", err)
	}
	return nil
}

// CreatedBetween lists the requests created from from to to, inclusive, oldest first: every
// window that could have been open at a time is among those created within a booking horizon and
// a window's longest hours before it.
func (s *Store) CreatedBetween(ctx context.Context, from, to time.Time) ([]Record, error) {
	in := &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(contract.ByCreatedIndex),
		KeyConditionExpression:   aws.String("#kind = :kind AND #created BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{"#kind": contract.KindAttribute, "#created": contract.CreatedAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":kind": str(kindRequest), ":from": str(from.UTC().Format(sortableTime)), ":to": str(to.UTC().Format(sortableTime)),
		},
	}
	recs, err := queryAll(ctx, s, in, decodeRecord)
	if err != nil {
		return nil, fmt.Errorf("list the requests created from %s to %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	return recs, nil
}
