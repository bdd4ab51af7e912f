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

// Drift: when each drift was last announced, and the accounts the guardrail protects.

type driftItem struct {
	PK   string `dynamodbav:"pk"`
	Kind string `dynamodbav:"kind"`
	What string `dynamodbav:"what"`
	At   string `dynamodbav:"at"`
}

var driftKey = map[string]types.AttributeValue{contract.KeyAttribute: str("drift#announced")}

// DriftDue reports whether a drift should be announced: it is not the one last announced, or that
// was announced more than every ago.
func (s *Store) DriftDue(ctx context.Context, what string, every time.Duration) (bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: driftKey, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false, fmt.Errorf("read the last drift notification: %w", err)
	}
	if out.Item == nil {
		return true, nil
	}
	var it driftItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return true, nil
	}
	at, err := time.Parse(time.RFC3339Nano, it.At)
	return it.What != what || err != nil || s.now().Sub(at) >= every, nil
}

// MarkDriftAnnounced records the drift just announced.
func (s *Store) MarkDriftAnnounced(ctx context.Context, what string) error {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: marshal(driftItem{PK: "drift#announced", Kind: "drift", What: what, At: timeText(s.now())})})
	if err != nil {
		return fmt.Errorf("record the drift notification: %w", err)
	}
	return nil
}

// Protection is what the last drift scan of the whole organization found: the accounts the
// guardrail protects (it applied to them at a scan, or rootwindow knew them), those of them it
// found without the guardrail and without an open window, and when it ran. One item: a DynamoDB
// item holds 400 KB, about 25,000 account IDs.
type Protection struct {
	Accounts  []string  // protected: they stay watched until they leave the organization
	Drifted   []string  // found without the guardrail by the last scan
	ScannedAt time.Time // zero when no scan has run
}

type protectionItem struct {
	PK        string   `dynamodbav:"pk"`
	Kind      string   `dynamodbav:"kind"`
	Accounts  []string `dynamodbav:"accounts"`
	Drifted   []string `dynamodbav:"drifted"`
	ScannedAt string   `dynamodbav:"scannedAt"`
}

var protectionKey = map[string]types.AttributeValue{contract.KeyAttribute: str("drift#protected")}

// Protection reads what the last drift scan found (zero before the first).
func (s *Store) Protection(ctx context.Context) (Protection, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: protectionKey, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Protection{}, fmt.Errorf("read the protected accounts: %w", err)
	}
	if out.Item == nil {
		return Protection{}, nil
	}
	var it protectionItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return Protection{}, fmt.Errorf("the protected accounts' item is not whole: %w", err)
	}
	at, err := time.Parse(time.RFC3339Nano, it.ScannedAt)
	if err != nil {
		return Protection{}, fmt.Errorf("the protected accounts' item is not whole: scannedAt %q", it.ScannedAt)
	}
	return Protection{Accounts: it.Accounts, Drifted: it.Drifted, ScannedAt: at}, nil
}

// SaveProtection records what a drift scan found.
func (s *Store) SaveProtection(ctx context.Context, p Protection) error {
	it := protectionItem{PK: "drift#protected", Kind: "drift", Accounts: p.Accounts, Drifted: p.Drifted, ScannedAt: timeText(p.ScannedAt)}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: marshal(it)}); err != nil {
		return fmt.Errorf("record the protected accounts: %w", err)
	}
	return nil
}
