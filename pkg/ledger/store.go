package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
	pause "github.com/rootwindow/rootwindow/pkg/sleep"
)

// DynamoDBAPI lists the DynamoDB calls the ledger makes, with the SDK's signatures.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// The table's schema is contract's (contract.KeyAttribute, contract.KindAttribute, contract.CreatedAttribute, contract.ByCreatedIndex);
// these are the kinds of item in the index.
const (
	kindRequest = "request"
	kindLease   = "lease"
)

// Store is the ledger in one DynamoDB table.
type Store struct {
	db    DynamoDBAPI
	table string
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns the ledger kept in table, reading the time from now and waiting between its
// bounded retries (unprocessed keys, a lock held) with sleep (nil: the wall clock's).
func New(db DynamoDBAPI, table string, now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) *Store {
	if sleep == nil {
		sleep = pause.For
	}
	return &Store{db: db, table: table, now: now, sleep: sleep}
}

func requestKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{contract.KeyAttribute: str("request#" + id)}
}

func leaseKey(account string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{contract.KeyAttribute: str("lease#" + account)}
}

// batchGet reads the items keyed prefix+id for ids, consistently, a hundred at a time, asking
// again (a bounded number of times, honouring ctx) for keys DynamoDB leaves unprocessed, and
// hands each item found to each. what names the items in errors.
func (s *Store) batchGet(ctx context.Context, what, prefix string, ids []string, each func(map[string]types.AttributeValue) error) error {
	for chunk := range slices.Chunk(ids, 100) {
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, id := range chunk {
			keys[i] = map[string]types.AttributeValue{contract.KeyAttribute: str(prefix + id)}
		}
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 0 {
				if err := s.sleep(ctx, time.Duration(attempt*attempt)*20*time.Millisecond); err != nil {
					return fmt.Errorf("read %s: %w", what, err)
				}
			}
			if attempt > 8 {
				return fmt.Errorf("read %s: DynamoDB kept keys unprocessed", what)
			}
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return fmt.Errorf("read %s: %w", what, err)
			}
			for _, item := range out.Responses[s.table] {
				if err := each(item); err != nil {
					return err
				}
			}
			req = out.UnprocessedKeys
		}
	}
	return nil
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}
