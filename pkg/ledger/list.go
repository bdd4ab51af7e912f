package ledger

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
)

// Listing requests, newest first, a page at a time.

// Filter narrows a listing; zero fields match everything.
type Filter struct {
	AccountID string
	Status    Status
}

// ErrBadPageToken means a listing's page token was not one the ledger gave.
var ErrBadPageToken = errors.New("not a page token from an earlier answer")

// List returns requests newest first, up to limit of them matching filter, and a token for the
// next page ("" when there is none). It reads the index of requests by creation time; the filter
// applies within each page read, so a page can hold fewer than limit records and still have a
// next one.
func (s *Store) List(ctx context.Context, f Filter, limit int, token string) ([]Record, string, error) {
	start, err := decodePageToken(token)
	if err != nil {
		return nil, "", err
	}
	names := map[string]string{"#kind": contract.KindAttribute}
	values := map[string]types.AttributeValue{":kind": str(kindRequest)}
	var conds []string
	if f.AccountID != "" {
		conds = append(conds, "contains(accountIds, :account)")
		values[":account"] = str(f.AccountID)
	}
	if f.Status != "" {
		conds = append(conds, "#status = :status")
		names["#status"] = "status"
		values[":status"] = str(string(f.Status))
	}
	in := &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(contract.ByCreatedIndex),
		KeyConditionExpression:    aws.String("#kind = :kind"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
		ExclusiveStartKey:         start,
	}
	if len(conds) > 0 {
		in.FilterExpression = aws.String(strings.Join(conds, " AND "))
	}
	var recs []Record
	// A filtered page may come back short; read on, a bounded number of pages, to fill it.
	for range 10 {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("list requests: %w", err)
		}
		for _, item := range out.Items {
			rec, err := decodeRecord(item)
			if err != nil {
				return nil, "", err
			}
			recs = append(recs, rec)
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
		if len(out.LastEvaluatedKey) == 0 || len(recs) >= limit {
			break
		}
		in.Limit = aws.Int32(int32(limit - len(recs)))
	}
	return recs, encodePageToken(in.ExclusiveStartKey), nil
}

// A page token is the index key to start after, as JSON of its string attributes in base64url.
func encodePageToken(key map[string]types.AttributeValue) string {
	if len(key) == 0 {
		return ""
	}
	var m map[string]string
	if err := attributevalue.UnmarshalMap(key, &m); err != nil {
		return "" // not an index key of ours; nothing to page on
	}
	b, _ := json.Marshal(m)
	return base64.RawURLEncoding.EncodeToString(b)
}

// maxPageToken bounds a page token: the ledger's own are about 130 characters.
const maxPageToken = 512

// decodePageToken reads a token the ledger gave, and refuses anything else before DynamoDB sees
// it (a key over DynamoDB's sizes would be its ValidationException: a server error for a client's
// mistake).
func decodePageToken(token string) (map[string]types.AttributeValue, error) {
	if token == "" {
		return nil, nil
	}
	if len(token) > maxPageToken {
		return nil, ErrBadPageToken
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, ErrBadPageToken
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil || len(m) != 3 || m[contract.KindAttribute] != kindRequest ||
		!strings.HasPrefix(m[contract.KeyAttribute], "request#") || ValidRequestID(strings.TrimPrefix(m[contract.KeyAttribute], "request#")) != nil {
		return nil, ErrBadPageToken
	}
	if _, err := time.Parse(sortableTime, m[contract.CreatedAttribute]); err != nil {
		return nil, ErrBadPageToken
	}
	key := map[string]types.AttributeValue{}
	for k, v := range m {
		key[k] = str(v)
	}
	return key, nil
}
