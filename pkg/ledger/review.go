package ledger

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// Break-glass requests wait for another administrator's review: their IDs are kept in one item
// (a string set) from before the request is reserved until the review is recorded, so that the
// sweep counts them in one read.
var reviewsKey = map[string]types.AttributeValue{contract.KeyAttribute: str("reviews#break-glass")}

// ErrReviewed means the request was reviewed already, by someone else.
var ErrReviewed = errors.New("the request was reviewed already")

// AwaitReview adds request id to the requests waiting for a review.
func (s *Store) AwaitReview(ctx context.Context, id string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: reviewsKey,
		UpdateExpression:          aws.String("ADD ids :id SET #kind = :kind"),
		ExpressionAttributeNames:  map[string]string{"#kind": "kind"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberSS{Value: []string{id}}, ":kind": str("reviews")},
	})
	if err != nil {
		return fmt.Errorf("note that %s awaits a review: %w", id, err)
	}
	return nil
}

// AwaitingReview are the requests waiting for a review, sorted.
func (s *Store) AwaitingReview(ctx context.Context) ([]string, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: reviewsKey, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("read the requests awaiting review: %w", err)
	}
	ids, _ := out.Item["ids"].(*types.AttributeValueMemberSS)
	if ids == nil {
		return nil, nil
	}
	list := append([]string(nil), ids.Value...)
	sort.Strings(list)
	return list, nil
}

// ReviewDone takes request id off the requests waiting for a review.
func (s *Store) ReviewDone(ctx context.Context, id string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: reviewsKey,
		UpdateExpression:          aws.String("DELETE ids :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberSS{Value: []string{id}}},
	})
	if err != nil {
		return fmt.Errorf("take %s off the requests awaiting review: %w", id, err)
	}
	return nil
}

// Review records by's review of break-glass request id, once: by is not the requester (the
// condition says so too), and a second review is ErrReviewed (the same reviewer again gets the
// record as it is).
func (s *Store) Review(ctx context.Context, id, by, note string) (Record, error) {
	now := s.now().UTC()
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: requestKey(id),
		UpdateExpression:         aws.String("SET reviewedBy = :by, reviewedAt = :now, reviewNote = :note, updatedAt = :now"),
		ConditionExpression:      aws.String("attribute_exists(#pk) AND breakGlass = :true AND requester <> :by AND attribute_not_exists(reviewedBy)"),
		ExpressionAttributeNames: map[string]string{"#pk": contract.KeyAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":by": str(by), ":now": timeAttr(now), ":note": str(note), ":true": &types.AttributeValueMemberBOOL{Value: true},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		current, gerr := s.Get(ctx, id)
		switch {
		case gerr != nil:
			return Record{}, gerr
		case current.ReviewedBy == by:
			return current, nil
		case current.ReviewedBy != "":
			return current, ErrReviewed
		}
		return current, fmt.Errorf("review %s: not a break-glass request, or its requester", id)
	}
	if err != nil {
		return Record{}, fmt.Errorf("record the review of %s: %w", id, err)
	}
	return decodeRecord(out.Attributes)
}
