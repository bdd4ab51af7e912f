package dynamofake_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootwindow/rootwindow/internal/dynamofake"
	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/ledger"
)

// The fake refuses what DynamoDB refuses: an ExclusiveStartKey whose values are over DynamoDB's
// key sizes (partition key 2048 bytes, sort key 1024) is a ValidationException, not a page.
func TestQueryRefusesAnOversizedStartKey(t *testing.T) {
	ctx := context.Background()
	db := dynamofake.New()
	if err := ledger.CreateTable(ctx, db, "t"); err != nil {
		t.Fatal(err)
	}
	query := func(pk, created string) error {
		_, err := db.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String("t"), IndexName: aws.String(contract.ByCreatedIndex),
			KeyConditionExpression:    aws.String("#kind = :kind"),
			ExpressionAttributeNames:  map[string]string{"#kind": contract.KindAttribute},
			ExpressionAttributeValues: map[string]types.AttributeValue{":kind": &types.AttributeValueMemberS{Value: "request"}},
			ExclusiveStartKey: map[string]types.AttributeValue{
				contract.KeyAttribute: &types.AttributeValueMemberS{Value: pk}, contract.KindAttribute: &types.AttributeValueMemberS{Value: "request"},
				contract.CreatedAttribute: &types.AttributeValueMemberS{Value: created},
			},
		})
		return err
	}
	if err := query("request#a", "2026-11-23T10:00:00.000000000Z"); err != nil {
		t.Fatalf("a start key of ordinary size: %v", err)
	}
	for name, args := range map[string][2]string{
		"partition key": {"request#" + strings.Repeat("a", 2100), "2026"},
		"sort key":      {"request#a", strings.Repeat("2", 1100)},
	} {
		if err := query(args[0], args[1]); err == nil || !strings.Contains(err.Error(), "ValidationException") {
			t.Errorf("an oversized %s: %v", name, err)
		}
	}
}

// A key condition on the sort key with BETWEEN holds for both ends and what lies between, as
// DynamoDB's does, and for nothing outside.
func TestQueryBetween(t *testing.T) {
	ctx := context.Background()
	db := dynamofake.New()
	if err := ledger.CreateTable(ctx, db, "t"); err != nil {
		t.Fatal(err)
	}
	for i, created := range []string{"2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"} {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: map[string]types.AttributeValue{
			contract.KeyAttribute: &types.AttributeValueMemberS{Value: "request#" + string(rune('a'+i))}, contract.KindAttribute: &types.AttributeValueMemberS{Value: "request"},
			contract.CreatedAttribute: &types.AttributeValueMemberS{Value: created},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String("t"), IndexName: aws.String(contract.ByCreatedIndex),
		KeyConditionExpression:   aws.String("#kind = :kind AND #created BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{"#kind": contract.KindAttribute, "#created": contract.CreatedAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":kind": &types.AttributeValueMemberS{Value: "request"},
			":from": &types.AttributeValueMemberS{Value: "2026-01-02"}, ":to": &types.AttributeValueMemberS{Value: "2026-01-03"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range out.Items {
		got = append(got, it[contract.KeyAttribute].(*types.AttributeValueMemberS).Value)
	}
	if strings.Join(got, " ") != "request#b request#c" {
		t.Errorf("between: %v", got)
	}
}
