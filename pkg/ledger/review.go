package ledger

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// A set of request IDs kept in one item (a string set), so that the sweep reads it in one read:
// break-glass requests waiting for another administrator's review, from before the request is
// reserved until the review is recorded; windows whose report is due, from their end until the
// report is made.
type idSet struct {
	key        map[string]types.AttributeValue
	kind, what string
}

var (
	awaitingReview = idSet{map[string]types.AttributeValue{contract.KeyAttribute: str("reviews#break-glass")}, "reviews", "the requests awaiting review"}
	reportsDue     = idSet{map[string]types.AttributeValue{contract.KeyAttribute: str("reports#due")}, "reports", "the windows whose report is due"}
)

// ErrReviewed means the request was reviewed already, by someone else.
var ErrReviewed = errors.New("the request was reviewed already")

func (s *Store) addTo(ctx context.Context, set idSet, id string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: set.key,
		UpdateExpression:          aws.String("ADD ids :id SET #kind = :kind"),
		ExpressionAttributeNames:  map[string]string{"#kind": "kind"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberSS{Value: []string{id}}, ":kind": str(set.kind)},
	})
	if err != nil {
		return fmt.Errorf("add %s to %s: %w", id, set.what, err)
	}
	return nil
}

func (s *Store) membersOf(ctx context.Context, set idSet) ([]string, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: set.key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", set.what, err)
	}
	ids, _ := out.Item["ids"].(*types.AttributeValueMemberSS)
	if ids == nil {
		return nil, nil
	}
	list := append([]string(nil), ids.Value...)
	sort.Strings(list)
	return list, nil
}

func (s *Store) removeFrom(ctx context.Context, set idSet, id string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: set.key,
		UpdateExpression:          aws.String("DELETE ids :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberSS{Value: []string{id}}},
	})
	if err != nil {
		return fmt.Errorf("take %s off %s: %w", id, set.what, err)
	}
	return nil
}

// AwaitReview adds request id to the requests waiting for a review.
func (s *Store) AwaitReview(ctx context.Context, id string) error {
	return s.addTo(ctx, awaitingReview, id)
}

// AwaitingReview are the requests waiting for a review, sorted.
func (s *Store) AwaitingReview(ctx context.Context) ([]string, error) {
	return s.membersOf(ctx, awaitingReview)
}

// ReviewDone takes request id off the requests waiting for a review.
func (s *Store) ReviewDone(ctx context.Context, id string) error {
	return s.removeFrom(ctx, awaitingReview, id)
}

// ReportDue adds request id, a window that has ended, to those whose report is due.
func (s *Store) ReportDue(ctx context.Context, id string) error { return s.addTo(ctx, reportsDue, id) }

// ReportsDue are the windows whose report is due, sorted.
func (s *Store) ReportsDue(ctx context.Context) ([]string, error) {
	return s.membersOf(ctx, reportsDue)
}

// ReportDone takes request id off the windows whose report is due.
func (s *Store) ReportDone(ctx context.Context, id string) error {
	return s.removeFrom(ctx, reportsDue, id)
}

// SetReport records request id's window report, once: a report made already stays (ErrReported,
// with the record as it is).
func (s *Store) SetReport(ctx context.Context, id string, r contract.WindowReport) (Record, error) {
	av, err := attributevalue.Marshal(r)
	if err != nil {
		return Record{}, fmt.Errorf("encode the report of %s: %w", id, err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: requestKey(id),
		UpdateExpression:          aws.String("SET report = :r, updatedAt = :now"),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND attribute_not_exists(report)"),
		ExpressionAttributeNames:  map[string]string{"#pk": contract.KeyAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":r": av, ":now": timeAttr(s.now())},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		current, gerr := s.Get(ctx, id)
		if gerr != nil {
			return Record{}, gerr
		}
		return current, ErrReported
	}
	if err != nil {
		return Record{}, fmt.Errorf("record the report of %s: %w", id, err)
	}
	return decodeRecord(out.Attributes)
}

// ErrReported means the window's report was made already.
var ErrReported = errors.New("the window's report was made already")

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
