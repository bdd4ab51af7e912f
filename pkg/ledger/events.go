package ledger

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// Event items: which request an EventBridge event became, so that a second delivery is no second request.

// ClaimEvent ties an EventBridge event to the request it started, so that a second delivery of
// the same event is recognised. It returns the request that holds the event: requestID when the
// claim is new or already ours, another request ID for a duplicate delivery.
func (s *Store) ClaimEvent(ctx context.Context, eventID, requestID string) (string, error) {
	key := map[string]types.AttributeValue{contract.KeyAttribute: str("event#" + eventID)}
	item := marshal(eventItem{PK: "event#" + eventID, Kind: "event", RequestID: requestID, Since: timeText(s.now())})
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR requestId = :rid"),
		ExpressionAttributeNames:  map[string]string{"#pk": contract.KeyAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":rid": str(requestID)},
	})
	if err == nil {
		return requestID, nil
	}
	if !isConditionFailed(err) {
		return "", fmt.Errorf("claim event %s: %w", eventID, err)
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("read claim of event %s: %w", eventID, err)
	}
	var claim eventItem
	if err := attributevalue.UnmarshalMap(out.Item, &claim); err != nil || claim.RequestID == "" {
		return "", fmt.Errorf("ledger item for event %s holds no request", eventID)
	}
	return claim.RequestID, nil
}

type eventItem struct {
	PK        string `dynamodbav:"pk"`
	Kind      string `dynamodbav:"kind"`
	RequestID string `dynamodbav:"requestId"`
	Since     string `dynamodbav:"since"`
}
