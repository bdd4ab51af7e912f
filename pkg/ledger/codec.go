package ledger

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// The ledger writes its items by hand rather than by reflection: the attribute names are the
// table's schema, and reading them here keeps that schema in one place.

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// timeAttr keeps sub-second precision so that a history orders exactly; whole seconds (the
// window's own times) print as plain RFC 3339.
func timeAttr(t time.Time) types.AttributeValue {
	return str(t.UTC().Format(time.RFC3339Nano))
}

// sortableTime has a fixed width, so that createdAt sorts as text in the listing index.
const sortableTime = "2006-01-02T15:04:05.000000000Z07:00"

func strList(ss []string) types.AttributeValue {
	l := make([]types.AttributeValue, len(ss))
	for i, s := range ss {
		l[i] = str(s)
	}
	return &types.AttributeValueMemberL{Value: l}
}

func encodeTransition(t Transition) types.AttributeValue {
	m := map[string]types.AttributeValue{"status": str(string(t.Status)), "at": timeAttr(t.At), "actor": str(t.Actor)}
	if t.Note != "" {
		m["note"] = str(t.Note)
	}
	return &types.AttributeValueMemberM{Value: m}
}

func encodeRecord(r Record) map[string]types.AttributeValue {
	history := make([]types.AttributeValue, len(r.History))
	for i, h := range r.History {
		history[i] = encodeTransition(h)
	}
	item := map[string]types.AttributeValue{
		contract.KeyAttribute: str("request#" + r.RequestID), contract.KindAttribute: str(kindRequest),
		"requestId": str(r.RequestID), "requester": str(r.Requester), "reason": str(r.Reason),
		"accountIds": strList(r.AccountIDs), "hours": &types.AttributeValueMemberN{Value: strconv.Itoa(r.Hours)},
		"status": str(string(r.Status)), contract.CreatedAttribute: str(r.CreatedAt.UTC().Format(sortableTime)), "updatedAt": timeAttr(r.CreatedAt),
		"origin":  encodeOrigin(r.Origin),
		"history": &types.AttributeValueMemberL{Value: history},
	}
	if !r.StartAt.IsZero() {
		item["startAt"] = timeAttr(r.StartAt)
	}
	if len(r.Problems) > 0 {
		item["problems"] = strList(r.Problems)
	}
	return item
}

func encodeOrigin(o contract.Origin) types.AttributeValue {
	m := map[string]types.AttributeValue{"channel": str(o.Channel)}
	for k, v := range map[string]string{"eventId": o.EventID, "sourceAccount": o.SourceAccount, "caller": o.Caller} {
		if v != "" {
			m[k] = str(v)
		}
	}
	return &types.AttributeValueMemberM{Value: m}
}

func getS(item map[string]types.AttributeValue, k string) string {
	if v, ok := item[k].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getTime(item map[string]types.AttributeValue, k string) (time.Time, error) {
	s := getS(item, k)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("attribute %s: %w", k, err)
	}
	return t, nil
}

func getStrings(item map[string]types.AttributeValue, k string) []string {
	l, _ := item[k].(*types.AttributeValueMemberL)
	if l == nil {
		return nil
	}
	out := make([]string, 0, len(l.Value))
	for _, v := range l.Value {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			out = append(out, s.Value)
		}
	}
	return out
}

func decodeRecord(item map[string]types.AttributeValue) (Record, error) {
	r := Record{
		RequestID: getS(item, "requestId"), Requester: getS(item, "requester"), Reason: getS(item, "reason"),
		AccountIDs: getStrings(item, "accountIds"), Status: Status(getS(item, "status")),
		Problems: getStrings(item, "problems"), LastError: getS(item, "lastError"),
	}
	if n, ok := item["hours"].(*types.AttributeValueMemberN); ok {
		r.Hours, _ = strconv.Atoi(n.Value)
	}
	if o, ok := item["origin"].(*types.AttributeValueMemberM); ok {
		r.Origin = contract.Origin{
			Channel: getS(o.Value, "channel"), EventID: getS(o.Value, "eventId"),
			SourceAccount: getS(o.Value, "sourceAccount"), Caller: getS(o.Value, "caller"),
		}
	}
	if ss, ok := item["notified"].(*types.AttributeValueMemberSS); ok {
		r.Notified = ss.Value
	}
	var err error
	for k, dst := range map[string]*time.Time{"startAt": &r.StartAt, "createdAt": &r.CreatedAt, "openedAt": &r.OpenedAt, "restoreAt": &r.RestoreAt, "closedAt": &r.ClosedAt, "restoreFailedAt": &r.RestoreFailedAt} {
		if *dst, err = getTime(item, k); err != nil {
			return Record{}, fmt.Errorf("request %s: %w", r.RequestID, err)
		}
	}
	if l, ok := item["history"].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			m, ok := v.(*types.AttributeValueMemberM)
			if !ok {
				continue
			}
			at, err := getTime(m.Value, "at")
			if err != nil {
				return Record{}, fmt.Errorf("request %s history: %w", r.RequestID, err)
			}
			r.History = append(r.History, Transition{Status: Status(getS(m.Value, "status")), At: at, Actor: getS(m.Value, "actor"), Note: getS(m.Value, "note")})
		}
	}
	return r, nil
}

// TableCreator is the DynamoDB call CreateTable makes.
type TableCreator interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
}

// CreateTable creates a ledger table with the schema the CDK stack deploys, for local runs and tests.
func CreateTable(ctx context.Context, db TableCreator, name string) error {
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(contract.KeyAttribute), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(contract.KindAttribute), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(contract.CreatedAttribute), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema:   []types.KeySchemaElement{{AttributeName: aws.String(contract.KeyAttribute), KeyType: types.KeyTypeHash}},
		BillingMode: types.BillingModePayPerRequest,
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(contract.ByCreatedIndex),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(contract.KindAttribute), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(contract.CreatedAttribute), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	})
	if err != nil {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	return nil
}
