package ledger

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rootwindow/rootwindow/pkg/contract"
	"github.com/rootwindow/rootwindow/pkg/request"
)

// Items are written and read through the SDK's attributevalue with the struct tags below, which
// are the table's schema. Times are kept as text in the formats the index and the history need;
// an item that does not decode into a whole record is an error, never a record of zero values.

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// timeAttr keeps sub-second precision so that a history orders exactly; whole seconds (the
// window's own times) print as plain RFC 3339.
func timeAttr(t time.Time) types.AttributeValue { return str(timeText(t)) }

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// sortableTime has a fixed width, so that createdAt sorts as text in the listing index.
const sortableTime = "2006-01-02T15:04:05.000000000Z07:00"

type transitionItem struct {
	Status Status `dynamodbav:"status"`
	At     string `dynamodbav:"at"`
	Actor  string `dynamodbav:"actor"`
	Note   string `dynamodbav:"note,omitempty"`
}

type requestItem struct {
	PK        string `dynamodbav:"pk"`
	Kind      string `dynamodbav:"kind"`
	RequestID string `dynamodbav:"requestId"`
	// The asked-for fields, as package request tags them (startAt as RFC 3339 text).
	request.Fields
	Status          Status                 `dynamodbav:"status"`
	CreatedAt       string                 `dynamodbav:"createdAt"`
	UpdatedAt       string                 `dynamodbav:"updatedAt"`
	OpenedAt        string                 `dynamodbav:"openedAt,omitempty"`
	RestoreAt       string                 `dynamodbav:"restoreAt,omitempty"`
	ClosedAt        string                 `dynamodbav:"closedAt,omitempty"`
	RestoreFailedAt string                 `dynamodbav:"restoreFailedAt,omitempty"`
	WindowPolicyID  string                 `dynamodbav:"windowPolicyId,omitempty"`
	Strategy        string                 `dynamodbav:"strategy,omitempty"`
	ConfirmBy       string                 `dynamodbav:"confirmBy,omitempty"`
	ConfirmedBy     string                 `dynamodbav:"confirmedBy,omitempty"`
	ConfirmedAt     string                 `dynamodbav:"confirmedAt,omitempty"`
	ApproveBy       string                 `dynamodbav:"approveBy,omitempty"`
	ApprovalToken   string                 `dynamodbav:"approvalToken,omitempty"`
	ApprovedBy      string                 `dynamodbav:"approvedBy,omitempty"`
	ApprovedAt      string                 `dynamodbav:"approvedAt,omitempty"`
	DeniedBy        string                 `dynamodbav:"deniedBy,omitempty"`
	DeniedAt        string                 `dynamodbav:"deniedAt,omitempty"`
	Decision        string                 `dynamodbav:"decision,omitempty"`
	ReviewedBy      string                 `dynamodbav:"reviewedBy,omitempty"`
	ReviewedAt      string                 `dynamodbav:"reviewedAt,omitempty"`
	ReviewNote      string                 `dynamodbav:"reviewNote,omitempty"`
	SignIn          []contract.SignIn      `dynamodbav:"signIn,omitempty"`
	Report          *contract.WindowReport `dynamodbav:"report,omitempty"`
	ExecutionARN    string                 `dynamodbav:"executionArn,omitempty"`
	RequesterUserID string                 `dynamodbav:"requesterUserId,omitempty"`
	Origin          contract.Origin        `dynamodbav:"origin"`
	Problems        []string               `dynamodbav:"problems,omitempty"`
	LastError       string                 `dynamodbav:"lastError,omitempty"`
	History         []transitionItem       `dynamodbav:"history"`
	Notified        []string               `dynamodbav:"notified,stringset,omitempty"`
}

type leaseItem struct {
	PK        string `dynamodbav:"pk"`
	Kind      string `dynamodbav:"kind"`
	AccountID string `dynamodbav:"accountId"`
	RequestID string `dynamodbav:"requestId"`
	Until     string `dynamodbav:"until"`
	Since     string `dynamodbav:"since"`
	// In the byCreated index under kind "lease", so that the sweeper can list them all.
	CreatedAt string `dynamodbav:"createdAt"`
}

func marshal(v any) map[string]types.AttributeValue {
	item, err := attributevalue.MarshalMap(v)
	if err != nil {
		panic(fmt.Sprintf("ledger: %T does not marshal: %v", v, err)) // a schema bug, caught by any test
	}
	return item
}

func encodeTransition(t Transition) types.AttributeValue {
	av, err := attributevalue.Marshal(transitionItem{Status: t.Status, At: timeText(t.At), Actor: t.Actor, Note: t.Note})
	if err != nil {
		panic(fmt.Sprintf("ledger: transition does not marshal: %v", err))
	}
	return av
}

func encodeRecord(r Record) map[string]types.AttributeValue {
	it := requestItem{
		PK: "request#" + r.RequestID, Kind: kindRequest, RequestID: r.RequestID, Fields: r.Fields, Status: r.Status,
		CreatedAt: r.CreatedAt.UTC().Format(sortableTime), UpdatedAt: timeText(r.CreatedAt),
		Origin: r.Origin, Problems: r.Problems, ConfirmBy: timeText(r.ConfirmBy), Strategy: r.Strategy,
		ApproveBy: timeText(r.ApproveBy), SignIn: r.SignIn, ExecutionARN: r.ExecutionARN, RequesterUserID: r.RequesterUserID,
	}
	it.StartAt = r.StartAt.UTC()
	for _, h := range r.History {
		it.History = append(it.History, transitionItem{Status: h.Status, At: timeText(h.At), Actor: h.Actor, Note: h.Note})
	}
	return marshal(it)
}

func encodeLease(l Lease, now time.Time) map[string]types.AttributeValue {
	return marshal(leaseItem{
		PK: "lease#" + l.AccountID, Kind: kindLease, AccountID: l.AccountID, RequestID: l.RequestID,
		Until: timeText(l.Until), Since: timeText(now), CreatedAt: now.UTC().Format(sortableTime),
	})
}

// timeField is a time kept as text in an item, and where its parsed value goes.
type timeField struct {
	text string
	dst  *time.Time
}

// parseTimes parses the named RFC 3339 texts into their destinations; "" leaves a zero time,
// unless the name is in required.
func parseTimes(fields map[string]timeField, required ...string) error {
	for name, f := range fields {
		if f.text == "" {
			if slices.Contains(required, name) {
				return fmt.Errorf("%s is missing", name)
			}
			continue
		}
		t, err := time.Parse(time.RFC3339, f.text)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		*f.dst = t
	}
	return nil
}

func decodeRecord(item map[string]types.AttributeValue) (Record, error) {
	var it requestItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return Record{}, fmt.Errorf("ledger item %s is not a request: %w", keyOf(item), err)
	}
	r := Record{
		RequestID: it.RequestID, Fields: it.Fields, Status: it.Status, Origin: it.Origin, Problems: it.Problems, LastError: it.LastError,
		Notified: it.Notified, ConfirmedBy: it.ConfirmedBy, WindowPolicyID: it.WindowPolicyID, Strategy: it.Strategy,
		ApprovalToken: it.ApprovalToken, SignIn: it.SignIn, ExecutionARN: it.ExecutionARN, ApprovedBy: it.ApprovedBy, DeniedBy: it.DeniedBy, Decision: it.Decision,
		ReviewedBy: it.ReviewedBy, ReviewNote: it.ReviewNote, Report: it.Report, RequesterUserID: it.RequesterUserID,
	}
	r.StartAt = r.StartAt.UTC()
	bad := func(format string, args ...any) (Record, error) {
		return Record{}, fmt.Errorf("ledger item %s is not a whole request: %s", keyOf(item), fmt.Sprintf(format, args...))
	}
	switch {
	case it.PK != "request#"+it.RequestID || it.Kind != kindRequest || ValidRequestID(it.RequestID) != nil:
		return bad("key %q, kind %q and requestId %q do not agree", it.PK, it.Kind, it.RequestID)
	case !it.Status.Known():
		return bad("status %q is not a status", it.Status)
	case it.Status != Rejected && (len(it.AccountIDs) == 0 || it.Hours < 1):
		return bad("a %s request needs accounts and hours", it.Status)
	case len(it.History) == 0:
		return bad("it has no history")
	}
	err := parseTimes(map[string]timeField{
		"createdAt": {it.CreatedAt, &r.CreatedAt},
		"openedAt":  {it.OpenedAt, &r.OpenedAt}, "restoreAt": {it.RestoreAt, &r.RestoreAt},
		"closedAt": {it.ClosedAt, &r.ClosedAt}, "restoreFailedAt": {it.RestoreFailedAt, &r.RestoreFailedAt},
		"confirmBy": {it.ConfirmBy, &r.ConfirmBy}, "confirmedAt": {it.ConfirmedAt, &r.ConfirmedAt},
		"approveBy": {it.ApproveBy, &r.ApproveBy}, "approvedAt": {it.ApprovedAt, &r.ApprovedAt}, "deniedAt": {it.DeniedAt, &r.DeniedAt},
		"reviewedAt": {it.ReviewedAt, &r.ReviewedAt},
	}, "createdAt")
	if err != nil {
		return bad("%v", err)
	}
	for i, h := range it.History {
		t := Transition{Status: h.Status, Actor: h.Actor, Note: h.Note}
		if err := parseTimes(map[string]timeField{"at": {h.At, &t.At}}, "at"); err != nil || !h.Status.Known() {
			return bad("history[%d] is not a transition (status %q, at %q)", i, h.Status, h.At)
		}
		r.History = append(r.History, t)
	}
	return r, nil
}

func decodeLease(item map[string]types.AttributeValue) (Lease, error) {
	var it leaseItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return Lease{}, fmt.Errorf("ledger item %s is not a lease: %w", keyOf(item), err)
	}
	l := Lease{AccountID: it.AccountID, RequestID: it.RequestID}
	if it.PK != "lease#"+it.AccountID || it.RequestID == "" {
		return Lease{}, fmt.Errorf("ledger item %s is not a whole lease: key %q, account %q, request %q", keyOf(item), it.PK, it.AccountID, it.RequestID)
	}
	if err := parseTimes(map[string]timeField{"until": {it.Until, &l.Until}}, "until"); err != nil {
		return Lease{}, fmt.Errorf("ledger item %s is not a whole lease: %w", keyOf(item), err)
	}
	return l, nil
}

// keyOf names an item by its key for an error message.
func keyOf(item map[string]types.AttributeValue) string {
	if v, ok := item[contract.KeyAttribute].(*types.AttributeValueMemberS); ok {
		return strconv.Quote(v.Value)
	}
	return "(without a key)"
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
