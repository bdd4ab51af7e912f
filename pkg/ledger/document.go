package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// The guardrail's document: its pinned hash (detach), its pinned base and the hash rootwindow last
// wrote (exempt), and the lock its writers take.

type pinItem struct {
	PK     string `dynamodbav:"pk"`
	Kind   string `dynamodbav:"kind"`
	SHA256 string `dynamodbav:"sha256"`
	Since  string `dynamodbav:"since"`
}

// PinGuardrail records sha256 as the guardrail's pinned document unless one is pinned already,
// and returns the pinned one. Only an operator re-pins (deleting the item with the break-glass
// role, or setting guardrailContentSha256).
func (s *Store) PinGuardrail(ctx context.Context, sha256 string) (string, error) {
	key := map[string]types.AttributeValue{contract.KeyAttribute: str("pin#guardrail")}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: marshal(pinItem{PK: "pin#guardrail", Kind: "pin", SHA256: sha256, Since: timeText(s.now())}),
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": contract.KeyAttribute},
	})
	if err == nil {
		return sha256, nil
	}
	if !isConditionFailed(err) {
		return "", fmt.Errorf("pin the guardrail: %w", err)
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("read the guardrail's pin: %w", err)
	}
	var pin pinItem
	if err := attributevalue.UnmarshalMap(out.Item, &pin); err != nil || pin.SHA256 == "" {
		return "", fmt.Errorf("the guardrail's pin in the ledger is not whole")
	}
	return pin.SHA256, nil
}

// Base is the guardrail's document as the exempt strategy renders from it: the document with no
// window open, as rootwindow first found it (or as an operator pinned it), its SHA-256 as
// found, and the SHA-256 of the canonical document rootwindow last wrote.
type Base struct {
	Content string
	SHA256  string
	Written string
}

type baseItem struct {
	PK      string `dynamodbav:"pk"`
	Kind    string `dynamodbav:"kind"`
	Content string `dynamodbav:"content"`
	SHA256  string `dynamodbav:"sha256"`
	Written string `dynamodbav:"written"`
	Since   string `dynamodbav:"since"`
}

var baseKey = map[string]types.AttributeValue{contract.KeyAttribute: str("base#guardrail")}

// GuardrailBase reads the pinned base document; found is false when none is pinned yet.
func (s *Store) GuardrailBase(ctx context.Context) (b Base, found bool, err error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: baseKey, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Base{}, false, fmt.Errorf("read the guardrail's base document: %w", err)
	}
	if out.Item == nil {
		return Base{}, false, nil
	}
	var it baseItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil || it.Content == "" || it.SHA256 == "" || it.Written == "" {
		return Base{}, false, fmt.Errorf("the guardrail's base document in the ledger is not whole")
	}
	return Base{Content: it.Content, SHA256: it.SHA256, Written: it.Written}, true, nil
}

// PinBase records b as the guardrail's base document unless one is pinned already, and returns
// the pinned one.
func (s *Store) PinBase(ctx context.Context, b Base) (Base, error) {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: marshal(baseItem{PK: "base#guardrail", Kind: "pin", Content: b.Content, SHA256: b.SHA256, Written: b.Written, Since: timeText(s.now())}),
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": contract.KeyAttribute},
	})
	if err == nil {
		return b, nil
	}
	if !isConditionFailed(err) {
		return Base{}, fmt.Errorf("pin the guardrail's base document: %w", err)
	}
	pinned, _, err := s.GuardrailBase(ctx)
	return pinned, err
}

// MarkWritten records the SHA-256 of the canonical document rootwindow just wrote.
func (s *Store) MarkWritten(ctx context.Context, sha string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: baseKey,
		UpdateExpression:          aws.String("SET written = :w"),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  map[string]string{"#pk": contract.KeyAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":w": str(sha)},
	})
	if err != nil {
		return fmt.Errorf("record the guardrail's document as written: %w", err)
	}
	return nil
}

type lockItem struct {
	PK     string `dynamodbav:"pk"`
	Kind   string `dynamodbav:"kind"`
	Holder string `dynamodbav:"holder"`
	Until  string `dynamodbav:"until"`
}

// ErrLocked is a lock still held by someone else after the wait.
var ErrLocked = errors.New("locked by another writer")

// Lock takes the named lock for holder for at most ttl, waiting up to patience for another holder to
// release it; a lock whose holder's ttl has passed is taken over. It returns the release.
// Organizations' UpdatePolicy has no compare-and-swap, so writers of one document take turns.
func (s *Store) Lock(ctx context.Context, name, holder string, ttl, patience time.Duration) (func(context.Context) error, error) {
	key := map[string]types.AttributeValue{contract.KeyAttribute: str("lock#" + name)}
	var waited time.Duration // real time, whatever the store's clock says
	for delay := 20 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: &s.table, Item: marshal(lockItem{PK: "lock#" + name, Kind: "lock", Holder: holder, Until: timeText(s.now().Add(ttl))}),
			ConditionExpression:       aws.String("attribute_not_exists(#pk) OR holder = :h"),
			ExpressionAttributeNames:  map[string]string{"#pk": contract.KeyAttribute},
			ExpressionAttributeValues: map[string]types.AttributeValue{":h": str(holder)},
		})
		if err == nil {
			return func(ctx context.Context) error {
				_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
					TableName: &s.table, Key: key,
					ConditionExpression:       aws.String("holder = :h"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":h": str(holder)},
				})
				if err != nil && !isConditionFailed(err) {
					return fmt.Errorf("release lock %s: %w", name, err)
				}
				return nil
			}, nil
		}
		if !isConditionFailed(err) {
			return nil, fmt.Errorf("take lock %s: %w", name, err)
		}
		out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return nil, fmt.Errorf("read lock %s: %w", name, err)
		}
		var it lockItem
		if out.Item != nil && attributevalue.UnmarshalMap(out.Item, &it) == nil {
			if until, perr := time.Parse(time.RFC3339, it.Until); perr == nil && s.now().After(until) {
				// Its holder is gone: take it over, unless someone else did first.
				_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
					TableName: &s.table, Key: key,
					ConditionExpression:       aws.String("holder = :h AND #until = :u"),
					ExpressionAttributeNames:  map[string]string{"#until": "until"},
					ExpressionAttributeValues: map[string]types.AttributeValue{":h": str(it.Holder), ":u": str(it.Until)},
				})
				if err != nil && !isConditionFailed(err) {
					return nil, fmt.Errorf("take over lock %s: %w", name, err)
				}
				continue
			}
		}
		if waited >= patience {
			return nil, fmt.Errorf("lock %s (held by %s): %w", name, it.Holder, ErrLocked)
		}
		if err := s.sleep(ctx, delay); err != nil {
			return nil, err
		}
		waited += delay
	}
}
