package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// Lease items: one per account a scheduled or open window holds; and when each account's last
// window ended (the cooldown).

func (s *Store) takeLease(ctx context.Context, account, requestID string, until time.Time) (*Conflict, error) {
	for range 3 { // a holder releasing between our write and our read makes us try again
		_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 &s.table,
			Item:                      encodeLease(Lease{AccountID: account, RequestID: requestID, Until: until}, s.now()),
			ConditionExpression:       aws.String("attribute_not_exists(#pk) OR requestId = :rid"),
			ExpressionAttributeNames:  map[string]string{"#pk": contract.KeyAttribute},
			ExpressionAttributeValues: map[string]types.AttributeValue{":rid": str(requestID)},
		})
		if err == nil {
			return nil, nil
		}
		if !isConditionFailed(err) {
			return nil, fmt.Errorf("take lease on %s: %w", account, err)
		}
		leases, err := s.Leases(ctx, []string{account})
		if err != nil {
			return nil, err
		}
		if l, ok := leases[account]; ok {
			return &Conflict{AccountID: account, RequestID: l.RequestID, Until: l.Until}, nil
		}
	}
	return nil, fmt.Errorf("take lease on %s: the lease kept changing hands", account)
}

// Leases reads the leases held on accounts; accounts without one are absent from the map.
func (s *Store) Leases(ctx context.Context, accounts []string) (map[string]Lease, error) {
	leases := map[string]Lease{}
	err := s.batchGet(ctx, "leases", "lease#", accounts, func(item map[string]types.AttributeValue) error {
		l, err := decodeLease(item)
		if err == nil {
			leases[l.AccountID] = l
		}
		return err
	})
	return leases, err
}

// AllLeases lists every lease held now, oldest first.
func (s *Store) AllLeases(ctx context.Context) ([]Lease, error) {
	in := &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(contract.ByCreatedIndex),
		KeyConditionExpression:    aws.String("#kind = :kind"),
		ExpressionAttributeNames:  map[string]string{"#kind": contract.KindAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":kind": str(kindLease)},
	}
	leases, err := queryAll(ctx, s, in, decodeLease)
	if err != nil {
		return nil, fmt.Errorf("list leases: %w", err)
	}
	return leases, nil
}

// ExtendLeases sets the end of the leases a request holds (once the window's real end is known).
func (s *Store) ExtendLeases(ctx context.Context, requestID string, accounts []string, until time.Time) error {
	for _, account := range accounts {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: leaseKey(account),
			UpdateExpression:          aws.String("SET #until = :until"),
			ConditionExpression:       aws.String("requestId = :rid"),
			ExpressionAttributeNames:  map[string]string{"#until": "until"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":rid": str(requestID), ":until": timeAttr(until)},
		})
		if err != nil && !isConditionFailed(err) {
			return fmt.Errorf("extend lease on %s: %w", account, err)
		}
	}
	return nil
}

// Release drops the leases a request holds on accounts; leases held by others are left alone.
func (s *Store) Release(ctx context.Context, requestID string, accounts []string) error {
	for _, account := range accounts {
		_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: &s.table, Key: leaseKey(account),
			ConditionExpression:       aws.String("requestId = :rid"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":rid": str(requestID)},
		})
		if err != nil && !isConditionFailed(err) {
			return fmt.Errorf("release lease on %s: %w", account, err)
		}
	}
	return nil
}

type endedItem struct {
	PK        string `dynamodbav:"pk"`
	Kind      string `dynamodbav:"kind"`
	AccountID string `dynamodbav:"accountId"`
	RequestID string `dynamodbav:"requestId"`
	At        string `dynamodbav:"at"`
}

// MarkEnded records that a window of requestID on accounts ended at at (for the cooldown).
func (s *Store) MarkEnded(ctx context.Context, requestID string, accounts []string, at time.Time) error {
	for _, a := range accounts {
		_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: &s.table, Item: marshal(endedItem{PK: "ended#" + a, Kind: "ended", AccountID: a, RequestID: requestID, At: timeText(at)}),
		})
		if err != nil {
			return fmt.Errorf("record the end of the window on %s: %w", a, err)
		}
	}
	return nil
}

// Ended reads when the last window on each of accounts ended; accounts that never had one are
// absent.
func (s *Store) Ended(ctx context.Context, accounts []string) (map[string]time.Time, error) {
	ended := map[string]time.Time{}
	err := s.batchGet(ctx, "window ends", "ended#", accounts, func(item map[string]types.AttributeValue) error {
		var it endedItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return fmt.Errorf("ledger item %s is not a window's end: %w", keyOf(item), err)
		}
		at, err := time.Parse(time.RFC3339, it.At)
		if err != nil || it.AccountID == "" {
			return fmt.Errorf("ledger item %s is not a whole window's end", keyOf(item))
		}
		ended[it.AccountID] = at
		return nil
	})
	return ended, err
}

// queryAll reads every page of a query, decoding each item.
func queryAll[T any](ctx context.Context, s *Store, in *dynamodb.QueryInput, decode func(map[string]types.AttributeValue) (T, error)) ([]T, error) {
	var all []T
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, item := range out.Items {
			v, err := decode(item)
			if err != nil {
				return nil, err
			}
			all = append(all, v)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return all, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
